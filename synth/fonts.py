"""The font library: discovery, glyph coverage (cmap plus a render check), and choosing a font per text.

Coverage is what the font can really draw: a character counts only if the cmap maps it AND the glyph
draws something other than nothing or the .notdef box. Results are cached per font hash, so workers and
later runs skip the check.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import string
import struct
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ImageFont

from synth.bundled import FONTS_DIR
from synth.config import FontConfig
from synth.errors import SynthError
from synth.files import cache_dir
from synth.rng import cumulative, pick

BUNDLED_DIR = FONTS_DIR
#: bundled fonts of other scripts, one folder each (arabic, hebrew...): used when `FontConfig.scripts` names them
SCRIPTS_DIR = BUNDLED_DIR / "scripts"
FONT_EXTS = {".ttf", ".otf", ".ttc"}
CHECK_SIZE = 32
#: pixel size the letter box is measured at (fine enough for 1/256 em)
LETTER_BOX_SIZE = 256
#: capital height, in em, of a typical text face (Liberation Sans 0.69, DejaVu Sans 0.73): a font whose capitals are
#: smaller or larger in its em is drawn larger or smaller by the ratio, so that letters, not ems, are of equal size
REFERENCE_CAP = 0.70
#: bounds on that correction, for alphabets whose "capitals" say little about letter size
SIZE_CORRECTION = (0.75, 1.35)
#: the quotes typesetting prints for ASCII `` '' ` ': checked in every font, whatever the alphabet
CURLY_QUOTES = "\u2018\u2019\u201c\u201d"
#: bumped when the render check changes, so stale cache entries are recomputed
CHECK_VERSION = 4


@dataclass(frozen=True)
class FontInfo:
    path: str
    name: str  # file stem: the font's id in specs, manifests and reports
    sha256: str
    family: str
    style: str
    covered: frozenset[str]
    curly_quotes: bool = False  # draws all of `CURLY_QUOTES`

    def lacks(self, chars: str) -> str:
        if self.covered.issuperset(chars):  # the usual answer, found in C
            return ""
        return "".join(dict.fromkeys(c for c in chars if c not in self.covered))


@dataclass(frozen=True)
class LetterBox:
    """Where a font's letters sit, in em: the line box text is fitted by, and the size correction."""

    ascent: float
    descent: float
    scale: float  # factor from the nominal font size to the pixel size the font is drawn at

    def px(self, size: float) -> int:
        return max(1, round(size * self.scale))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _glyph_bitmap(font: ImageFont.FreeTypeFont, ch: str) -> np.ndarray:
    mask = font.getmask(ch, mode="L")
    return np.asarray(mask, dtype=np.uint8).reshape(mask.size[1], mask.size[0])


#: lowercase letters without ascenders or descenders, and capitals without overshoot: their heights tell a
#: face whose lowercase is capitals (handwriting in block letters, sign faces) from one with a true lowercase
X_HEIGHT_LETTERS, FLAT_CAPITALS = "acemnorsuvwxz", "EFHIKLMNTXZ"


def unicase(font: ImageFont.FreeTypeFont, cmap: set[int]) -> bool:
    """Whether the face's lowercase letters stand as tall as its capitals (a true lowercase is 0.5 to 0.75 of
    the capitals' height)."""
    def heights(chars: str) -> list[int]:
        out = []
        for c in chars:
            try:
                b = font.getbbox(c) if ord(c) in cmap else (0, 0, 0, 0)
            except OSError:  # damaged glyph data: the letter does not count
                continue
            if b[3] > b[1]:
                out.append(b[3] - b[1])
        return out

    low, caps = heights(X_HEIGHT_LETTERS), heights(FLAT_CAPITALS)
    return len(low) >= 5 and len(caps) >= 5 and float(np.median(low)) > 0.85 * float(np.median(caps))


def _capital_bitmap(font: ImageFont.FreeTypeFont, ch: str) -> np.ndarray:
    try:
        return _glyph_bitmap(font, ch)
    except OSError:  # damaged glyph data: nothing to compare with
        return np.zeros((0, 0), np.uint8)


