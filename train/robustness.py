"""Font robustness: the same texts in every font, clean and with the training effects, plus effect sweeps.

Every font reads the same samples: a text's spec is drawn once from (seed, index) and only its font is
overridden, so differences between fonts come from the fonts. Fonts are marked seen or unseen from the model
dir's record of its training fonts (by file hash, so a renamed copy of a training font still counts as seen),
which turns a `train fit --holdout-fonts` run into a generalization-gap measurement.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from synth.config import EffectsConfig, SynthConfig
from synth.errors import SynthError
from synth.fonts import BUNDLED_DIR, FontInfo
from synth.renderer import Renderer
from synth.spec import Spec
from synth.version import __version__
from train import metrics
from train.runtime import check_views

#: texts per font: enough to tell fonts apart by a few points, few enough to read every font in seconds
COUNT = 300
#: far from training's seeds (0 and VAL_SEED_OFFSET), so the report's samples are not the training stream's
SEED = 7_000_001
CONDITIONS = ("clean", "default")
WORST_PER_FONT = 3
WORST_TILES = 24


@dataclass(frozen=True)
class Sweep:
    """One effect at fixed strengths, with probability 1, on the clean samples of the seen fonts."""

    name: str
    unit: str
    levels: tuple[float, ...]
    #: the effect (its `EffectsConfig` section), which `Renderer.forced` sets
    effect: str
    #: the section's setting whose upper end is the strongest the model was trained on
    setting: str


SWEEPS = (
    Sweep("rotation", "degrees", (0.0, 2.0, 4.0, 6.0, 9.0, 12.0), "rotate", "degrees"),
    Sweep("noise", "std, grey levels", (0.0, 6.0, 12.0, 20.0, 30.0, 45.0), "gaussian_noise", "std"),
    Sweep("blur", "sigma, pixels", (0.0, 0.6, 1.1, 1.6, 2.2, 3.0), "blur", "sigma"),
    Sweep("perspective", "corner jitter, fraction of height", (0.0, 0.04, 0.08, 0.12, 0.18, 0.25), "perspective",
          "jitter"),
)


def _training_max(fx: EffectsConfig, sweep: Sweep) -> float:
    section = getattr(fx, sweep.effect)
    v = getattr(section, sweep.setting)
    return float(v[1] if isinstance(v, tuple | list) else v) if section.p > 0 else 0.0


def with_effect(renderer: Renderer, spec: Spec, sweep: str, level: float) -> Spec:
    """`spec` with the effect of sweep `sweep` forced to `level` (0: off), the same way at every level."""
    by_name = {s.name: s for s in SWEEPS}
    if sweep not in by_name:
        raise SynthError(f"unknown effect sweep {sweep!r}; known: {list(by_name)}")
    return renderer.forced(spec, by_name[sweep].effect, level)


def data_config(rec: Any, font_dirs: Sequence[str] = ()) -> SynthConfig:
    """The model's own data config (alphabet, size, texts, effects) over every font: the training folders that
    still exist, the bundled ones, and `font_dirs`; nothing excluded or filtered."""
    if rec.config is not None:
        data = copy.deepcopy(rec.config.data)
    else:  # a model dir without config.json: its alphabet and input size, default texts and effects
        data = SynthConfig(alphabet=rec.alphabet.chars)
        data.render.height, data.render.width = rec.height, rec.width
    for d in font_dirs:
        if not Path(d).is_dir():
            raise SynthError(f"--fonts {d}: not a folder; pass a folder of .ttf/.otf files")
    data.fonts.dirs = [d for d in data.fonts.dirs if Path(d).is_dir()] + list(font_dirs)
    data.fonts.bundled, data.fonts.include, data.fonts.exclude = True, [], []
    return data


def seen_fonts(meta: dict[str, Any], fonts: Iterable[FontInfo]) -> dict[str, bool]:
    """Font name -> whether training rendered it: matched by sha256 where the record has it, else by name."""
    record = meta.get("train_fonts") or []
    shas = {f["sha256"] for f in record if isinstance(f, dict) and f.get("sha256")}
    names = {f["name"] if isinstance(f, dict) else str(f) for f in record}
    return {f.name: (f.sha256 in shas) if shas else (f.name in names) for f in fonts}


def pick_texts(renderer: Renderer, count: int, seed: int, tries: int = 20) -> tuple[list[int], int]:
    """Indices of `count` samples whose text every font draws (at most `tries` x count looked at); when too few
    exist, samples some font cannot draw fill the rest (those pairs are skipped). Returns (indices, covered).

    A face of capitals only (block-letter hands, sign faces) does not count: it would hold every text to
    capitals. It reads the texts it draws and skips the others."""
    lib = renderer.fonts
    lower = {c for f in lib.fonts for c in f.covered if c.islower()}
    need = {i for i, f in enumerate(lib.fonts) if not lower or not f.covered.isdisjoint(lower)}
    good, other = [], []
    for i in range(count * tries):
        chars = frozenset(renderer.sample_spec(seed, i).text.replace(" ", ""))
        (good if need.issubset(lib.covering(chars)) else other).append(i)
        if len(good) == count:
            break
    return good + other[: count - len(good)], len(good)


@dataclass
class Report:
    """What `run` measured, JSON-able (report.json is its `to_dict`): per font, seen and unseen pooled, their
    gap, the effect sweeps, and the worst-read samples with their specs; `data` is the rendering config."""

    version: str
    model_dir: str
    model: str
    holdout_fonts: list[str]
    seed: int
    missing_font_dirs: list[str]
    count: int
    texts_every_font_draws: int
    conditions: list[str]
    sweep_count: int
    sweep_fonts: list[str]
    predictions: int
    #: each image read in this many views (`Recognizer.predict`), the most confident reading kept
    views: int
    seconds: float
    fonts: list[dict[str, Any]]
    aggregate: dict[str, Any]
    #: each folder of `--fonts`, its fonts pooled on their own: a pinned set of unseen faces read as a set
    folders: dict[str, Any]
    gap: dict[str, Any] | None
    sweeps: dict[str, Any]
    worst: list[dict[str, Any]]
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Read:
    """One image read: its group ("clean", "default" or "sweep:NAME:LEVEL"), spec and the model's text."""

    group: str
    spec: Spec
    text: str = ""

    @property
    def wrong(self) -> bool:
        return self.text != self.spec.text

    def badness(self) -> tuple[float, int]:
        """Sort key, worst first: normalized edit distance, then raw edits (a long word misread beats a short)."""
        return (-Levenshtein.normalized_distance(self.spec.text, self.text),
                -Levenshtein.distance(self.spec.text, self.text))


