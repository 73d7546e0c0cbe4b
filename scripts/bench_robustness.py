"""Robustness benchmark of a trained model against its targets, with Tesseract beside it on real images.

1. `train robustness` at its defaults: per-font accuracy, seen vs unseen fonts (train the model with
   `--holdout-fonts` or `--holdout-fraction` to have unseen ones), effect sweeps; report in --out.
2. `train eval --compare tesseract` on real scanned lines (UW3) and real scene words (IIIT5K, whose labels are
   upper case: scored case-insensitively on [a-z0-9], the field's protocol).

Targets: unseen fonts, clean: word accuracy >= 97% and within 2 points of the seen fonts; UW3 CER below
Tesseract's. IIIT5K is reported as it is (scene text is far from the rendered data).

    python scripts/bench_robustness.py --model MODEL_DIR [--line-model DIR] [--out DIR] [--uw3 DIR]
        [--iiit5k DIR] [--count N] [--fonts DIR]

A word model cannot read UW3's lines (median 49 characters); `--line-model` names a model trained on lines
(`train fit --preset lines`) to score them with instead.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from train import robustness
from train.evaluate import evaluate
from train.recognizer import load
from train.report import write_robustness

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
UNSEEN_MIN, GAP_MAX = 0.97, 0.02


def _real(rec, path: str, limit: int | None) -> dict:
    if not Path(path).is_dir():
        return {"missing": path}
    r = evaluate(rec, path, limit=limit, compare="tesseract").to_dict()
    return {k: r[k] for k in ("n", "cer", "word_accuracy", "word_accuracy_ci_alnum", "images_per_second",
                              "tesseract")}


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "FAIL")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--line-model", help="model for the UW3 lines (default: --model)")
    p.add_argument("--out", help="report folder (default: MODEL/robustness)")
    p.add_argument("--uw3", default=str(REAL / "uw3-lines-500"))
    p.add_argument("--iiit5k", default=str(REAL / "iiit5k-test-3000"))
    p.add_argument("--count", type=int, default=robustness.COUNT, help="texts per font (train robustness's default)")
    p.add_argument("--limit", type=int, help="score only the first N real images of each set")
    p.add_argument("--fonts", action="append", default=[], help="extra font folder (fonts the model never saw)")
    a = p.parse_args()
    out = Path(a.out or Path(a.model) / "robustness")

    rec = load(a.model)
    t0 = time.perf_counter()
    result = robustness.run(rec, font_dirs=a.fonts, count=a.count, model_dir=a.model)
    write_robustness(result, out, title=a.model)
    report = result.to_dict()
    rob_s = time.perf_counter() - t0
    uw3 = _real(load(a.line_model) if a.line_model else rec, a.uw3, a.limit)
    iiit = _real(rec, a.iiit5k, a.limit)

    seen, unseen = report["aggregate"]["seen"]["clean"], report["aggregate"]["unseen"]["clean"]
    gap = report["gap"]["clean"]["word_accuracy"] if report["gap"] else None
    print(f"robustness: {report['count']} texts x {len(report['fonts'])} fonts, {report['predictions']} images in "
          f"{rob_s:.0f} s; report in {out}")
    print(f"  seen fonts ({report['aggregate']['seen']['fonts']}), clean: word acc "
          f"{seen['word_accuracy']:.4f}, CER {seen['cer']:.4f}" if seen else "  no seen fonts")
    if unseen:
        print(f"  unseen fonts ({report['aggregate']['unseen']['fonts']}), clean: word acc "
              f"{unseen['word_accuracy']:.4f}, CER {unseen['cer']:.4f}; gap {gap:+.4f}")
    else:
        print("  no unseen fonts: train with --holdout-fonts/--holdout-fraction to measure the gap")
    checks = [
        (f"unseen fonts clean word accuracy >= {UNSEEN_MIN:.0%}",
         None if not unseen else unseen["word_accuracy"] >= UNSEEN_MIN),
        (f"unseen within {100 * GAP_MAX:.0f} points of seen", None if gap is None else gap <= GAP_MAX),
    ]
    for name, r, key in (("UW3 lines", uw3, "cer"), ("IIIT5K words", iiit, "word_accuracy_ci_alnum")):
        if "missing" in r:
            print(f"{name}: folder {r['missing']} not found")
            continue
        t = r["tesseract"]
        theirs = f"{t[key]:.4f} (psm {t['psm']}, {t['images_per_second']:.0f} img/s)" if t["available"] \
            else t["reason"]
        print(f"{name} ({r['n']} images), {key}: ours {r[key]:.4f} ({r['images_per_second']:.0f} img/s), "
              f"tesseract {theirs}")
        if key == "cer":
            checks.append(("UW3 CER below Tesseract's", r[key] < t[key] if t["available"] else None))
    print("targets:")
    for name, ok in checks:
        print(f"  {_verdict(ok)}  {name}")
    summary = {"robustness": {k: report[k] for k in ("aggregate", "gap", "count", "seconds")},
               "line_model": a.line_model or a.model, "uw3": uw3, "iiit5k": iiit, "checks": {n: ok for n, ok in checks}}
    (out / "bench.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
