"""Shared fixtures: small configs and font folders made with fontTools.

The font coverage cache (SYNTHOCR_CACHE or ~/.cache/synthocr) is deliberately shared with normal use: the
made fonts are saved byte-for-byte the same every run, so their cache entries are reused too.
"""

from __future__ import annotations

import os
import shutil
import signal
import string
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fontTools import subset
from fontTools.ttLib import TTFont

from synth.config import EffectsConfig, FontConfig, SynthConfig, TextConfig

REPO = Path(__file__).resolve().parent.parent
FONTS = REPO / "fonts"
SANS = FONTS / "liberation" / "LiberationSans-Regular.ttf"
#: three bundled fonts that draw the whole default alphabet
THREE_FONTS = ["LiberationSans-Regular", "DejaVuSansMono-Bold", "Caladea-Bold"]
#: what the subsetted copy of LiberationSans cannot draw
SUBSET_DROPS = "Q" + string.digits


def fails(argv: list[str], capsys: pytest.CaptureFixture, main: Callable[[list[str]], int] | None = None) -> str:
    """Run a CLI (`synth` unless `main` is given) expecting a user error: exit 2 and one `error:` line, returned."""
    if main is None:
        from synth.cli import main
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by its relative path: two datasets compared byte for byte."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def kill_when(cmd: list[str], ready: Callable[[], bool], cwd: Path, what: str, timeout: float = 120) -> None:
    """Run `cmd` (with this checkout on its path) in a process group of its own, and kill the group with SIGKILL,
    as a crash would, once `ready()` holds; fail if the command ends first, or `what` does not come in time."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, f"no {what} in time"
            time.sleep(0.002)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def lmdb_of(path: Path, items: dict[bytes, bytes]) -> Path:
    """An LMDB at `path` holding exactly `items` (keys and values as given)."""
    import lmdb

    env = lmdb.open(str(path), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for k, v in items.items():
            txn.put(k, v)
    env.close()
    return path


def small_config(effects: EffectsConfig | None = None) -> SynthConfig:
    """Three fonts, texts of 1-10 characters (random strings and words), default or given effects."""
    return SynthConfig(
        text=TextConfig(min_len=1, max_len=10),
        fonts=FontConfig(include=list(THREE_FONTS)),
        effects=effects or EffectsConfig(),
    )


@pytest.fixture(scope="session")
def make_config() -> Callable[..., SynthConfig]:
    """small_config: call it for a fresh config (tests change them freely)."""
    return small_config


@pytest.fixture(scope="session")
def three_fonts() -> list[str]:
    return list(THREE_FONTS)


def _save(font: TTFont, path: Path) -> Path:
    font.recalcTimestamp = False  # same bytes every run: the coverage cache keeps one entry per made font
    font.save(str(path))
    return path


def make_subset_font(path: Path, drop: str = SUBSET_DROPS) -> Path:
    """LiberationSans without the glyphs of `drop` (no cmap entries for them)."""
    font = TTFont(str(SANS))
    gone = {ord(c) for c in drop}
    keep = [u for u in font.getBestCmap() if u not in gone]
    opts = subset.Options()
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=keep)
    sub.subset(font)
    return _save(font, path)


def make_blank_glyph_font(path: Path) -> Path:
    """LiberationSans whose cmap maps 'Q' to the (empty) space glyph: a cmap that claims what it cannot draw.

    (Mapping to .notdef would not do: glyph 0 is how a cmap says "unmapped", so fontTools drops it.)
    """
    font = TTFont(str(SANS))
    space = font.getBestCmap()[ord(" ")]
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap[ord("Q")] = space
    return _save(font, path)


@pytest.fixture(scope="session")
def subset_font() -> Callable[..., Path]:
    """make_subset_font(path, drop=...): a copy of LiberationSans-Regular without the glyphs of `drop`."""
    return make_subset_font


@pytest.fixture(scope="session")
def font_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LiberationSans-Regular plus NoQDigits, a copy of it lacking 'Q' and the digits."""
    d = tmp_path_factory.mktemp("fonts")
    shutil.copy(SANS, d / SANS.name)
    make_subset_font(d / "NoQDigits.ttf")
    return d


@pytest.fixture(scope="session")
def blank_glyph_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("blankfonts")
    make_blank_glyph_font(d / "BlankQ.ttf")
    return d


# --- train: one tiny model fitted once per session, shared by test_fit, test_recognizer and test_train_cli ---

#: the tiny task's training steps. Measured (2 loaded cores, about 40-55 s): validation word accuracy 0.95-0.985
#: at 150 steps over seeds 0-2, 0.99 at 200.
TINY_STEPS = 200
TINY_FONT = "LiberationSans-Regular"


def tiny_data_config() -> SynthConfig:
    """4-character strings over 0-9 in one font, no effects, 32x64 (16 output steps for 4 labels)."""
    cfg = SynthConfig(
        alphabet="0123456789",
        text=TextConfig(sources={"random": 1.0}, min_len=4, max_len=4),
        fonts=FontConfig(include=[TINY_FONT]),
        effects=EffectsConfig.off(),
    )
    cfg.render.height, cfg.render.width = 32, 64
    return cfg


def tiny_fit_config(**train: Any) -> Any:
    """The FitConfig of the tiny model; keyword arguments override TrainConfig fields."""
    from train.config import FitConfig, TrainConfig

    settings: dict[str, Any] = dict(
        model="default", steps=TINY_STEPS, batch_size=32, learning_rate=3e-3, warmup_steps=30, workers=0,
        eval_every=TINY_STEPS, val_count=200, patience=0, checkpoint_every=TINY_STEPS,
    )
    settings.update(train)
    return FitConfig(data=tiny_data_config(), train=TrainConfig(**settings))


@dataclass
class TinyModel:
    dir: Path
    #: what train.fit.fit returned
    result: Any
    config: Any
    seconds: float


@pytest.fixture(scope="session")
def tiny_config() -> Callable[..., Any]:
    """tiny_fit_config(**train_overrides): a fresh FitConfig of the tiny task."""
    return tiny_fit_config


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """The default model fitted on the tiny task from the stream (read-only: copy the dir to change it)."""
    from train.fit import fit

    out = tmp_path_factory.mktemp("tiny_model") / "model"
    cfg = tiny_fit_config()
    t0 = time.perf_counter()
    result = fit(cfg, out, progress=False)
    return TinyModel(out, result, cfg, time.perf_counter() - t0)