def score(reads: list[Read]) -> dict[str, float | int] | None:
    return metrics.score([r.spec.text for r in reads], [r.text for r in reads]) if reads else None


def _read_all(rec: Any, renderer: Renderer, reads: list[Read], batch_size: int, progress: bool, views: int) -> None:
    from tqdm import tqdm

    with tqdm(total=len(reads), unit="img", disable=not progress, desc="robustness") as bar:
        for s in range(0, len(reads), batch_size):
            chunk = reads[s : s + batch_size]
            preds = rec.predict([renderer.render_spec(r.spec) for r in chunk], batch_size=batch_size, views=views)
            for r, p in zip(chunk, preds, strict=True):
                r.text = p.text
            bar.update(len(chunk))


def _font_reads(base: dict[str, list[Spec]], fonts: list[FontInfo]) -> tuple[list[Read], dict[str, int]]:
    """Every (condition, font, text) whose text the font draws, and per font the texts it cannot draw."""
    reads, skipped = [], dict.fromkeys((f.name for f in fonts), 0)
    for cond in CONDITIONS:
        for f in fonts:
            for sp in base[cond]:
                if f.lacks(sp.text.replace(" ", "")):
                    skipped[f.name] += cond == "clean"
                else:
                    reads.append(Read(cond, dataclasses.replace(sp, font=f.name)))
    return reads, skipped


def _sweep_reads(renderer: Renderer, clean: list[Spec], fonts: list[FontInfo], n: int) -> list[Read]:
    """n clean samples, text k in the k-th font (or the next that draws it), at every level of every sweep."""
    specs = []
    for k in range(n):
        sp = clean[k % len(clean)]
        f = next((fonts[(k + j) % len(fonts)] for j in range(len(fonts))
                  if not fonts[(k + j) % len(fonts)].lacks(sp.text.replace(" ", ""))), None)
        if f is not None:
            specs.append(dataclasses.replace(sp, font=f.name))
    reads = [Read("sweep::0", sp) for sp in specs]  # strength 0 is the clean sample, shared by every sweep
    return reads + [Read(f"sweep:{s.name}:{v}", with_effect(renderer, sp, s.name, v)) for s in SWEEPS
                    for v in s.levels if v > 0 for sp in specs]


def _worst(reads: list[Read]) -> list[Read]:
    """The worst-read samples, at most a few per font and two per text, so that no font or text fills the grid."""
    by_font: Counter[str] = Counter()
    by_text: Counter[str] = Counter()
    worst = []
    for r in sorted((r for r in reads if r.wrong), key=Read.badness):
        if by_font[r.spec.font] < WORST_PER_FONT and by_text[r.spec.text] < 2:
            by_font[r.spec.font] += 1
            by_text[r.spec.text] += 1
            worst.append(r)
            if len(worst) == WORST_TILES:
                break
    return worst


def _worst_row(r: Read, font: bool = True) -> dict[str, Any]:
    return {"condition": r.group, **({"font": r.spec.font} if font else {}), "index": r.spec.index,
            "truth": r.spec.text, "prediction": r.text}


