"""Rebuild folders of font families synthocr does not ship, from Debian packages, to test models on unseen fonts.

    python scripts/unseen_fonts.py --out DIR [--set NAME ...] [--cache DIR]
    python scripts/unseen_fonts.py --list

Each pinned set lands in DIR/<set>/, one font file per family, for `train robustness --fonts DIR/<set>`.
Packages come from `apt-get download` (no root needed) into the cache folder and are unpacked with
`dpkg-deb -x`; files already in DIR/<set>/ are kept, so a re-run only fills gaps. After copying, every
chosen font's family name is checked against every font under the repo's fonts/ folder: a shipped
family would make the "unseen" figures meaningless, so that fails the run. Fonts that do not draw all of
a-z A-Z 0-9 are reported (a face of capitals only is allowed: `train robustness` reads it in capitals).

The sets:
- set15: the 15 families set aside before the scene preset's 60-minute run (docs/benchmarks.md).
- text22: body-text faces (serif, sans, mono, italic), the kind the project's 95% target is for.
- display20: display faces of many kinds (scripts, hands, techno, blackletter, outline, rounded, condensed).
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import re
import shutil
import string
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from PIL import ImageFont

from synth.fonts import CHECK_SIZE, render_check, unicase

REPO = Path(__file__).resolve().parents[1]
SHIPPED_DIR = REPO / "fonts"
DEFAULT_CACHE = Path.home() / ".cache" / "synthocr" / "debs"
FONT_EXTS = {".ttf", ".otf", ".ttc"}
NEEDED = string.ascii_lowercase + string.ascii_uppercase + string.digits
# dropped from family names before comparing, so "Karla ExtraBold" (name id 1) still matches "Karla"
STYLE_WORDS = {
    "regular", "book", "roman", "normal", "medium", "italic", "oblique", "bold", "semibold", "demibold", "demi",
    "extrabold", "ultrabold", "heavy", "black", "light", "extralight", "ultralight", "thin", "hairline",
    "condensed", "cond", "cd", "cn", "narrow", "med", "std", "display",
}


@dataclass(frozen=True)
class Face:
    """One pinned face: the file `file` (a name or glob) inside Debian package `package`."""

    family: str
    kind: str  # "text" or "display", the split `train robustness` results are read by
    package: str
    file: str
    style: str


T, D = "text", "display"

SETS: dict[str, tuple[Face, ...]] = {
    # the earlier measurement's /tmp/unseen4; the Regular of each family (Etroit for Solide Mirage)
    "set15": (
        Face("Andika", T, "fonts-sil-andika", "Andika-Regular.ttf", "sans for readers"),
        Face("B612", T, "fonts-b612", "B612-Regular.otf", "sans for cockpit screens"),
        Face("Karmilla", T, "fonts-karmilla", "Karmilla-Regular.ttf", "sans"),
        Face("OCR-B", T, "fonts-ocr-b", "OCRB.otf", "OCR sans"),
        Face("OpenDyslexic", T, "fonts-opendyslexic", "OpenDyslexic-Regular.otf", "sans, weighted bottoms"),
        Face("Reggae One", T, "fonts-reggae", "ReggaeOne-Regular.ttf", "heavy sans with cut corners"),
        Face("RocknRoll One", T, "fonts-rocknroll", "RocknRollOne-Regular.ttf", "rounded heavy sans"),
        Face("Routed Gothic", T, "fonts-routed-gothic", "routed-gothic.ttf", "engraving sans, single line"),
        Face("Klaudia", D, "fonts-klaudia-berenika", "Klaudia.ttf", "uncial"),
        Face("Berenika", D, "fonts-klaudia-berenika", "Berenika.ttf", "uncial"),
        Face("Rufscript", D, "fonts-rufscript", "Rufscript010.ttf", "handwriting"),
        Face("dkg handwriting", D, "fonts-dkg-handwriting", "dkg.ttf", "handwriting"),
        Face("Solide Mirage", D, "fonts-solide-mirage", "SolideMirageEtroit.otf", "condensed capitals"),
        Face("Ferrite Core", D, "fonts-ferrite-core", "FerriteCoreDX-Regular.otf", "squared techno"),
        Face("Havana", D, "fonts-havana", "Havana-Regular.otf", "connected script"),
    ),
    # regular body-text faces (Beteckna's plain cut draws capitals for lowercase: its GS cut has a lowercase);
    # FreeSans/FreeSerif (URW Nimbus outlines) and Arimo/Tinos (Liberation 2
    # outlines) are left out: their names differ from the shipped faces but their letters do not
    "text22": (
        Face("Inter", T, "fonts-inter", "Inter-Regular.otf", "sans (grotesque)"),
        Face("Lato", T, "fonts-lato", "Lato-Regular.ttf", "sans (humanist)"),
        Face("PT Sans", T, "fonts-paratype", "PTS55F.ttf", "sans (humanist)"),
        Face("Manrope", T, "fonts-manrope", "Manrope-Regular.ttf", "sans (geometric)"),
        Face("Junction", T, "fonts-junction", "Junction.otf", "sans (humanist)"),
        Face("BetecknaGS", T, "fonts-beteckna", "BetecknaGS.ttf", "sans (geometric, Futura-like)"),
        Face("Eurofurence", T, "fonts-eurofurence", "eurof55.ttf", "sans (rounded geometric)"),
        Face("Oxygen Sans", T, "fonts-oxygen", "Oxygen-Sans.ttf", "sans (screen)"),
        Face("Vollkorn", T, "fonts-vollkorn", "Vollkorn-Regular.ttf", "serif"),
        Face("Fanwood", T, "fonts-fanwood", "Fanwood.otf", "serif (Fairfield-like)"),
        Face("Old Standard", T, "fonts-oldstandard", "OldStandard-Regular.ttf", "serif (modern, high contrast)"),
        Face("Quattrocento", T, "fonts-quattrocento", "Quattrocento-Regular.otf", "serif"),
        Face("Arapey", T, "fonts-arapey", "Arapey-Regular.otf", "serif (modern)"),
        Face("Averia Serif", T, "fonts-averia-serif-gwf", "AveriaSerifGWF-Regular.ttf", "serif (soft)"),
        Face("Charis SIL", T, "fonts-sil-charis", "CharisSIL-Regular.ttf", "serif (Charter-like)"),
        Face("IM FELL DW Pica", T, "fonts-cegui", "IMFePIrm29P.ttf", "serif (17th-century old style)"),
        Face("Gentium Plus", T, "fonts-sil-gentiumplus", "GentiumPlus-Italic.ttf", "serif, italic"),
        Face("Linden Hill", T, "fonts-lindenhill", "LindenHill-Italic.otf", "serif, italic (Goudy-like)"),
        Face("Clear Sans", T, "fonts-clear-sans", "ClearSans-Italic.ttf", "sans, italic"),
        Face("Go Mono", T, "fonts-go", "Go-Mono.ttf", "mono (slab serif)"),
        Face("JetBrains Mono", T, "fonts-jetbrains-mono", "JetBrainsMono-Regular.ttf", "mono (sans)"),
        Face("mononoki", T, "fonts-mononoki", "mononoki-Regular.ttf", "mono (sans)"),
    ),
    # Lobster Two is not here: the shipped fonts/lobster/lobster.otf is Lobster Two Bold Italic by its name
    "display20": (
        Face("Great Vibes", D, "fonts-cegui", "GreatVibes-Regular.ttf", "connected script (formal)"),
        Face("Ecolier", D, "fonts-ecolier-court", "Ecolier-court.ttf", "connected script (French school hand)"),
        Face("Kristi", D, "fonts-kristi", "Kristi.ttf", "script (felt-tip)"),
        Face("Yusei Magic", D, "fonts-yusei-magic", "YuseiMagic-Regular.ttf", "marker / brush hand"),
        Face("Steve Hand", D, "fonts-sjfonts", "SteveHand.ttf", "handwriting"),
        Face("Humor Sans", D, "fonts-humor-sans", "Humor-Sans.ttf", "comic hand (capitals only)"),
        Face("Okolaks", D, "fonts-okolaks", "okolaksRegular.ttf", "thin techno"),
        Face("Square Route", D, "fonts-aenigma", "sqroute.ttf", "squared techno, heavy"),
        Face("OCR-A", D, "fonts-ocr-a", "OCRA.ttf", "OCR techno mono"),
        Face("DSEG14 Classic", D, "fonts-dseg", "DSEG14Classic-Regular.ttf", "14-segment LCD (capitals only)"),
        Face("Stick", D, "fonts-stick", "Stick-Regular.ttf", "straight-line strokes"),
        Face("Quicksand", D, "fonts-quicksand", "Quicksand-Regular.ttf", "rounded"),
        Face("Fette Fraktur", D, "fonts-cegui", "FetteClassicUNZFraktur.ttf", "blackletter (Fraktur)"),
        Face("Gotico-Antiqua", D, "fonts-gotico-antiqua", "Zainer-GoticoAntiqua96G.otf", "gothic-antiqua (15th c.)"),
        Face("Solothurn", D, "fonts-adf-solothurn", "Solothurn-Regular.otf", "uncial-like"),
        Face("Train One", D, "fonts-train", "TrainOne-Regular.ttf", "outline (inner and outer line)"),
        Face("Rampart One", D, "fonts-rampart", "RampartOne-Regular.ttf", "3-D block outline"),
        Face("Le Murmure", D, "fonts-le-murmure", "le-murmure.otf", "condensed titling"),
        Face("Isabella", D, "fonts-isabella", "Isabella.ttf", "calligraphic, decorative capitals"),
        Face("GNU Typewriter", D, "fonts-gnutypewriter", "GNUTypewriter.ttf", "worn typewriter (slab)"),
    ),
}


def say(msg: str) -> None:
    print(msg, flush=True)


def list_sets(names: list[str]) -> None:
    say(f"{'set':10} {'family':17} {'kind':8} {'package':24} {'file':30} style")
    for name in names:
        for f in SETS[name]:
            say(f"{name:10} {f.family:17} {f.kind:8} {f.package:24} {f.file:30} {f.style}")


def deb_for(package: str, cache: Path) -> Path:
    """The package's .deb in the cache, downloaded when absent; raises RuntimeError with apt-get's reason."""
    # apt-get names the file <package>_<version>_<arch>.deb, so the "_" keeps fonts-x from matching fonts-x-extra
    have = sorted(cache.glob(f"{package}_*.deb"), key=lambda p: p.stat().st_mtime)
    if have:
        return have[-1]
    proc = subprocess.run(["apt-get", "download", package], cwd=cache, capture_output=True, text=True)
    have = sorted(cache.glob(f"{package}_*.deb"), key=lambda p: p.stat().st_mtime)
    if proc.returncode != 0 or not have:
        # apt-get warns about its sandbox when run as root; the error lines are the ones that say why
        lines = [s for s in proc.stderr.splitlines() if s.startswith("E:")] or proc.stderr.splitlines() or ["?"]
        raise RuntimeError(lines[-1].strip())
    return have[-1]


def version_of(deb: Path) -> str:
    parts = deb.name.split("_")
    return parts[1].replace("%3a", ":") if len(parts) == 3 else deb.name


def unpack(deb: Path, into: Path) -> list[Path]:
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True, capture_output=True, text=True)
    return sorted(p for p in into.rglob("*") if p.is_file() and p.suffix.lower() in FONT_EXTS)


def faces_of(path: Path) -> list[TTFont]:
    if path.suffix.lower() == ".ttc":
        return list(TTCollection(path, lazy=True).fonts)
    return [TTFont(path, lazy=True)]


def family_names(font: TTFont) -> set[str]:
    """Name ids 1 (legacy family) and 16 (typographic family), every platform's record."""
    return {r.toUnicode().strip() for r in font["name"].names if r.nameID in (1, 16)} - {""}