def render_check(font: ImageFont.FreeTypeFont, chars: str, cmap: set[int]) -> str:
    """The characters of `chars` the font maps in its cmap and really draws (not blank, not .notdef, and a
    lowercase letter not as its capital: a face of capitals draws `a` as `A`, which under a label `a` would
    teach a model that the two look alike)."""
    notdef = _glyph_bitmap(font, "\U0010fffd")  # a private-use code point no Latin font maps: draws .notdef
    capitals_only = unicase(font, cmap)
    ok = []
    for ch in chars:
        if ord(ch) not in cmap:
            continue
        if ch.isspace():
            ok.append(ch)
            continue
        try:
            bmp = _glyph_bitmap(font, ch)
        except OSError:  # damaged glyph data ("invalid outline", "raster overflow"): it draws nothing
            continue
        if bmp.size == 0 or int(bmp.max()) < 64:
            continue  # maps to an empty glyph
        if bmp.shape == notdef.shape and np.array_equal(bmp, notdef):
            continue  # draws the tofu box
        capital = ch.upper()
        if ch.islower() and capital != ch and len(capital) == 1:
            if capitals_only:
                continue  # a capital's shape at a capital's height
            if ord(capital) in cmap and np.array_equal(_capital_bitmap(font, capital), bmp):
                continue  # the capital's own glyph (a face of capitals only maps both cases to it)
        ok.append(ch)
    return "".join(ok)


#: the glyph names the Adobe Glyph List gives the digits (letters are named as themselves)
DIGIT_NAMES = dict(zip("0123456789", ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
                       strict=True))
#: glyph names that say nothing of the character (fonts without names, CID-keyed fonts)
GENERIC_NAME = re.compile(r"^(uni[0-9A-F]{4}|u[0-9A-F]{4,6}|glyph\d+|gid\d+|cid\d+|g\d+|index\d+)$")


def claims_other_letters(cmap: dict[int, str]) -> bool:
    """Whether a font's cmap maps most ASCII letters and digits to glyphs named as other things: a symbol or
    dingbat font (URW D050000L maps 'A' to the dingbat a10, Standard Symbols PS to Alpha), which would draw
    stars and Greek under Latin labels. Named variants (A.sc, one.onum) and generic names pass."""
    chars = [c for c in string.ascii_letters + string.digits if ord(c) in cmap]
    if len(chars) < 8:  # not a Latin font: nothing to tell
        return False
    wrong = 0
    for c in chars:
        base = cmap[ord(c)].split(".")[0].split("_")[0]
        if base not in (DIGIT_NAMES.get(c, c), f"uni{ord(c):04X}", f"u{ord(c):04X}") and not GENERIC_NAME.match(base):
            wrong += 1
    return wrong > len(chars) / 2


def _faces(path: Path) -> int:
    """How many fonts a file holds: more than one in a collection (.ttc, .otc)."""
    with open(path, "rb") as f:
        head = f.read(12)
    return struct.unpack(">I", head[8:12])[0] if head[:4] == b"ttcf" and len(head) == 12 else 1


def _read_font(path: Path) -> tuple[ImageFont.FreeTypeFont, set[int], str, str, bool]:
    from fontTools.ttLib import TTFont, TTLibError

    with open(path, "rb") as f:
        head = f.read(4)
    if head in (b"wOFF", b"wOF2"):  # FreeType and fontTools read it, HarfBuzz does not: every text fails to shape
        raise SynthError(f"font file {path} is a compressed web font ({head.decode()}); decompress it first, e.g. "
                         "python -c \"from fontTools.ttLib import TTFont; f = TTFont('FILE'); f.flavor = None; "
                         "f.save('FILE.ttf')\", and remove the web font")
    try:
        tt = TTFont(str(path), fontNumber=0, lazy=True)
        best = tt.getBestCmap() or {}
        cmap, symbol = set(best), claims_other_letters(best)
        names = tt["name"]
        family = str(names.getDebugName(1) or path.stem)
        style = str(names.getDebugName(2) or "")
        tt.close()
        font = ImageFont.truetype(str(path), CHECK_SIZE)
    except (TTLibError, OSError, KeyError, AssertionError, ValueError, struct.error) as e:
        raise SynthError(
            f"font file {path} cannot be read ({type(e).__name__}: {e}); it is corrupt or not a font: remove it "
            "from the font folder or replace it"
        ) from None
    if not cmap:
        raise SynthError(f"font file {path} has no Unicode cmap; it cannot draw text: remove it from the font folder")
    return font, cmap, family, style, symbol