def run(rec: Any, font_dirs: Sequence[str] = (), count: int = COUNT, seed: int = SEED, sweep_count: int | None = None,
        sweeps: bool = True, batch_size: int = 64, progress: bool = False, model_dir: str = "",
        sources: dict[str, float] | None = None, views: int = 1) -> Report:
    """Measure `rec` (a Recognizer, or anything with its config, meta and predict) per font and per effect;
    `sources` in place of the model's text sources (e.g. words only, for a clean-words figure); `views` as in
    `Recognizer.predict`.

    The report's `data` is the config its samples were rendered with, and each worst row holds its spec, so that
    `worst.png` can be drawn again from the report alone."""
    if count < 1:
        raise SynthError(f"--count {count}: render at least one text per font")
    check_views(views)
    started = time.perf_counter()
    data = data_config(rec, font_dirs)
    if sources is not None:
        data.text.sources = sources
        data.validate()
    clean_cfg = copy.deepcopy(data)
    clean_cfg.effects = EffectsConfig.off()
    renderer, clean = Renderer(data), Renderer(clean_cfg)  # `clean` only draws specs; one renderer draws all
    fonts = renderer.fonts.fonts
    meta = getattr(rec, "meta", None) or {}
    seen = seen_fonts(meta, fonts)
    indices, covered = pick_texts(clean, count, seed)
    base = {"clean": [clean.sample_spec(seed, i) for i in indices],
            "default": [renderer.sample_spec(seed, i) for i in indices]}  # same texts: text is drawn first
    reads, skipped = _font_reads(base, fonts)
    sweep_fonts = [f for f in fonts if seen[f.name]] or list(fonts)
    n_swept = count if sweep_count is None else sweep_count
    swept = _sweep_reads(renderer, base["clean"], sweep_fonts, n_swept) if sweeps else []
    _read_all(rec, renderer, reads + swept, batch_size, progress, views)

    groups: dict[tuple[str, str], list[Read]] = {}
    for r in reads + swept:
        groups.setdefault((r.group, r.spec.font), []).append(r)
        groups.setdefault((r.group, ""), []).append(r)
    per_font = []
    for f in fonts:
        mine = [r for cond in CONDITIONS for r in groups.get((cond, f.name), [])]
        per_font.append({
            "name": f.name, "seen": seen[f.name], "family": f.family, "style": f.style,
            "bundled": Path(f.path).is_relative_to(BUNDLED_DIR), "path": f.path, "skipped": skipped[f.name],
            **{cond: score(groups.get((cond, f.name), [])) for cond in CONDITIONS},
            "worst": [_worst_row(r, font=False) for r in sorted((r for r in mine if r.wrong),
                                                                 key=Read.badness)[:WORST_PER_FONT]],
        })

    def pooled(names: list[str]) -> dict[str, Any]:
        return {"fonts": len(names), **{cond: score([r for n in names for r in groups.get((cond, n), [])])
                                        for cond in CONDITIONS}}

    # seen vs unseen, and each --fonts folder, pooled over the fonts' samples
    aggregate = {label: pooled([f.name for f in fonts if seen[f.name] == want])
                 for label, want in (("seen", True), ("unseen", False))}
    # absolute, not resolved: a folder of links to fonts elsewhere still holds its fonts
    where = {f.name: Path(os.path.abspath(f.path)) for f in fonts}
    folders = {str(d): pooled([n for n, path in where.items() if path.is_relative_to(os.path.abspath(d))])
               for d in font_dirs}
    gap = None
    if aggregate["seen"]["clean"] and aggregate["unseen"]["clean"]:
        s, u = aggregate["seen"], aggregate["unseen"]
        gap = {cond: {"word_accuracy": s[cond]["word_accuracy"] - u[cond]["word_accuracy"],
                      "cer": u[cond]["cer"] - s[cond]["cer"]} for cond in CONDITIONS}

    sweep_report: dict[str, Any] = {}
    if swept:
        for sw in SWEEPS:
            rows = [{"strength": v, **(score(groups[(f"sweep:{sw.name}:{v}" if v > 0 else "sweep::0", "")]) or {})}
                    for v in sw.levels]
            sweep_report[sw.name] = {"unit": sw.unit, "training_max": _training_max(data.effects, sw),
                                     "levels": rows}

    worst = _worst(reads)
    trained_dirs = rec.config.data.fonts.dirs if rec.config is not None else []
    return Report(
        version=__version__, model_dir=model_dir, model=meta.get("model", ""),
        holdout_fonts=meta.get("holdout_fonts", []), seed=seed,
        missing_font_dirs=[d for d in trained_dirs if not Path(d).is_dir()],  # training's, moved since
        count=len(indices), texts_every_font_draws=covered, conditions=list(CONDITIONS),
        sweep_count=sum(r.group == "sweep::0" for r in swept), sweep_fonts=[f.name for f in sweep_fonts],
        predictions=len(reads) + len(swept), views=views, seconds=time.perf_counter() - started,
        fonts=per_font, aggregate=aggregate, folders=folders, gap=gap, sweeps=sweep_report,
        worst=[{**_worst_row(r), "spec": r.spec.to_dict()} for r in worst], data=data.to_dict(),
    )
