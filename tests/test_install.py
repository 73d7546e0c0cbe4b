"""A wheel built from this checkout ships the fonts: installed away from the repo, it renders and runs the CLI.

The editable install (`pip install -e .`) reads fonts/ in place, so only a real wheel shows whether the fonts
are packaged. The wheel is built from a copy of the sources (the build writes build/ and *.egg-info next to
pyproject.toml: not in the checkout, and no clash with a test run next door), installed with `pip --target`,
and used from a child python whose cwd is outside the repo and whose PYTHONPATH is that target. The editable
install's finder sits at the end of sys.meta_path, after the path finder that searches PYTHONPATH, so the
wheel's copy wins; the child asserts that it does rather than assume it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: what the wheel is built from (tests/, scripts/ and docs/ are not in it)
SOURCES = ["pyproject.toml", "README.md", "synth", "train", "fonts"]
DATA_PACKAGE = "synth_fonts"  # fonts/ as installed; see [tool.setuptools.package-dir] in pyproject.toml

CHECK = """
import sys
from pathlib import Path

import synth, synth.fonts, synth.preview

site = Path(sys.argv[1]).resolve()
n_fonts = int(sys.argv[2])
for name, path in [("synth", synth.__file__), ("BUNDLED_DIR", synth.fonts.BUNDLED_DIR),
                   ("CAPTION_FONT", synth.preview.CAPTION_FONT)]:
    assert Path(path).resolve().is_relative_to(site), f"{name} is {path}, not the wheel's copy under {site}"
assert synth.fonts.BUNDLED_DIR.resolve() == site / "synth_fonts", synth.fonts.BUNDLED_DIR
assert synth.preview.CAPTION_FONT.is_file(), synth.preview.CAPTION_FONT
fonts = synth.fonts.discover(synth.FontConfig())
sets = sorted(p.name for p in synth.fonts.SCRIPTS_DIR.iterdir() if p.is_dir())
assert {"arabic", "devanagari", "korean", "plates"} <= set(sets), sets
scripts = synth.fonts.discover(synth.FontConfig(bundled=False, scripts=sets))
assert len(fonts) + len(scripts) == n_fonts, (len(fonts), len(scripts), n_fonts)
from synth.alphabet import named_alphabet

assert named_alphabet("arabic") and named_alphabet("thai"), "the named alphabets were not shipped"

renderer = synth.Renderer(synth.SynthConfig())
assert all(Path(f.path).resolve().is_relative_to(site) for f in renderer.fonts.fonts)
img, spec = renderer.render(0, 0)
assert img.ndim >= 2 and img.size > 0 and spec.text, (img.shape, spec)
print("ok", len(fonts), "fonts,", img.shape, repr(spec.text), spec.font)
"""


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    shown = " ".join(map(str, cmd))
    assert p.returncode == 0, f"{shown} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


def build_wheel(src: Path, out: Path) -> Path:
    """The wheel of `src`: offline with the installed build backend if it meets build-system.requires, else pip
    fetches the backend into an isolated build env (the one network use, from the package index)."""
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)]
    offline = subprocess.run([*pip_wheel, "--no-build-isolation", "--check-build-dependencies"],
                             capture_output=True, text=True)
    if offline.returncode != 0:
        isolated = subprocess.run(pip_wheel, capture_output=True, text=True)
        assert isolated.returncode == 0, (
            f"building the wheel failed offline:\n{offline.stderr[-2000:]}\nand in an isolated build env:\n"
            f"{isolated.stderr[-2000:]}"
        )
    (wheel,) = out.glob("synthocr-*.whl")
    return wheel


def shipped_font_files() -> set[str]:
    """The files under fonts/ that the wheel must carry: all but the package's __init__.py, caches, dotfiles."""
    root = REPO / "fonts"
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*")
        if p.is_file() and p.name != "__init__.py" and "__pycache__" not in p.parts
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def test_wheel_ships_fonts_and_works_outside_the_repo(tmp_path):
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is needed to build and install the wheel")
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(REPO / name, src / name)
    # junk that a checkout gathers under fonts/: none of it may reach the wheel
    (src / "fonts" / "__pycache__").mkdir(exist_ok=True)
    (src / "fonts" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"junk")
    (src / "fonts" / ".DS_Store").write_bytes(b"junk")

    wheel = build_wheel(src, tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    junk = [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".DS_Store"))]
    assert not junk, junk
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"synth", "train", DATA_PACKAGE}, tops
    in_wheel = {n.split("/", 1)[1] for n in names if n.startswith(DATA_PACKAGE + "/")}
    expected = shipped_font_files()
    assert in_wheel == expected | {"__init__.py"}, (expected - in_wheel, in_wheel - expected)
    n_fonts = sum(Path(n).suffix.lower() in {".ttf", ".otf", ".ttc"} for n in expected)

    site = tmp_path / "site"
    run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-compile",
         "--target", str(site), str(wheel)])
    away = tmp_path / "away"  # cwd: neither the repo nor the target, so neither is found through sys.path[0]
    away.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    p = run([sys.executable, "-c", textwrap.dedent(CHECK), str(site), str(n_fonts)], cwd=away, env=env)
    assert p.stdout.startswith("ok"), p.stdout

    out = tmp_path / "data"
    run([sys.executable, "-m", "synth", "render", "--count", "20", "--out", str(out), "--quiet"], cwd=away, env=env)
    labels = (out / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert len(labels) == 20
    assert len(list(out.rglob("*.png"))) == 20
    assert all((out / line.split("\t")[0]).is_file() for line in labels)