class _CoverageCache:
    """JSON file: sha256 -> {checked: chars, covered: chars, family, style}. Written atomically."""

    def __init__(self) -> None:
        self.path = cache_dir() / f"coverage-v{CHECK_VERSION}.json"
        try:
            self.data: dict[str, dict] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}
        self.dirty = False

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.data, f, ensure_ascii=False)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only cache only costs time


#: where operating systems keep fonts, for `system_font_files` where fontconfig is missing
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
                    "/Library/Fonts", "/System/Library/Fonts", "~/Library/Fonts", "C:/Windows/Fonts")


def system_font_files() -> list[Path]:
    """The operating system's font files: fontconfig's list (`fc-list`) where it is installed, else the usual
    folders' files."""
    import shutil
    import subprocess

    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True, text=True, timeout=60,
                                 check=True).stdout
            return sorted({Path(line) for line in out.splitlines() if Path(line).suffix.lower() in FONT_EXTS})
        except (OSError, subprocess.SubprocessError):
            pass
    found: set[Path] = set()
    for d in SYSTEM_FONT_DIRS:
        root = Path(d).expanduser()
        if root.is_dir():
            found |= {p for p in root.rglob("*") if p.suffix.lower() in FONT_EXTS and p.is_file()}
    return sorted(found)


def discover(cfg: FontConfig) -> list[Path]:
    """Font files in the bundled folder (if enabled; its scripts/ only as `cfg.scripts` names them), the
    configured folders and, with `cfg.system`, the operating system's; filtered by include/exclude."""
    scripts = [SCRIPTS_DIR / s for s in cfg.scripts]
    dirs = ([BUNDLED_DIR] if cfg.bundled else []) + scripts + [Path(d) for d in cfg.dirs]
    files: list[Path] = []
    for d in dirs:
        if not d.is_dir():
            known = sorted(p.name for p in SCRIPTS_DIR.iterdir() if p.is_dir())
            raise SynthError(f"no bundled fonts for script {d.name!r}; bundled scripts: {known}" if d in scripts
                             else f"--font-dir {d} is a file; give the folder that holds it (every font in it is "
                             "used), or fonts.include to pick fonts by name" if d.is_file()
                             else f"font folder not found: {d}; pass an existing folder of .ttf/.otf files")
        files += sorted(p for p in d.rglob("*") if p.suffix.lower() in FONT_EXTS and p.is_file()
                        and (d != BUNDLED_DIR or not p.is_relative_to(SCRIPTS_DIR)))
    if cfg.system:
        files += system_font_files()
    if cfg.include:
        files = [p for p in files if p.stem in set(cfg.include)]
    excluded = set(cfg.exclude)
    files = [p for p in files if p.stem not in excluded]
    seen: set[str] = set()
    unique = []
    for p in files:  # the same font in two folders would double its weight in sampling
        if p.stem not in seen:
            seen.add(p.stem)
            unique.append(p)
    if not unique:
        raise SynthError(
            f"no font files (.ttf/.otf/.ttc) found in {[str(d) for d in dirs]} after include={cfg.include} "
            f"exclude={cfg.exclude}; add fonts or loosen the filters"
        )
    return unique


#: libraries built in this process, by config, alphabet and the files' sizes and times (see `library`)
_LIBRARIES: dict[tuple, FontLibrary] = {}


