"""`train`: fit a recognizer on the synthetic stream; predict; evaluate; export.

User errors print one line and exit 2 (see synth.flags.run_cli).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from synth.config import SynthConfig, config_from_json
from synth.errors import SynthError
from synth.files import read_json, read_text
from synth.flags import add_config_args, apply_data_flags, check_one_start, run_cli, text_weights
from train.config import DISTRIBUTES, FEEDS, PRESET_MODELS


def _fit_config(a: argparse.Namespace):
    """The run's FitConfig: the saved run's when resuming (else the defaults), or --config (a FitConfig, or a data
    config) or --preset in its place; then the training flags and the data flags on top."""
    from train.config import FitConfig
    from train.models import model_spec

    check_one_start(a)
    saved = Path(a.out) / "config.json"
    resuming = saved.exists()
    cfg = FitConfig.load(saved) if resuming else FitConfig()  # flags given now override the saved run's
    if a.config:
        raw = read_json(a.config, "config file")
        if isinstance(raw, dict) and ("data" in raw or "train" in raw):
            cfg = FitConfig.from_dict(raw)
        else:
            cfg.data = config_from_json(SynthConfig, raw)
    elif a.preset:
        cfg.data = SynthConfig.preset(a.preset)
        if not resuming:
            cfg.train.model = PRESET_MODELS.get(a.preset, cfg.train.model)
    t = cfg.train
    for flag, field in [("model", "model"), ("steps", "steps"), ("batch", "batch_size"), ("lr", "learning_rate"),
                        ("seed", "seed"), ("eval_every", "eval_every"), ("val_count", "val_count"),
                        ("val_dir", "val_dir"), ("patience", "patience"), ("checkpoint_every", "checkpoint_every"),
                        ("workers", "workers"), ("feed", "feed"), ("holdout_fraction", "holdout_fraction"),
                        ("ray", "ray"), ("distribute", "distribute"),
                        ("max_minutes", "max_minutes"), ("ema", "ema"), ("init", "init"),
                        ("val_best", "val_best"), ("val_metric", "val_metric"),
                        ("holdout_seed", "holdout_seed")]:
        value = getattr(a, flag)
        if value is not None:
            setattr(t, field, value)
    if a.holdout_fonts:
        t.holdout_fonts = [n.strip() for n in a.holdout_fonts.split(",") if n.strip()]
        if not t.holdout_fonts:
            raise SynthError(f"--holdout-fonts {a.holdout_fonts!r} names no font; give font names (file stems), "
                             "comma-separated")
    if a.curriculum:
        t.curriculum = True
    if a.mix:
        t.mix = a.mix
    if a.val:
        t.val = a.val
    spec = model_spec(t.model)
    if not resuming and a.height is None and cfg.data.render.height == SynthConfig().render.height:
        cfg.data.render.height = spec.height  # each model's native input height unless told otherwise
    cfg.data = apply_data_flags(a, cfg.data)
    return cfg


def cmd_fit(a: argparse.Namespace) -> int:
    from train.fit import fit

    result = fit(_fit_config(a), a.out, progress=not a.quiet)
    best = result.best or {}
    print(f"trained to step {result.step}; best validation: word accuracy {best.get('word_accuracy', 0):.4f}, "
          f"CER {best.get('cer', 1):.4f} (step {best.get('step')}); model in {a.out}")
    return 0


def _lexicon(path: str | None) -> list[str] | None:
    if not path:
        return None
    return [w.strip() for w in read_text(path, "--lexicon").splitlines() if w.strip()]


def _model(path: str):
    """A model dir (train.load) or an export of one (train.runtime: no TensorFlow for onnx or litert)."""
    from train.runtime import Recognizer, is_export

    if is_export(path):
        return Recognizer.from_export(path)
    from train.recognizer import load

    return load(path)


def cmd_predict(a: argparse.Namespace) -> int:
    from train.runtime import check_views

    check_views(a.views)  # before the model and the images load
    rec = _model(a.model)
    source = a.images[0] if len(a.images) == 1 and Path(a.images[0]).is_dir() else a.images
    for path, p in rec.read(source, method="beam" if a.beam else "greedy", lexicon=_lexicon(a.lexicon),
                            turn_tall=not a.upright, views=a.views):
        print(f"{path}\t{p.text}\t{p.confidence:.4f}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from train.evaluate import METRICS, evaluate
    from train.report import eval_text, eval_worst_grid

    if a.limit is not None and a.limit < 1:
        raise SynthError(f"--limit {a.limit}: score at least 1 image (leave it out to score them all)")
    if a.worst and (Path(a.worst).suffix.lower() != ".png" or Path(a.worst).is_dir()):
        raise SynthError(f"--worst {a.worst}: name the PNG file to write, e.g. worst.png")
    rec = _model(a.model)
    result = evaluate(rec, a.data, method="beam" if a.beam else "greedy", lexicon=_lexicon(a.lexicon),
                      limit=a.limit, compare=a.compare, turn_tall=not a.upright, views=a.views)
    if a.worst:
        eval_worst_grid(result, a.data, a.worst)
    if a.json:
        out = {k: result.scores[k] for k in ("n", *METRICS)}
        out["images_per_second"] = result.images_per_second
        out["confusions"] = result.confusions
        if result.tesseract is not None:
            out["tesseract"] = result.tesseract
        print(json.dumps(out))
        return 0
    print(eval_text(result, a.data))
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from train.export import export

    print(f"wrote {export(a.model, a.format, a.out, a.quantize, a.width)}")
    return 0


def cmd_robustness(a: argparse.Namespace) -> int:
    from train import robustness
    from train.recognizer import load
    from train.report import robustness_text, write_robustness

    if a.sweep_count is not None and a.sweep_count < 1:
        raise SynthError(f"--sweep-count {a.sweep_count}: give at least 1 sample per effect strength (or --no-sweeps)")
    out = Path(a.out)
    if out.exists() and not out.is_dir():
        raise SynthError(f"--out {out} is a file; give a folder for the report")
    rec = load(a.model)
    out.mkdir(parents=True, exist_ok=True)  # before the work: a place that cannot be written fails now
    seed = robustness.SEED if a.seed is None else a.seed
    count = robustness.COUNT if a.count is None else a.count
    report = robustness.run(rec, a.fonts, count=count, seed=seed, sweep_count=a.sweep_count,
                            sweeps=not a.no_sweeps, progress=not a.quiet, model_dir=a.model,
                            sources=None if a.text is None else text_weights(a.text), views=a.views)
    print(robustness_text(report, write_robustness(report, a.out, title=a.model)))
    return 0


VIEWS_HELP = ("read each image in the first N views (as is, 1.3 times as wide, with a margin, inverted) and keep "
              "the most confident reading: N times the time (default 1)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train", description="Fit and use CTC text recognizers.")
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="train on the synthetic stream (run again with the same --out to resume)")
    f.add_argument("--out", required=True, help="model dir")
    f.add_argument("--model", help="default, wide, bigru, small, image_ocr, crnn, "
                   "or twoline (two-line crops, 64 px high)")
    f.add_argument("--steps", type=int, help="training steps (default 20000)")
    f.add_argument("--batch", type=int, help="batch size (default 16)")
    f.add_argument("--lr", type=float, help="peak learning rate (default 3e-3)")
    f.add_argument("--seed", type=int, help="training seed (validation uses another)")
    f.add_argument("--ema", type=float, help="evaluate and keep a moving average of the weights with this momentum "
                   "(e.g. 0.999; default 0: the weights as trained)")
    f.add_argument("--eval-every", type=int)
    f.add_argument("--val-count", type=int, help="rendered validation samples")
    f.add_argument("--val-dir", help="validate on a folder with labels.tsv instead")
    f.add_argument("--val", action="append", metavar="synth|NAME=DIR", help="a validation set (repeatable): the "
                   "rendered one, or a labels.tsv folder; each is logged")
    f.add_argument("--val-best", metavar="NAME", help="the validation set that keeps the best model (default: the "
                   "first)")
    f.add_argument("--val-metric", help="what ranks evaluations: word_accuracy (the default) or "
                   "word_accuracy_ci_alnum (case and punctuation aside, as scene-text sets are scored)")
    f.add_argument("--patience", type=int, help="evaluations without improvement before stopping (0: never)")
    f.add_argument("--checkpoint-every", type=int)
    f.add_argument("--max-minutes", type=float, help="stop after this many minutes (resume later to continue)")
    f.add_argument("--feed", choices=FEEDS, help="burst: render on every core while the step waits (the default "
                   "without a GPU); overlap: render beside the step (the default with a GPU)")
    f.add_argument("--workers", type=int, help="rendering processes (default: every core for a burst feed, 1 "
                   "beside an overlapped step)")
    f.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS", help="render the stream on a Ray cluster "
                   "(the ray extra): HOST:PORT of its head, 'auto', ray://HOST:PORT; alone, an instance here")
    f.add_argument("--distribute", choices=DISTRIBUTES, help="tf.distribute: mirrored (every local GPU) or "
                   "multiworker (the hosts TF_CONFIG names; start the same command on each); --batch is per replica")
    f.add_argument("--holdout-fonts", help="comma-separated font names never used in training")
    f.add_argument("--holdout-fraction", type=float, help="hold out this fraction of the fonts")
    f.add_argument("--holdout-seed", type=int)
    f.add_argument("--curriculum", action="store_true", help="short plain texts first, then the full data")
    f.add_argument("--mix", action="append", metavar="DIR:SHARE", help="mix real labelled images into every batch "
                   "at this share (a labels.tsv folder or a dataset; repeatable), e.g. runs/real:0.1")
    f.add_argument("--init", metavar="MODEL_DIR", help="start a new run from this trained model's weights "
                   "(fine-tuning); its alphabet and model must match")
    f.add_argument("--quiet", action="store_true")
    add_config_args(f)
    f.set_defaults(fn=cmd_fit)
    r = sub.add_parser("predict", help="print the text of each image, with a confidence")
    r.add_argument("--model", required=True, help="a model dir, or an export of one (train export)")
    r.add_argument("images", nargs="+", help="image files, or one folder of them")
    r.add_argument("--beam", action="store_true", help="beam search instead of greedy decoding")
    r.add_argument("--lexicon", help="word list: output the closest word")
    r.add_argument("--upright", action="store_true", help="read every image only as it stands (by default an image "
                   "three times as tall as wide is also read turned a quarter each way, as a line set vertically)")
    r.add_argument("--views", type=int, default=1, metavar="N", help=VIEWS_HELP)
    r.set_defaults(fn=cmd_predict)
    e = sub.add_parser("eval", help="score a folder with labels.tsv (real images or a rendered dataset)")
    e.add_argument("--model", required=True, help="a model dir, or an export of one (train export)")
    e.add_argument("--data", required=True)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--beam", action="store_true")
    e.add_argument("--lexicon")
    e.add_argument("--limit", type=int, help="score only the first N images")
    e.add_argument("--upright", action="store_true", help="read every image only as it stands")
    e.add_argument("--views", type=int, default=1, metavar="N", help=VIEWS_HELP)
    e.add_argument("--worst", help="write a PNG grid of the worst-read images")
    e.add_argument("--compare", choices=["tesseract"], help="also run Tesseract (if installed) on the same images "
                   "and show its numbers beside ours")
    e.set_defaults(fn=cmd_eval)
    x = sub.add_parser("export", help="the inference model as SavedModel, LiteRT or ONNX, with synthocr.json (read "
                       "it without TensorFlow: train.runtime)")
    x.add_argument("--model", required=True, help="model dir")
    x.add_argument("--format", required=True, choices=("saved_model", "litert", "onnx"))
    x.add_argument("--out", help="folder to write (must not exist; default MODEL/export/FORMAT[-QUANTIZE])")
    x.add_argument("--quantize", choices=("float16", "int8"), help="litert: float16 or int8 (calibrated on "
                   "rendered images); onnx: int8 (weights)")
    x.add_argument("--width", type=int, help="fix the input width of a variable-width model (LiteRT needs one for "
                   "a recurrent layer)")
    x.set_defaults(fn=cmd_export)
    b = sub.add_parser("robustness", help="the same texts in every font, clean and with the training effects, "
                       "seen vs unseen fonts, and accuracy against each effect's strength")
    b.add_argument("--model", required=True)
    b.add_argument("--fonts", nargs="+", action="extend", default=[], metavar="DIR",
                   help="font folders to measure besides the bundled and the training fonts")
    b.add_argument("--count", type=int, help="texts rendered in every font (default 300)")
    b.add_argument("--sweep-count", type=int, help="samples per effect strength (default: count)")
    b.add_argument("--no-sweeps", action="store_true", help="skip the effect sweeps")
    b.add_argument("--text", help="text source weights in place of the model's, e.g. words=1 for clean words")
    b.add_argument("--seed", type=int, help="seed of the texts and their specs (default: one training never uses)")
    b.add_argument("--out", required=True, help="report folder: report.json, report.md, PNG charts")
    b.add_argument("--views", type=int, default=1, metavar="N", help=VIEWS_HELP)
    b.add_argument("--quiet", action="store_true")
    b.set_defaults(fn=cmd_robustness)
    return p


@run_cli
def main(argv: Sequence[str] | None = None) -> int:
    a = parser().parse_args(argv)
    return a.fn(a)


