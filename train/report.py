"""Presentation of results: text tables, markdown, charts and image grids of evaluations and robustness reports.

`train eval`'s text report and worst-image grid, the robustness report's files; measurement lives in
`train.evaluate` and `train.robustness`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.dataset import iter_samples
from synth.preview import grid
from train.evaluate import METRICS, Evaluation
from train.robustness import CONDITIONS, Report

SEEN_COLOUR, UNSEEN_COLOUR = "#2b6cb0", "#dd6b20"


def eval_text(result: Evaluation, source: str = "") -> str:
    """The text report of `train eval`: our metrics, with Tesseract's in a column beside them when compared."""
    result = result.to_dict()
    tess = result.get("tesseract")
    ok = bool(tess and tess["available"])
    label = f"tesseract psm {tess['psm']}" if ok else "tesseract"
    head = "" if tess is None else f"{label:>18}"
    missing = "" if tess is None or ok else f"{'not found' if 'not found' in tess['reason'] else 'failed':>18}"

    def theirs(key: str, fmt: str, src: dict[str, Any] | None) -> str:
        if tess is None:
            return ""
        return f"{format(src[key], fmt):>18}" if ok and src is not None else missing

    lines = [f"{result['n']} images{' from ' + str(source) if source else ''}", f"  {'metric':<24}{'ours':>10}{head}"]
    for k in METRICS:
        lines.append(f"  {k:<24}{result[k]:>10.4f}{theirs(k, '.4f', tess)}")
    lines.append(f"  {'images_per_second':<24}{result['images_per_second']:>10.1f}"
                 f"{theirs('images_per_second', '.1f', tess)}")
    if tess is not None and not ok:
        lines.append(f"  tesseract: {tess['reason']}")
    for name in ("by_height", "by_length", "by_font"):
        groups = result.get(name)
        if not groups:  # by_font: only for datasets that record their fonts
            continue
        # ci_alnum beside exact: Tesseract's word mode adds stray marks at a crop's edges ("|", "~") that
        # only the exact figure counts
        extra = "  tesseract cer  word_accuracy  ci_alnum" if ok else ""
        wide = max(10, *map(len, groups))
        lines.append(f"{name.replace('_', ' ')}:  group  n  cer  word_accuracy  ci_alnum{extra}")
        for g, sc in groups.items():
            row = (f"  {g:<{wide}}{sc['n']:>6}  {sc['cer']:.4f}  {sc['word_accuracy']:.4f}"
                   f"  {sc['word_accuracy_ci_alnum']:.4f}")
            t = tess.get(name, {}).get(g) if ok else None
            if t is not None:
                row += f"  {t['cer']:.4f}  {t['word_accuracy']:.4f}  {t['word_accuracy_ci_alnum']:.4f}"
            lines.append(row)
    if result["confusions"]:
        lines.append("most frequent errors (case folded; '' is a character dropped or added; alone: the words "
                     "it alone made wrong):")
        lines.append(f"  {'truth':>6} {'read':>6} {'count':>6} {'alone':>6}")
        lines += [f"  {c['truth']!r:>6} {c['read']!r:>6} {c['count']:>6} {c['alone']:>6}" for c in result["confusions"]]
    if result["worst"]:
        lines.append("worst:")
        lines += [f"  {w['truth']!r} read as {w['prediction']!r}" for w in result["worst"][:10]]
    return "\n".join(lines)


def eval_worst_grid(result: Evaluation, data_dir: str | Path, out: str | Path) -> Path:
    """worst.png: the worst-read images of `data_dir` with truth and prediction under each."""
    wanted = {w["index"]: w for w in result.worst}
    images = {}
    for k, (img, _, _) in enumerate(iter_samples(data_dir)):
        if k in wanted:
            images[k] = img
            if len(images) == len(wanted):
                break
    tiles = [(images[w["index"]], [f"truth: {w['truth']}", f"read:  {w['prediction']}"]) for w in result.worst]
    if not tiles:  # still write the file the user asked for, saying why it shows no samples
        tiles = [(np.full((32, 128), 255, np.uint8), ["no sample was misread"])]
    if len({im.shape[0] for im, _ in tiles}) > 1:  # real images differ in size: show them all at one height
        tiles = [(cv2.resize(im, (max(1, round(im.shape[1] * 48 / im.shape[0])), 48)), c) for im, c in tiles]
    wide = max(im.shape[1] for im, _ in tiles)
    out = Path(out)
    grid(tiles, columns=1 if wide > 600 else 3, scale=1 if wide > 300 else 2).save(out)  # lines: one a row
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _cell(s: dict[str, Any] | None, key: str) -> str:
    return "-" if s is None else _pct(s[key])