def family_keys(names: set[str]) -> set[str]:
    """Comparison keys: each name without case, spaces and punctuation, with and without its style words."""
    keys = set()
    for n in names:
        words = re.findall(r"[^\W_]+", n.lower())  # any script's letters: Japanese family names count too
        keys.add("".join(words))
        keys.add("".join(w for w in words if w not in STYLE_WORDS))
    return keys - {""}


def shipped_families() -> dict[str, str]:
    """Comparison key -> a shipped file that has it, over every font under the repo's fonts/ folder."""
    keys: dict[str, str] = {}
    for p in sorted(SHIPPED_DIR.rglob("*")):
        if p.is_file() and p.suffix.lower() in FONT_EXTS:
            for font in faces_of(p):
                for k in family_keys(family_names(font)):
                    keys.setdefault(k, str(p.relative_to(REPO)))
    return keys


def coverage(path: Path, index: int, font: TTFont) -> tuple[str, bool]:
    """(the characters of a-z A-Z 0-9 it does not draw, whether it is a face of capitals only), by the checks
    `train robustness` picks its texts with (synth.fonts): such a face is read in capitals only."""
    cmap = set(font.getBestCmap() or {})
    pil = ImageFont.truetype(str(path), CHECK_SIZE, index=index)
    capitals = unicase(pil, cmap)
    drawn = render_check(pil, NEEDED, cmap)
    return "".join(c for c in NEEDED if c not in drawn and not (capitals and c.islower())), capitals


