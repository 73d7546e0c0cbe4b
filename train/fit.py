"""Fitting a recognizer on the endless synthetic stream, with evaluation, checkpoints and resumption.

The stream is indexed: training step s consumes samples s*B .. s*B+B-1 of the training seed, so a resumed
run continues exactly where the killed one stopped, and no dataset is ever stored.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from synth.alphabet import Alphabet
from synth.batch import batches, default_workers
from synth.config import EffectsConfig, SynthConfig
from synth.errors import SynthError
from synth.fonts import FontLibrary
from synth.streaming import numpy_batches, stream
from synth.version import __version__
from train import checkpoint, ctc, metrics
from train.config import FEEDS, VAL_SEED_OFFSET, FitConfig, TrainConfig
from train.models import build_model, output_steps
from train.prefetch import prefetch
from train.recognizer import MODEL_FILE, Recognizer
from train.schedule import Progress, WarmupCosine

LOG_EVERY = 50


def resolve_holdout(cfg: FitConfig) -> tuple[list[str], list[str]]:
    """(training fonts, held-out fonts) by name; a fraction is drawn reproducibly from `holdout_seed`."""
    fonts_cfg = copy.deepcopy(cfg.data.fonts)
    fonts_cfg.exclude = []
    names = [f.name for f in FontLibrary(fonts_cfg, cfg.data.alphabet).fonts]
    t = cfg.train
    unknown = [n for n in t.holdout_fonts if n not in names]
    if unknown:
        raise SynthError(f"--holdout-fonts names unknown font(s) {unknown}; known: {names}")
    held = set(t.holdout_fonts) | set(cfg.data.fonts.exclude)
    if t.holdout_fraction > 0:
        rest = sorted(n for n in names if n not in held)
        k = round(t.holdout_fraction * len(names))
        held |= set(np.random.default_rng(t.holdout_seed).choice(rest, size=min(k, len(rest)), replace=False))
    train_fonts = [n for n in names if n not in held]
    if not train_fonts:
        raise SynthError("every font is held out: hold out fewer fonts so that training has some")
    return train_fonts, sorted(held)


def curriculum(cfg: FitConfig, data: SynthConfig) -> list[tuple[int, SynthConfig]]:
    """(end step, data config) phases: short plain texts for the first quarter, then the full data."""
    if not cfg.train.curriculum:
        return [(cfg.train.steps, data)]
    easy = copy.deepcopy(data)
    easy.effects = EffectsConfig.off()
    easy.text.max_len = max(easy.text.min_len, min(easy.text.max_len, 6))
    return [(cfg.train.steps // 4, easy), (cfg.train.steps, data)]


def feed_mode(t: TrainConfig) -> str:
    """"burst" or "overlap": what `auto` means here is whether TensorFlow sees a GPU to run the step on."""
    if t.feed not in FEEDS:
        raise SynthError(f"--feed {t.feed!r} is not a feed; choose one of {', '.join(FEEDS)}")
    if t.feed != "auto":
        return t.feed
    return "overlap" if tf.config.list_physical_devices("GPU") else "burst"


def training_batches(cfg: FitConfig, data: SynthConfig, start_step: int, burst: bool) -> Iterator[dict[str, Any]]:
    """The stream's batches as numpy arrays, uint8 images that the step makes float: tf.data's threads beside the
    step cost it more than the rendering (paired rounds on 2 cores: 17% of in-memory speed through
    `synth.stream`, 5.9% this way beside the step, 4.5% in bursts; docs/benchmarks.md)."""
    t = cfg.train
    workers = t.workers if t.workers is not None else default_workers() if burst else 1
    step = start_step
    for end, phase in curriculum(cfg, data):
        if step >= end:
            continue
        # niced workers: beside the step, it keeps the cores and rendering fills its threads' waits (in one
        # interleaved measurement the stream cost 24% of in-memory speed at priority 0 and 16% at 19)
        for batch in batches(phase, seed=t.seed, batch_size=t.batch_size, start=step * t.batch_size,
                             count=(end - step) * t.batch_size, workers=workers, nice=19, burst=burst):
            yield batch
            step += 1


#: what the training step takes of a batch, in its argument order
STEP_KEYS = ("image", "label", "label_length", "width")


def step_inputs(batches: Iterator[dict[str, Any]], ahead: bool = True) -> Iterator[tuple[tf.Tensor, ...]]:
    """The step's arguments as tensors: fetched and converted on a thread while the previous step runs (`ahead`),
    or when the step asks, for a burst feed, whose workers must not be set rendering beside the step."""
    if ahead:
        return prefetch(batches, _tensors)
    return _converted(batches)


def _tensors(batch: dict[str, Any]) -> tuple[tf.Tensor, ...]:
    return tuple(tf.constant(batch[k]) for k in STEP_KEYS)


def _converted(batches: Iterator[dict[str, Any]]) -> Iterator[tuple[tf.Tensor, ...]]:
    with closing(batches):  # closing this closes the feed, and so its workers
        for b in batches:
            yield _tensors(b)


def feasible(labels: tf.Tensor, label_length: tf.Tensor, logit_length: tf.Tensor) -> tf.Tensor:
    """Whether each label fits its output steps (length plus repeated neighbours), as a float mask."""
    mask = tf.sequence_mask(label_length, tf.shape(labels)[1])
    repeats = tf.reduce_sum(tf.cast((labels[:, 1:] == labels[:, :-1]) & mask[:, 1:], tf.int32), axis=1)
    return tf.cast(label_length + repeats <= logit_length, tf.float32)


def make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer):
    """One compiled step: (images, labels, label_length, widths) -> (mean loss, samples skipped). Images are
    float (B, H, W, 1) in [0, 1], or uint8 (B, H, W).

    A label too long for its output steps would give an infinite loss; it is dropped from the batch (and
    counted) instead, so one odd sample cannot end a run.
    """

    @tf.function(reduce_retracing=True)
    def train_step(images: tf.Tensor, labels: tf.Tensor, label_length: tf.Tensor, widths: tf.Tensor):
        if images.dtype == tf.uint8:  # (B, H, W) as `synth.batch.batches` gives them
            images = tf.cast(images, tf.float32)[..., None] * (1.0 / 255.0)
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            logit_length = tf.minimum(output_steps(model, widths), tf.shape(logits)[1])
            ok = feasible(labels, label_length, logit_length)
            losses = ctc.ctc_loss(labels * tf.cast(ok, tf.int32)[:, None], label_length, logits, logit_length)
            loss = tf.reduce_sum(losses * ok) / tf.maximum(tf.reduce_sum(ok), 1.0)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss, tf.reduce_sum(1.0 - ok)

    return train_step


def validation_data(data: SynthConfig) -> SynthConfig:
    """The data config validation renders: fonts drawn evenly, as `fonts.weights` shifts what training sees,
    not what the model is scored on."""
    return dataclasses.replace(data, fonts=dataclasses.replace(data.fonts, weights={}))


class Validator:
    """A fixed validation set held in memory (rendered from a seed training never uses, or real images)."""

    def __init__(self, cfg: FitConfig, data: SynthConfig, model: keras.Model, alphabet: Alphabet):
        t = cfg.train
        if t.val_dir:
            from synth.dataset import read

            ds = read(t.val_dir, data.render.height, data.render.width, alphabet, batch_size=64, encode="keep")
        else:
            ds = stream(validation_data(data), seed=t.seed + VAL_SEED_OFFSET, batch_size=64, count=t.val_count,
                        workers=t.workers)
        self.batches = [(b["image"], b["width"], b["text"]) for b in numpy_batches(ds)]
        self.recognizer = Recognizer(model, alphabet, data.render.height, data.render.width)

    def evaluate(self) -> dict[str, float]:
        refs, hyps = [], []
        for images, widths, texts in self.batches:
            hyps += [p.text for p in self.recognizer.decode(*self.recognizer.logits(images, widths))]
            refs += texts
        return metrics.score(refs, hyps)


@contextmanager
def averaged_weights(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> Iterator[None]:
    """The model holds the optimizer's moving average of its weights inside the block (where the optimizer
    keeps one), and its own again after."""
    if not optimizer.use_ema:
        yield
        return
    raw = [v.numpy() for v in model.trainable_variables]
    optimizer.finalize_variable_values(model.trainable_variables)
    try:
        yield
    finally:
        for v, value in zip(model.trainable_variables, raw, strict=True):
            v.assign(value)


def _better(new: dict[str, float], best: dict[str, float] | None) -> bool:
    return best is None or (new["word_accuracy"], -new["cer"]) > (best["word_accuracy"], -best["cer"])


def _save_inference(model: keras.Model, out: Path) -> None:
    tmp = out / f".tmp-{os.getpid()}-{MODEL_FILE}"
    model.save(tmp)
    os.replace(tmp, out / MODEL_FILE)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


#: fields a resumed run may change: they steer the run, not what the model learns from
OPERATIONAL = ("steps", "feed", "workers", "eval_every", "checkpoint_every", "patience", "max_minutes")


def prepare_dir(cfg: FitConfig, out: Path) -> FitConfig:
    """Start a model dir, or check that a resumed run learns from what it started with."""
    saved_path = out / "config.json"
    if saved_path.exists():
        mine, theirs = cfg.to_dict(), FitConfig.load(saved_path).to_dict()
        for k in OPERATIONAL:
            mine["train"].pop(k)
            theirs["train"].pop(k)
        if mine != theirs:
            raise SynthError(f"{out} holds a run with another config ({_diff(theirs, mine)}); resume with the "
                             "same flags (or none: the saved config is the default), or use a new --out folder")
        cfg.save(saved_path)
        return cfg
    if out.exists() and any(p for p in out.iterdir() if not p.name.startswith(".")):
        raise SynthError(f"{out} is not empty and holds no training run; choose a new --out folder")
    out.mkdir(parents=True, exist_ok=True)
    cfg.save(saved_path)
    return cfg


def _layers(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def _check_same_model(out: Path, model: keras.Model) -> None:
    """A run started under an older definition of its model name cannot go on with this one's: its weights
    would not fit, or (a layer without weights added) would silently meet another computation."""
    meta = out / "meta.json"
    if not meta.exists():
        return
    saved = json.loads(meta.read_text(encoding="utf-8"))
    params, layers = saved.get("parameters"), saved.get("layers")  # older model dirs lack "layers"
    if params not in (None, model.count_params()) or layers not in (None, _layers(model)):
        raise SynthError(f"{out} holds a {saved['model']!r} model of {params:,} parameters and {len(layers or [])} "
                         f"layers, started by synthocr {saved.get('version', '?')}; this version's {model.name!r} "
                         f"has {model.count_params():,} and {len(model.layers)}: resume with that version, or use "
                         "a new --out folder")


def _diff(a: dict, b: dict, prefix: str = "") -> str:
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k), b.get(k)
        if isinstance(x, dict) and isinstance(y, dict):
            d = _diff(x, y, f"{prefix}{k}.")
            if d:
                return d
        elif x != y:
            return f"{prefix}{k}: {x!r} then, {y!r} now"
    return ""


def fit(cfg: FitConfig, out: str | Path, progress: bool = True) -> dict[str, Any]:
    """Train into `out` until `steps`, early stopping, or a kill (then run it again to resume)."""
    out = Path(out)
    t = cfg.train
    # everything a config can get wrong is checked before the dir is written: a refused config must not be
    # saved, or running again with the flags fixed would be refused as "another config"
    train_fonts, held = resolve_holdout(cfg)
    burst = feed_mode(t) == "burst"
    if not 0.0 <= t.ema < 1.0:
        raise SynthError(f"--ema {t.ema}: the average's momentum must be in [0, 1) (0.999 is usual; 0 turns it off)")
    data = copy.deepcopy(cfg.data)
    data.fonts.exclude = held
    alphabet = Alphabet(data.alphabet)
    rc = data.render
    keras.utils.set_random_seed(t.seed)  # before the model is built: its initial weights draw from it
    model = build_model(t.model, alphabet.size, rc.height, rc.width)
    if rc.width is not None:
        ctc.check_output_steps(max(p.text.max_len for _, p in curriculum(cfg, data)), output_steps(model, rc.width))
    cfg = prepare_dir(cfg, out)
    _check_same_model(out, model)
    schedule = WarmupCosine(t.learning_rate, t.warmup_steps, t.steps, t.final_lr_fraction)
    optimizer = keras.optimizers.Adam(schedule, clipnorm=t.clipnorm, use_ema=t.ema > 0,
                                      ema_momentum=t.ema or 0.99)
    state = checkpoint.restore(out / "checkpoints", model, optimizer) or {"step": 0, "best": None, "bad_evals": 0}
    step = state["step"]
    decay = Progress(schedule, step, 60 * t.max_minutes, state.get("progress", 0.0))
    fonts_lib = FontLibrary(data.fonts, data.alphabet)
    meta = {
        "version": __version__, "model": t.model, "height": rc.height, "width": rc.width,
        "output_steps": output_steps(model, rc.width) if rc.width else None,
        "parameters": model.count_params(), "layers": _layers(model), "train_fonts": fonts_lib.manifest(),
        "holdout_fonts": held,
    }
    alphabet.save(out / "alphabet.json")
    _write_json(out / "meta.json", {**meta, "step": step, "best": state["best"]})

    train_step = make_train_step(model, optimizer)
    validator = Validator(cfg, data, model, alphabet)
    writer = tf.summary.create_file_writer(str(out / "logs"))
    history = open(out / "history.jsonl", "a", encoding="utf-8")
    from tqdm import tqdm

    bar = tqdm(total=t.steps, initial=step, unit="step", disable=not progress, desc="fit", smoothing=0.05)
    losses: list[float] = []
    skipped = 0.0
    started, start_step = time.perf_counter(), step
    stopped_early = False
    #: seconds the last evaluation took: a timed run keeps them in hand for its final one
    reserve = 0.0
    with ExitStack() as stack:  # unwound in reverse: the feed (its thread and render workers) first
        for close in (writer.close, history.close, bar.close):
            stack.callback(close)
        feed = stack.enter_context(closing(step_inputs(training_batches(cfg, data, step, burst), ahead=not burst)))
        for inputs in feed:
            state["progress"] = decay.update(step, time.perf_counter() - started + reserve)
            loss, n_bad = train_step(*inputs)
            step += 1
            losses.append(float(loss))
            skipped += float(n_bad)
            bar.update(1)
            if not math.isfinite(losses[-1]):
                raise SynthError(f"the loss became {losses[-1]} at step {step}; lower --lr and resume")
            if step % LOG_EVERY == 0 or step == t.steps:
                mean = float(np.mean(losses[-LOG_EVERY:]))
                bar.set_postfix(loss=f"{mean:.3f}")
                rate = (step - start_step) * t.batch_size / (time.perf_counter() - started)
                with writer.as_default(step=step):
                    tf.summary.scalar("loss", mean)
                    tf.summary.scalar("learning_rate", float(schedule(step)))
                    tf.summary.scalar("samples_per_second", rate)
                history.write(json.dumps({"step": step, "loss": mean, "samples_per_second": rate,
                                          "skipped": skipped}) + "\n")
                history.flush()
            time_up = bool(t.max_minutes) and time.perf_counter() - started + reserve > 60 * t.max_minutes
            if step % t.eval_every == 0 or step == t.steps or time_up:
                t_eval = time.perf_counter()
                with averaged_weights(model, optimizer):
                    scores = validator.evaluate()
                    better = _better(scores, state["best"])
                    if better:
                        _save_inference(model, out)
                reserve = time.perf_counter() - t_eval
                with writer.as_default(step=step):
                    for k in ("cer", "word_accuracy", "ned"):
                        tf.summary.scalar(f"val/{k}", scores[k])
                elapsed = time.perf_counter() - started
                history.write(json.dumps({"step": step, "val": scores, "seconds": elapsed}) + "\n")
                history.flush()
                bar.write(f"step {step}: val cer {scores['cer']:.4f} word accuracy {scores['word_accuracy']:.4f}")
                if better:
                    state["best"] = {**scores, "step": step}
                    state["bad_evals"] = 0
                else:
                    state["bad_evals"] += 1
                if t.patience and state["bad_evals"] >= t.patience:
                    stopped_early = True
            stopped_early = stopped_early or time_up
            if step % t.checkpoint_every == 0 or step == t.steps or stopped_early:
                state["step"] = step
                checkpoint.save(out / "checkpoints", model, optimizer, state)
                _write_json(out / "meta.json", {**meta, "step": step, "best": state["best"]})
            if stopped_early:
                bar.write(f"stopping at step {step}: no improvement in {t.patience} evaluations or time is up")
                break
    if not (out / MODEL_FILE).exists():
        with averaged_weights(model, optimizer):
            _save_inference(model, out)
    return {"step": step, "best": state["best"], "stopped_early": stopped_early}
