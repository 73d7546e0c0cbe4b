"""`train`: fit a recognizer on the synthetic stream; predict; evaluate.

User errors print one line and exit 2 (see synth.cli.run_cli).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter hides our output

from synth.cli import add_config_args, check_one_start, config_from_args, run_cli
from synth.config import SynthConfig
from synth.errors import SynthError
from train.config import FEEDS


def _fit_config(a: argparse.Namespace):
    from train.config import FitConfig
    from train.models import model_spec

    saved = Path(a.out) / "config.json"
    resuming = saved.exists()
    cfg = FitConfig.load(saved) if resuming else FitConfig()  # flags given now override the saved run's
    check_one_start(a)
    if a.preset:
        cfg.data = SynthConfig.preset(a.preset)
        a.preset = None
    if a.config:
        try:
            raw = json.loads(Path(a.config).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise SynthError(f"cannot read --config {a.config}: {e}") from None
        if isinstance(raw, dict) and ("data" in raw or "train" in raw):
            cfg = FitConfig.from_dict(raw)
        else:
            cfg.data = SynthConfig.load(a.config)
        a.config = None
    t = cfg.train
    for flag, field in [("model", "model"), ("steps", "steps"), ("batch", "batch_size"), ("lr", "learning_rate"),
                        ("seed", "seed"), ("eval_every", "eval_every"), ("val_count", "val_count"),
                        ("val_dir", "val_dir"), ("patience", "patience"), ("checkpoint_every", "checkpoint_every"),
                        ("workers", "workers"), ("feed", "feed"), ("holdout_fraction", "holdout_fraction"),
                        ("max_minutes", "max_minutes"), ("ema", "ema"),
                        ("holdout_seed", "holdout_seed")]:
        value = getattr(a, flag)
        if value is not None:
            setattr(t, field, value)
    if a.holdout_fonts:
        t.holdout_fonts = [n.strip() for n in a.holdout_fonts.split(",") if n.strip()]
    if a.curriculum:
        t.curriculum = True
    spec = model_spec(t.model)
    if not resuming and a.height is None and cfg.data.render.height == SynthConfig().render.height:
        cfg.data.render.height = spec.height  # each model's native input height unless told otherwise
    cfg.data = config_from_args(a, cfg.data)
    return cfg


def cmd_fit(a: argparse.Namespace) -> int:
    from train.fit import fit

    result = fit(_fit_config(a), a.out, progress=not a.quiet)
    best = result["best"] or {}
    print(f"trained to step {result['step']}; best validation: word accuracy {best.get('word_accuracy', 0):.4f}, "
          f"CER {best.get('cer', 1):.4f} (step {best.get('step')}); model in {a.out}")
    return 0


def _lexicon(path: str | None) -> list[str] | None:
    if not path:
        return None
    try:
        return [w.strip() for w in Path(path).read_text(encoding="utf-8").splitlines() if w.strip()]
    except OSError as e:
        raise SynthError(f"cannot read --lexicon {path}: {e.strerror}") from None


def cmd_predict(a: argparse.Namespace) -> int:
    from synth.dataset import load_image
    from train.recognizer import load

    rec = load(a.model)
    images = [load_image(Path(p)) for p in a.images]
    for path, p in zip(a.images, rec.predict(images, method="beam" if a.beam else "greedy",
                                             lexicon=_lexicon(a.lexicon), turn_tall=not a.upright), strict=True):
        print(f"{path}\t{p.text}\t{p.confidence:.4f}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from train.evaluate import METRICS, evaluate, format_text, worst_grid
    from train.recognizer import load

    rec = load(a.model)
    result = evaluate(rec, a.data, method="beam" if a.beam else "greedy", lexicon=_lexicon(a.lexicon),
                      limit=a.limit, compare=a.compare, turn_tall=not a.upright)
    if a.worst:
        worst_grid(result, a.worst)
    result.pop("_worst_images")
    if a.json:
        out = {k: result[k] for k in ("n", *METRICS, "images_per_second")}
        if "tesseract" in result:
            out["tesseract"] = result["tesseract"]
        print(json.dumps(out))
        return 0
    print(format_text(result, a.data))
    return 0


def cmd_robustness(a: argparse.Namespace) -> int:
    from train import robustness
    from train.recognizer import load

    rec = load(a.model)
    seed = robustness.SEED if a.seed is None else a.seed
    count = robustness.COUNT if a.count is None else a.count
    report = robustness.run(rec, a.fonts, count=count, seed=seed, sweep_count=a.sweep_count,
                            sweeps=not a.no_sweeps, progress=not a.quiet, model_dir=a.model)
    out = robustness.write(report, a.out, title=a.model)
    agg = report["aggregate"]
    print(f"{report['count']} texts x {len(report['fonts'])} fonts, {report['predictions']} images read in "
          f"{report['seconds']:.0f} s")
    print(f"  {'fonts':<8}{'n':>4}  {'clean acc':>9}  {'clean cer':>9}  {'default acc':>11}  {'default cer':>11}")
    for label in ("seen", "unseen"):
        g = agg[label]
        if g["clean"] and g["default"]:
            print(f"  {label:<8}{g['fonts']:>4}  {g['clean']['word_accuracy']:>9.4f}  {g['clean']['cer']:>9.4f}  "
                  f"{g['default']['word_accuracy']:>11.4f}  {g['default']['cer']:>11.4f}")
    if report["gap"]:
        print(f"  gap (seen - unseen word accuracy): clean {report['gap']['clean']['word_accuracy']:+.4f}, "
              f"default {report['gap']['default']['word_accuracy']:+.4f}")
    print(f"report in {out}/report.md")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train", description="Fit and use CTC text recognizers.")
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="train on the synthetic stream (run again with the same --out to resume)")
    f.add_argument("--out", required=True, help="model dir")
    f.add_argument("--model", help="default, bigru, small, image_ocr or crnn")
    f.add_argument("--steps", type=int, help="training steps (default 20000)")
    f.add_argument("--batch", type=int, help="batch size (default 16)")
    f.add_argument("--lr", type=float, help="peak learning rate (default 3e-3)")
    f.add_argument("--seed", type=int, help="training seed (validation uses another)")
    f.add_argument("--ema", type=float, help="evaluate and keep a moving average of the weights with this momentum "
                   "(e.g. 0.999; default 0: the weights as trained)")
    f.add_argument("--eval-every", type=int)
    f.add_argument("--val-count", type=int, help="rendered validation samples")
    f.add_argument("--val-dir", help="validate on a folder with labels.tsv instead")
    f.add_argument("--patience", type=int, help="evaluations without improvement before stopping (0: never)")
    f.add_argument("--checkpoint-every", type=int)
    f.add_argument("--max-minutes", type=float, help="stop after this many minutes (resume later to continue)")
    f.add_argument("--feed", choices=FEEDS, help="burst: render on every core while the step waits (the default "
                   "without a GPU); overlap: render beside the step (the default with a GPU)")
    f.add_argument("--workers", type=int, help="rendering processes (default: every core for a burst feed, 1 "
                   "beside an overlapped step)")
    f.add_argument("--holdout-fonts", help="comma-separated font names never used in training")
    f.add_argument("--holdout-fraction", type=float, help="hold out this fraction of the fonts")
    f.add_argument("--holdout-seed", type=int)
    f.add_argument("--curriculum", action="store_true", help="short plain texts first, then the full data")
    f.add_argument("--quiet", action="store_true")
    add_config_args(f)
    f.set_defaults(fn=cmd_fit)
    r = sub.add_parser("predict", help="print the text of each image, with a confidence")
    r.add_argument("--model", required=True)
    r.add_argument("images", nargs="+")
    r.add_argument("--beam", action="store_true", help="beam search instead of greedy decoding")
    r.add_argument("--lexicon", help="word list: output the closest word")
    r.add_argument("--upright", action="store_true", help="read every image only as it stands (by default an image "
                   "three times as tall as wide is also read turned a quarter each way, as a line set vertically)")
    r.set_defaults(fn=cmd_predict)
    e = sub.add_parser("eval", help="score a folder with labels.tsv (real images or a rendered dataset)")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--beam", action="store_true")
    e.add_argument("--lexicon")
    e.add_argument("--limit", type=int, help="score only the first N images")
    e.add_argument("--upright", action="store_true", help="read every image only as it stands")
    e.add_argument("--worst", help="write a PNG grid of the worst-read images")
    e.add_argument("--compare", choices=["tesseract"], help="also run Tesseract (if installed) on the same images "
                   "and show its numbers beside ours")
    e.set_defaults(fn=cmd_eval)
    b = sub.add_parser("robustness", help="the same texts in every font, clean and with the training effects, "
                       "seen vs unseen fonts, and accuracy against each effect's strength")
    b.add_argument("--model", required=True)
    b.add_argument("--fonts", nargs="+", action="extend", default=[], metavar="DIR",
                   help="font folders to measure besides the bundled and the training fonts")
    b.add_argument("--count", type=int, help="texts rendered in every font (default 300)")
    b.add_argument("--sweep-count", type=int, help="samples per effect strength (default: count)")
    b.add_argument("--no-sweeps", action="store_true", help="skip the effect sweeps")
    b.add_argument("--seed", type=int, help="seed of the texts and their specs (default: one training never uses)")
    b.add_argument("--out", required=True, help="report folder: report.json, report.md, PNG charts")
    b.add_argument("--quiet", action="store_true")
    b.set_defaults(fn=cmd_robustness)
    return p


@run_cli
def main(argv: Sequence[str] | None = None) -> int:
    a = parser().parse_args(argv)
    return a.fn(a)