def short(chars: str) -> str:
    """'abcdefghijklmnopqrstuvwxyz0' -> 'a-z 0': whole ranges named as ranges."""
    out = []
    for rng in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        part = "".join(c for c in chars if c in rng)
        out.append(f"{rng[0]}-{rng[-1]}" if part == rng else part)
    return " ".join(p for p in out if p)


def present(dest: Path, pattern: str, others: set[str]) -> Path | None:
    """The file already copied for `pattern`; a glob does not claim a file another pin names exactly."""
    hits = sorted(p for p in dest.iterdir() if p.is_file() and fnmatch.fnmatch(p.name, pattern)
                  and (p.name == pattern or p.name not in others))
    return hits[0] if hits else None


def build(out: Path, names: list[str], cache: Path) -> int:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise SystemExit("unseen_fonts: needs Debian's apt-get and dpkg-deb; run it on Debian or Ubuntu "
                         "(no root needed: it only runs `apt-get download` and `dpkg-deb -x`)")
    cache.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    chosen: list[tuple[str, Face, Path]] = []
    with tempfile.TemporaryDirectory(prefix="unseen-fonts-") as tmp:
        unpacked: dict[str, list[Path]] = {}  # a package holding several pinned faces is unpacked once
        broken: set[str] = set()
        for name in names:
            dest = out / name
            dest.mkdir(parents=True, exist_ok=True)
            pinned = [face.file for face in SETS[name]]
            for p in sorted(dest.iterdir()):
                # a font left from an older pin would be measured with the set, unnoticed
                if p.suffix.lower() in FONT_EXTS and not any(fnmatch.fnmatch(p.name, f) for f in pinned):
                    say(f"warning  {name}/{p.name} is not pinned in set {name}: remove it, or it is measured too")
            for face in SETS[name]:
                have = present(dest, face.file, set(pinned) - {face.file})
                if have is not None:
                    say(f"  present  {name}/{have.name}")
                    chosen.append((name, face, have))
                    continue
                if face.package in broken:
                    continue  # said once already
                try:
                    if face.package not in unpacked:
                        deb = deb_for(face.package, cache)
                        unpacked[face.package] = unpack(deb, Path(tmp) / face.package)
                        say(f"  unpacked {face.package} {version_of(deb)}")
                except (RuntimeError, subprocess.CalledProcessError) as e:
                    why = e.stderr.strip().splitlines()[-1] if isinstance(e, subprocess.CalledProcessError) \
                        and e.stderr else str(e)
                    say(f"FAILED   {face.package}: could not download or unpack it ({why})")
                    failed.append(face.package)
                    broken.add(face.package)
                    continue
                hits = [p for p in unpacked[face.package] if fnmatch.fnmatch(p.name, face.file)]
                if len(hits) != 1:
                    say(f"FAILED   {face.package}: {len(hits)} files match {face.file!r} (want exactly one)")
                    failed.append(face.package)
                    continue
                target = dest / hits[0].name
                shutil.copyfile(hits[0], target)
                say(f"  copied   {name}/{target.name}")
                chosen.append((name, face, target))
    return check(chosen, failed)