def library(cfg: FontConfig, chars: str) -> FontLibrary:
    """The font library of `cfg` over `chars`, built once per process: renderers, training and its checks share
    it, and a font file is hashed and checked once. A changed, added or removed file makes a new one."""
    files = discover(cfg)
    key = (json.dumps(dataclasses.asdict(cfg), sort_keys=True), chars,
           tuple((str(p), st.st_size, st.st_mtime_ns) for p in files for st in [p.stat()]))
    lib = _LIBRARIES.get(key)
    if lib is None:
        lib = _LIBRARIES[key] = FontLibrary(cfg, chars, files)
        if lib.skipped:  # once per process: said, not repeated for every renderer
            names = ", ".join(Path(p).stem for p, _ in lib.skipped[:5]) + (" ..." if len(lib.skipped) > 5 else "")
            print(f"note: {len(lib.skipped)} font(s) left out ({names}); `synth fonts` says why", file=sys.stderr)
        many = [(f.path, n) for f in lib.fonts if (n := _faces(Path(f.path))) > 1]
        if many:
            names = ", ".join(f"{Path(p).name} ({n} faces)" for p, n in many[:5]) + (" ..." if len(many) > 5 else "")
            print(f"note: font collections are read for their first face only: {names}; to use every face, save "
                  "each as a font file of its own (fontTools.ttLib.TTCollection)", file=sys.stderr)
    return lib