def _in_views(views: int) -> str:
    return f", each image read in {views} views" if views > 1 else ""


def robustness_markdown(report: Report, title: str = "") -> str:
    """report.md: the summary, the seen/unseen gap, the per-font table and the sweeps (percent)."""
    report = report.to_dict()
    agg = report["aggregate"]
    lines = [f"# Font robustness{': ' + title if title else ''}", "",
             f"{report['count']} texts in each of {len(report['fonts'])} fonts ({report['texts_every_font_draws']} "
             "drawn by every font), with the effects off (clean) and at the model's training defaults (default). "
             f"Word accuracy and CER in percent{_in_views(report['views'])}.", "",
             "| fonts | n | clean word acc | clean CER | default word acc | default CER |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, a in [("seen", agg["seen"]), ("unseen", agg["unseen"]), *report["folders"].items()]:
        lines.append(f"| {label} | {a['fonts']} | {_cell(a['clean'], 'word_accuracy')} | {_cell(a['clean'], 'cer')} "
                     f"| {_cell(a['default'], 'word_accuracy')} | {_cell(a['default'], 'cer')} |")
    lines.append("")
    if report["missing_font_dirs"]:
        lines += [f"Training font folders not found here (not measured): {report['missing_font_dirs']}.", ""]
    if report["gap"]:
        g = report["gap"]
        lines.append(f"Generalization gap (seen minus unseen word accuracy): clean "
                     f"{100 * g['clean']['word_accuracy']:+.1f} points, default "
                     f"{100 * g['default']['word_accuracy']:+.1f} points.")
    else:
        lines.append("Generalization gap: n/a (every font is seen, or none is; hold fonts out with "
                     "`train fit --holdout-fonts` or pass `--fonts DIR`).")
    lines += ["", "![accuracy per font](fonts.png)", "", "## Per font", "",
              "| font | seen | clean word acc | clean CER | default word acc | default CER | skipped | worst read |",
              "| --- | :---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for f in report["fonts"]:
        w = "; ".join(f"`{x['truth']}` → `{x['prediction']}`" for x in f["worst"][:2]).replace("|", "\\|")
        lines.append(f"| {f['name']} | {'yes' if f['seen'] else '**no**'} | {_cell(f['clean'], 'word_accuracy')} | "
                     f"{_cell(f['clean'], 'cer')} | {_cell(f['default'], 'word_accuracy')} | "
                     f"{_cell(f['default'], 'cer')} | {f['skipped']} | {w} |")
    if report["sweeps"]:
        lines += ["", "## Effects", "",
                  f"Each effect alone at a fixed strength on {report['sweep_count']} clean samples of the "
                  f"{len(report['sweep_fonts'])} {'seen ' if any(f['seen'] for f in report['fonts']) else ''}fonts.",
                  "", "![accuracy against effect strength](effects.png)", ""]
        for name, s in report["sweeps"].items():
            lines += [f"**{name}** ({s['unit']}; training max {s['training_max']:g})", "",
                      "| strength | word acc | CER |", "| ---: | ---: | ---: |"]
            lines += [f"| {r['strength']:g} | {_pct(r['word_accuracy'])} | {_pct(r['cer'])} |" for r in s["levels"]]
            lines.append("")
    if report["worst"]:
        lines += ["", "## Worst-read samples", "", "![worst-read samples](worst.png)", ""]
    return "\n".join(lines)


def font_chart(report: dict[str, Any], out: Path) -> None:
    """fonts.png: word accuracy per font, clean and with the effects, seen and unseen coloured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    fonts = sorted(report["fonts"], key=lambda f: (f["default"] or {}).get("word_accuracy", 0.0))
    n = len(fonts)
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.2 + 0.28 * n), sharey=True)
    colours = [SEEN_COLOUR if f["seen"] else UNSEEN_COLOUR for f in fonts]
    for ax, cond in zip(axes, CONDITIONS, strict=True):
        acc = [(f[cond] or {}).get("word_accuracy", 0.0) * 100 for f in fonts]
        ax.barh(range(n), acc, color=colours)
        for y, a in enumerate(acc):
            ax.text(min(a, 88) + 1, y, f"{a:.1f}", va="center", fontsize=7)
        for label, ls in (("seen", "-"), ("unseen", "--")):
            a = report["aggregate"][label][cond]
            if a:
                ax.axvline(100 * a["word_accuracy"], color="grey", ls=ls, lw=0.8)
        ax.set_xlim(0, 100)
        ax.set_title(f"{cond}: word accuracy (%)", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(n), [f["name"] for f in fonts], fontsize=8)
    fig.legend(handles=[Patch(color=SEEN_COLOUR, label="seen in training"), Patch(color=UNSEEN_COLOUR,
               label="unseen")], loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def effects_chart(report: dict[str, Any], out: Path) -> None:
    """effects.png: accuracy against each swept effect's strength."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweeps = report["sweeps"]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(3.2 * len(sweeps), 3.4), squeeze=False)
    for ax, (name, s) in zip(axes[0], sweeps.items(), strict=True):
        x = [r["strength"] for r in s["levels"]]
        ax.plot(x, [100 * r["word_accuracy"] for r in s["levels"]], "o-", label="word accuracy")
        ax.plot(x, [100 * (1 - min(r["cer"], 1.0)) for r in s["levels"]], "s--", label="1 - CER")
        if s["training_max"] > 0:
            ax.axvline(s["training_max"], color="grey", ls=":", lw=1, label="training max")
        ax.set_ylim(0, 102)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(s["unit"], fontsize=8)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("%")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def robustness_worst_grid(report: dict[str, Any], out: Path) -> None:
    """worst.png: the worst-read samples, rendered again from their specs, with truth, reading and font."""
    from synth.config import SynthConfig
    from synth.renderer import Renderer
    from synth.spec import Spec

    renderer = Renderer(SynthConfig.from_dict(report["data"]))
    tiles = [(renderer.render_spec(Spec.from_dict(w["spec"])), [f"truth: {w['truth']}", f"read:  {w['prediction']}",
                                                                f"{w['font']} ({w['condition']})"])
             for w in report["worst"]]
    if tiles:
        grid(tiles, columns=4).save(out)


def write_robustness(report: Report, out: str | Path, title: str = "") -> Path:
    """report.json, report.md, fonts.png, effects.png (with sweeps) and worst.png (when anything was misread)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    (out / "report.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "report.md").write_text(robustness_markdown(report, title), encoding="utf-8")
    font_chart(data, out / "fonts.png")
    if data["sweeps"]:
        effects_chart(data, out / "effects.png")
    robustness_worst_grid(data, out / "worst.png")
    return out


def robustness_text(report: Report, out: Path) -> str:
    """`train robustness`'s summary on the terminal: seen and unseen fonts, clean and with the effects."""
    lines = [f"{report.count} texts x {len(report.fonts)} fonts, {report.predictions} images read"
             f"{_in_views(report.views)} in {report.seconds:.0f} s",
             f"  {'fonts':<8}{'n':>4}  {'clean acc':>9}  {'clean cer':>9}  {'default acc':>11}  {'default cer':>11}"]
    for label in ("seen", "unseen"):
        g = report.aggregate[label]
        if g["clean"] and g["default"]:
            lines.append(f"  {label:<8}{g['fonts']:>4}  {g['clean']['word_accuracy']:>9.4f}  "
                         f"{g['clean']['cer']:>9.4f}  {g['default']['word_accuracy']:>11.4f}  "
                         f"{g['default']['cer']:>11.4f}")
    for d, g in report.folders.items():
        if g["clean"] and g["default"]:
            lines.append(f"  {d}: {g['fonts']} fonts, clean acc {g['clean']['word_accuracy']:.4f}, "
                         f"default acc {g['default']['word_accuracy']:.4f}")
    if report.gap:
        lines.append(f"  gap (seen - unseen word accuracy): clean {report.gap['clean']['word_accuracy']:+.4f}, "
                     f"default {report.gap['default']['word_accuracy']:+.4f}")
    lines.append(f"report in {out}/report.md")
    return "\n".join(lines)