def check(chosen: list[tuple[str, Face, Path]], failed: list[str]) -> int:
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # some fonts' odd tables log noise, not errors
    shipped = shipped_families()
    clashes: list[str] = []
    warnings: list[str] = []
    seen_at: dict[str, str] = {}
    for set_name, face, path in chosen:
        where = f"{set_name}/{path.name} ({face.family})"
        for i, font in enumerate(faces_of(path)):
            names = family_names(font)
            hit = sorted(k for k in family_keys(names) if k in shipped)
            if hit:
                clashes.append(f"SHIPPED  {where}: family {' / '.join(sorted(names))} is shipped as "
                               f"{shipped[hit[0]]}")
            # one face per family across all sets, or one family would weigh twice in the unseen figures
            again = sorted(seen_at[k] for k in family_keys(names) if seen_at.get(k, where) != where)
            if again:
                clashes.append(f"TWICE    {where}: family {' / '.join(sorted(names))} is also {again[0]}")
            seen_at.update((k, where) for k in family_keys(names) if k not in seen_at)
            missing, capitals = coverage(path, i, font)
            face_no = f" (face {i})" if path.suffix.lower() == ".ttc" else ""
            if missing:
                warnings.append(f"warning  {where}{face_no}: does not draw {short(missing)}")
            if capitals:
                warnings.append(f"note     {where}{face_no}: lowercase as tall as its capitals (a face of "
                                f"capitals only: read in capitals)")
    for line in warnings + clashes:
        say(line)
    n_sets = len({s for s, _, _ in chosen})
    say(f"{len(chosen)} fonts in {n_sets} set{'' if n_sets == 1 else 's'}; {len(failed)} package failures, "
        f"{len(clashes)} family clashes, {sum(w.startswith('warning') for w in warnings)} coverage warnings")
    if failed:
        say(f"failed packages: {' '.join(sorted(set(failed)))}")
    return 1 if failed or clashes else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="folder to fill: one subfolder per set")
    ap.add_argument("--set", dest="sets", nargs="+", action="extend", choices=list(SETS), metavar="NAME",
                    help=f"sets to build (default: all of {', '.join(SETS)})")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"where .deb files are kept ({DEFAULT_CACHE})")
    ap.add_argument("--list", action="store_true", help="print the pinned sets and exit, downloading nothing")
    args = ap.parse_args(argv)
    names = list(dict.fromkeys(args.sets or SETS))
    if args.list:
        list_sets(names)
        return 0
    if args.out is None:
        ap.error("--out DIR is needed (or --list)")
    return build(args.out, names, args.cache)


if __name__ == "__main__":
    sys.exit(main())