class FontLibrary:
    """The fonts a config can use, each with the characters of the alphabet it really draws. `library` gives
    the process's shared one; building one hashes every file."""

    def __init__(self, cfg: FontConfig, chars: str, files: list[Path] | None = None):
        self.cfg = cfg
        cache = _CoverageCache()
        self.fonts: list[FontInfo] = []
        #: system fonts left out, with why: the user cannot mend them, so they are passed over, not refused
        self.skipped: list[tuple[str, str]] = []
        own = [BUNDLED_DIR, *(Path(d) for d in cfg.dirs)]  # a font there is the user's to mend: refused, not passed
        for path in discover(cfg) if files is None else files:
            sha = _sha256(path)
            entry = cache.data.get(sha)
            needed = chars + CURLY_QUOTES
            if entry is None or not set(needed) <= set(entry["checked"]):
                try:
                    font, cmap, family, style, symbol = _read_font(path)
                except SynthError as e:
                    if not cfg.system or any(path.is_relative_to(d) for d in own):
                        raise
                    self.skipped.append((str(path), str(e)))
                    continue
                todo = needed if entry is None else "".join(c for c in needed if c not in entry["checked"])
                got = "" if symbol else render_check(font, todo, cmap)
                old = entry or {"checked": "", "covered": ""}
                entry = {
                    "checked": old["checked"] + todo,
                    "covered": old["covered"] + got,
                    "family": family,
                    "style": style,
                    "symbol": symbol,
                }
                cache.data[sha] = entry
                cache.dirty = True
            if entry.get("symbol"):
                self.skipped.append((str(path), "its letters and digits map to other symbols (a symbol or dingbat "
                                                "font)"))
                continue
            covered = frozenset(entry["covered"]) & frozenset(chars)
            curly = set(CURLY_QUOTES) <= set(entry["covered"])
            self.fonts.append(FontInfo(str(path), path.stem, sha, entry["family"], entry["style"], covered, curly))
        cache.save()
        if not self.fonts:
            why = "; ".join(f"{Path(p).name}: {reason}" for p, reason in self.skipped)
            raise SynthError(f"every font was left out ({why}); add fonts that draw the alphabet (--font-dir)")
        self.by_name = {f.name: f for f in self.fonts}
        # fonts as bits: one AND per character finds a text's fonts (random strings rarely repeat a set)
        self._char_fonts: dict[str, int] = {}
        for i, f in enumerate(self.fonts):
            for c in f.covered:
                self._char_fonts[c] = self._char_fonts.get(c, 0) | 1 << i
        self._all_fonts = (1 << len(self.fonts)) - 1
        self._covering: dict[int, tuple[int, ...]] = {}
        self.weights = self._weights(cfg)
        self._cumulative: dict[tuple[int, ...], list[float]] = {}
        self._letter_boxes: dict[str, LetterBox] = {}

    def _weights(self, cfg: FontConfig) -> list[float]:
        """Each font's sampling weight (1 unless named)."""
        unknown = sorted(set(cfg.weights) - set(self.by_name) - set(cfg.exclude))
        if unknown:
            raise SynthError(f"fonts.weights names fonts not in the library: {unknown}; use file stems from "
                             f"`synth fonts`: {[f.name for f in self.fonts]}")
        problems = cfg.problems()
        if problems:
            raise SynthError(problems[0])
        return [float(cfg.weights.get(f.name, 1.0)) for f in self.fonts]

    def choose(self, candidates: tuple[int, ...], u: float) -> int:
        """The font (index) that the uniform `u` picks among `candidates`, by `fonts.weights`. With equal
        weights this is `synth.rng.integer`'s pick."""
        cum = self._cumulative.get(candidates)
        if cum is None:
            cum = self._cumulative[candidates] = cumulative([self.weights[i] for i in candidates])
        return candidates[pick(cum, u)]

    def __len__(self) -> int:
        return len(self.fonts)

    def get(self, name: str) -> FontInfo:
        try:
            return self.by_name[name]
        except KeyError:
            raise SynthError(f"font {name!r} is not in the library; known fonts: {sorted(self.by_name)}") from None

    def letter_box(self, name: str) -> LetterBox:
        """The font's letter box, from the ink of the letters and digits it draws. The font's declared ascent and
        descent would not do: they range from 0.94 to 1.52 em (STIXGeneral makes room for its math glyphs), and a
        font drawn into its declared box would be drawn up to 1.5x smaller than others of the same letter size.
        Nor would the extremes of the ink: a few swash capitals (Kristi, Pacifico) would shrink every letter.
        So the ascent is the 90th percentile of the letters' tops (the tallest bar a few outliers), the descent
        the median depth of the letters that descend, and the capital height the 75th percentile of the tops
        (in Latin, capitals, digits and ascenders are most of the alphanumerics). Glyphs beyond the box widen
        the drawn line's box (`draw_line`), so nothing is clipped. With `match_letter_size` in the config, the
        size is corrected to the font's capital height (`REFERENCE_CAP`)."""
        box = self._letter_boxes.get(name)
        if box is None:
            info = self.get(name)
            font = ImageFont.truetype(info.path, LETTER_BOX_SIZE)
            extents = [font.getbbox(ch, anchor="ls") for ch in sorted(c for c in info.covered if c.isalnum())]
            if extents:
                tops = np.array([-y0 for _, y0, _, _ in extents]) / LETTER_BOX_SIZE
                bottoms = np.array([y1 for _, _, _, y1 in extents]) / LETTER_BOX_SIZE
                descending = bottoms[bottoms > 0.08]
                ascent = float(np.percentile(tops, 90))
                descent = float(np.median(descending)) if descending.size else max(float(bottoms.max()), 0.0)
                cap = float(np.percentile(tops, 75))
                matched = self.cfg.match_letter_size and cap > 0
                scale = float(np.clip(REFERENCE_CAP / cap, *SIZE_CORRECTION)) if matched else 1.0
            else:  # an alphabet of symbols only: the declared box is all there is
                a, d = font.getmetrics()
                ascent, descent, scale = a / LETTER_BOX_SIZE, d / LETTER_BOX_SIZE, 1.0
            box = self._letter_boxes[name] = LetterBox(ascent, descent, scale)
        return box

    def covering(self, chars: Iterable[str]) -> tuple[int, ...]:
        """Indices of the fonts that draw every one of `chars`."""
        bits = self._all_fonts
        get = self._char_fonts.get
        for c in chars:
            bits &= get(c, 0)
        idx = self._covering.get(bits)
        if idx is None:
            idx = self._covering[bits] = tuple(i for i in range(len(self.fonts)) if bits >> i & 1)
        return idx

    def candidates(self, text: str) -> tuple[int, ...]:
        """Fonts that can draw `text`; a clear error naming the characters and fonts tried if none can."""
        idx = self.covering(text.replace(" ", ""))
        if not idx:
            missing = "".join(sorted(c for c in set(text) - {" "} if not any(c in f.covered for f in self.fonts)))
            detail = (
                f"no font draws {missing!r}"
                if missing
                else "each character is drawn by some font, but no single font draws them all"
            )
            raise SynthError(
                f"no font can draw the text {text!r}: {detail}; fonts tried: {[f.name for f in self.fonts]}. "
                "Add a font that covers these characters (--font-dir) or remove them from the alphabet/text"
            )
        return idx

    def manifest(self) -> list[dict]:
        return [{"name": f.name, "file": Path(f.path).name, "sha256": f.sha256, "family": f.family,
                 "style": f.style} for f in self.fonts]
