"""The training loop: steps on the endless stream, with logs, evaluations, checkpoints and resumption.

The stream is indexed: training step s consumes samples s*B .. s*B+B-1 of the training seed, so a resumed
run continues exactly where the killed one stopped, and no dataset is ever stored.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from synth.quiet import tensorflow

tf = tensorflow()  # before Keras, which imports it: quietly

import keras
import numpy as np

from synth.alphabet import Alphabet
from synth.errors import SynthError
from synth.files import writing
from synth.fonts import library
from synth.version import __version__
from train import checkpoint, ctc, distribute, mix
from train.config import FitConfig
from train.data import curriculum, resolve_holdout
from train.feed import Feed, feed_mode, start_workers, step_inputs, training_batches
from train.modeldir import ModelDir, layer_names, what_it_learns
from train.models import build_model, output_steps
from train.schedule import DecayClock, WarmupCosine
from train.step import averaged_weights, make_train_step
from train.validate import Validator, named_sets

LOG_EVERY = 50


@dataclass
class FitResult:
    """How a call of `fit` ended: the last step, the best validation scores (with their step), and whether it
    stopped before `steps` (no improvement, or time up)."""

    step: int
    best: dict[str, Any] | None
    stopped_early: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit(cfg: FitConfig, out: str | Path, progress: bool = True) -> FitResult:
    """Train into `out` until `steps`, early stopping, or a kill (then run it again to resume). `progress` draws a
    progress bar."""
    t = cfg.train
    # everything a config can get wrong is checked before the dir is written: a refused config must not be
    # saved, or running again with the flags fixed would be refused as "another config"
    cfg.validate()
    reps = distribute.replicas(t.distribute)  # first: MultiWorkerMirroredStrategy must precede TensorFlow's work
    if Path(out).exists() and not Path(out).is_dir():
        raise SynthError(f"--out {out} is a file; give a folder (new, or the run's to resume it)")
    _, held = resolve_holdout(cfg)
    named_sets(t)
    if t.ray is not None:
        from synth import cluster

        cluster.check(t.ray)
    burst = feed_mode(t) == "burst"
    if not 0.0 <= t.ema < 1.0:
        raise SynthError(f"--ema {t.ema}: the average's momentum must be in [0, 1) (0.999 is usual; 0 turns it off)")
    data = copy.deepcopy(cfg.data)
    data.fonts.exclude = held
    alphabet = Alphabet(data.alphabet)
    rc = data.render
    keras.utils.set_random_seed(t.seed)  # before the model is built: its initial weights draw from it
    with reps.scope():
        model = build_model(t.model, alphabet.size, rc.height, rc.width)
    max_len = max(p.text.label_len for _, p in curriculum(cfg, data))
    if rc.width is not None:
        ctc.check_output_steps(max_len, output_steps(model, rc.width))
    real = [mix.load(item, alphabet, rc.height, rc.width, max_len) for item in t.mix]
    if sum(r.ratio for r in real) >= 1.0:
        raise SynthError(f"--mix shares add up to {sum(r.ratio for r in real):g}; leave the stream some of each batch")
    start = initial_weights(t.init, model, alphabet) if t.init and reps.chief else None
    try:  # a worker gone (or failing) while the others wait in a collective: one clear error on each
        with ExitStack() as place:
            if reps.chief:  # one run per model dir at a time
                place.enter_context(writing(Path(out), "train fit"))
                run_dir = ModelDir(out)
            else:  # the chief keeps the run; another worker's logs go where they do no harm
                run_dir = ModelDir(place.enter_context(tempfile.TemporaryDirectory(prefix="synthocr-worker-")))
            # reads the real sets: a bad one is refused here
            validator = Validator(cfg, data, model, alphabet) if reps.chief else None
            cfg = run_dir.prepare(cfg)
            run_dir.check_model(model)
            schedule = WarmupCosine(t.learning_rate, t.warmup_steps, t.steps, t.final_lr_fraction)
            with reps.scope():
                optimizer = keras.optimizers.Adam(schedule, clipnorm=t.clipnorm, use_ema=t.ema > 0,
                                                  ema_momentum=t.ema or 0.99)
                optimizer.build(model.trainable_variables)
            state = checkpoint.restore(run_dir.checkpoints, model, optimizer)
            if state is None:
                state = {"step": 0, "best": None, "bad_evals": 0}
                if start is not None:  # a new run from a trained model's weights; a resumed one has its own
                    model.set_weights(start)
            _start_together(reps, cfg, model, optimizer, state)
            meta = {
                "version": __version__, "model": t.model, "height": rc.height, "width": rc.width,
                "output_steps": output_steps(model, rc.width) if rc.width else None,
                "parameters": model.count_params(), "layers": layer_names(model),
                "train_fonts": library(data.fonts, data.alphabet).manifest(), "holdout_fonts": held,
                "replicas": reps.total,
            }
            alphabet.save(run_dir.path / "alphabet.json")
            loop = _Loop(cfg, run_dir, model, optimizer, schedule, state, meta, reps)
            loop.write_meta()
            with ExitStack() as stack:  # unwound in reverse: the feed (its thread and render workers) first
                loop.open(stack, progress and reps.chief)

                def open_at(step: int, workers: int) -> Iterator[tuple[tf.Tensor, ...]]:
                    stream = training_batches(cfg, data, step, burst, reps, workers)
                    if real:
                        stream = mix.mixed(stream, real, alphabet, t.seed, step, reps.local * t.batch_size, reps.shard,
                                           reps.local)
                    return step_inputs(stream, ahead=not burst)

                # beside a GPU's step, render workers are added while it waits on them (unless the user set them)
                grow = not burst and t.workers is None and t.ray is None
                feed = stack.enter_context(closing(Feed(open_at, loop.step, start_workers(t, burst), grow)))
                loop.run(feed, make_train_step(model, optimizer, reps), validator)
            if reps.chief and not run_dir.model_file.exists():
                with averaged_weights(model, optimizer):
                    run_dir.save_model(model)
            return FitResult(loop.step, state["best"], loop.stopped_early)
    except tf.errors.OpError as e:
        lost = distribute.peer_lost(e) if reps.workers > 1 else None
        if lost is None:
            raise
        raise lost from None


def _start_together(reps: distribute.Replicas, cfg: FitConfig, model: keras.Model,
                    optimizer: keras.optimizers.Optimizer, state: dict[str, Any]) -> None:
    """Every worker from the chief's weights, optimizer and place in the run (its checkpoint, or its start), once
    they are known to train the same config."""
    if reps.chief and state.get("replicas", reps.total) != reps.total:
        print(f"note: this run was trained on {state['replicas']} replicas and goes on with {reps.total}: each step "
              f"now takes {reps.total} x --batch samples, from the stream position its step number gives",
              file=sys.stderr)
    state["replicas"] = reps.total
    if reps.workers == 1:
        return
    mine = int(hashlib.sha256(json.dumps(what_it_learns(cfg), sort_keys=True).encode()).hexdigest()[:15], 16)
    (chiefs,) = reps.from_chief([tf.constant(mine, tf.int64)])
    if reps.agree(int(chiefs) != mine):  # every worker stops, not only the one that differs
        raise SynthError("the workers were started with different configs (flags or --config); start every worker "
                         "with the same command, only TF_CONFIG differing")
    reps.sync_variables(model.weights + optimizer.variables)
    decay = state.get("decay", state.get("progress", 0.0))
    step, decay = reps.from_chief([tf.constant(state["step"], tf.float64), tf.constant(decay, tf.float64)])
    state.update(step=int(step), decay=float(decay))


def initial_weights(init: str, model: keras.Model, alphabet: Alphabet) -> list[np.ndarray]:
    """The weights of the trained model dir `init`, checked to fit `model` and `alphabet` (the same characters in
    the same order: each is an output of the model)."""
    from train.recognizer import load

    src = load(init)
    if src.alphabet != alphabet:
        raise SynthError(f"--init {init}: its alphabet ({len(src.alphabet.chars)} characters) is not this run's "
                         f"({len(alphabet.chars)}); fine-tune with the same --alphabet, in the same order")
    if layer_names(src.model) != layer_names(model) or src.model.count_params() != model.count_params():
        raise SynthError(f"--init {init}: its model ({src.meta.get('model', '?')}, {src.model.count_params():,} "
                         f"parameters) is not this run's {model.name!r} ({model.count_params():,}); pass its --model "
                         "and input size")
    return src.model.get_weights()


class _Loop:
    """The state of one call of `fit` between its steps: the step, the decay's clock, the loss log, the best
    scores, and where it writes them."""

    def __init__(self, cfg: FitConfig, run_dir: ModelDir, model: keras.Model,
                 optimizer: keras.optimizers.Optimizer, schedule: WarmupCosine, state: dict[str, Any],
                 meta: dict[str, Any], reps: distribute.Replicas):
        self.t, self.run_dir, self.model, self.optimizer, self.reps = cfg.train, run_dir, model, optimizer, reps
        self.schedule, self.state, self.meta = schedule, state, meta
        self.step = self.start_step = state["step"]
        # the decay's position is saved as "decay" ("progress" in checkpoints of version 0.3)
        self.clock = DecayClock(schedule, self.step, 60 * self.t.max_minutes,
                                state.get("decay", state.pop("progress", 0.0)))
        self.losses: list[float] = []
        #: the chief's training time as the workers last agreed it, and at which step (`training_time`)
        self.synced, self.synced_at = 0.0, -1
        self.skipped = 0.0
        self.stopped_early = False
        #: seconds the last evaluation took: a timed run keeps them in hand for its final one
        self.reserve = 0.0

    def open(self, stack: ExitStack, progress: bool) -> None:
        from tqdm import tqdm

        self.writer = tf.summary.create_file_writer(str(self.run_dir.logs))
        self.history = self.run_dir.open_history(self.step)
        self.bar = tqdm(total=self.t.steps, initial=self.step, unit="step", disable=not progress, desc="fit",
                        smoothing=0.05)
        for close in (self.writer.close, self.history.close, self.bar.close):
            stack.callback(close)

    def write_meta(self) -> None:
        self.run_dir.write_meta({**self.meta, "step": self.step, "best": self.state["best"]})

    def record(self, row: dict[str, Any]) -> None:
        self.history.write(json.dumps(row) + "\n")
        self.history.flush()

    def run(self, feed: Feed, train_step: Any, validator: Validator | None) -> None:
        t = self.t
        self.feed = feed
        self.started = self.window_started = time.perf_counter()
        self.window_paused = 0.0
        for inputs in feed:
            self.state["decay"] = self.clock.update(self.step, self.training_time())
            loss, n_bad = train_step(*inputs)
            self.step += 1
            self.losses.append(float(loss))
            self.skipped += float(n_bad)
            self.bar.update(1)
            if not math.isfinite(self.losses[-1]):
                raise SynthError(f"the loss became {self.losses[-1]} at step {self.step}; lower --lr and resume")
            if self.step % LOG_EVERY == 0 or self.step == t.steps:
                self.log()
            time_up = bool(t.max_minutes) and self.training_time() > 60 * t.max_minutes
            paused = time.perf_counter()  # evaluations and checkpoints: not in the feed's window
            if self.step % t.eval_every == 0 or self.step == t.steps or time_up:
                self.evaluate(validator)
            self.stopped_early = self.stopped_early or time_up
            if self.reps.chief and (self.step % t.checkpoint_every == 0 or self.step == t.steps or self.stopped_early):
                self.state["step"] = self.step
                checkpoint.save(self.run_dir.checkpoints, self.model, self.optimizer, self.state)
                self.write_meta()
            self.window_paused += time.perf_counter() - paused
            if self.stopped_early:
                self.bar.write(f"stopping at step {self.step}: no improvement in {t.patience} evaluations or time "
                               "is up")
                break
        if self.step < t.steps and not self.stopped_early:  # its render workers stopped (a Ctrl-C reached them)
            raise SynthError(f"the stream ended at step {self.step}, before step {t.steps}; run the same command "
                             "again to resume")

    def training_time(self) -> float:
        """Seconds of training for the decay's clock and --max-minutes: this process's, or with several workers
        the chief's as it was at the last log step, since every worker must step with the same learning rate and
        stop at the same step."""
        if self.reps.workers == 1 or not self.t.max_minutes:
            return self.elapsed()
        if self.step % LOG_EVERY == 0 and self.step != self.synced_at:
            (seconds,) = self.reps.from_chief([tf.constant(self.elapsed(), tf.float64)])
            self.synced, self.synced_at = float(seconds), self.step
        return self.synced

    def elapsed(self) -> float:
        """Seconds of this call's training, with the last evaluation's time held in reserve for the final one."""
        return time.perf_counter() - self.started + self.reserve

    def log(self) -> None:
        mean = float(np.mean(self.losses[-LOG_EVERY:]))
        self.bar.set_postfix(loss=f"{mean:.3f}")
        now = time.perf_counter()
        rate = (self.step - self.start_step) * self.t.batch_size * self.reps.total / (now - self.started)
        waited, note = self.feed.window(now - self.window_started - self.window_paused, self.step < self.t.steps)
        self.window_started, self.window_paused = now, 0.0
        if note:
            self.bar.write(f"step {self.step}: {note}")
        with self.writer.as_default(step=self.step):
            tf.summary.scalar("loss", mean)
            tf.summary.scalar("learning_rate", float(self.schedule(self.step)))
            tf.summary.scalar("samples_per_second", rate)
            tf.summary.scalar("data_wait", waited)
        self.record({"step": self.step, "loss": mean, "samples_per_second": rate, "skipped": self.skipped,
                     "data_wait": waited, "render_workers": self.feed.workers})

    def evaluate(self, validator: Validator | None) -> None:
        """Score the validation sets, keep the model if it improved, and stop when patience is out (the chief;
        every worker takes its decision to stop)."""
        if validator is not None:
            self._evaluate(validator)
        self.stopped_early = self.reps.agree(self.stopped_early)

    def _evaluate(self, validator: Validator) -> None:
        t_eval = time.perf_counter()
        with averaged_weights(self.model, self.optimizer):
            every = validator.evaluate()
            scores = every[validator.best]
            improved = validator.better(scores, self.state["best"])
            if improved:
                self.run_dir.save_model(self.model)
        self.reserve = time.perf_counter() - t_eval
        with self.writer.as_default(step=self.step):
            for name, sc in every.items():
                for k in ("cer", "word_accuracy", "ned", "word_accuracy_ci_alnum"):
                    tf.summary.scalar(f"val/{k}" if name == validator.best else f"val_{name}/{k}", sc[k])
        row = {"step": self.step, "val": scores, "seconds": time.perf_counter() - self.started}
        if len(every) > 1:
            row["val_sets"] = every
        self.record(row)
        self.bar.write(f"step {self.step}: " + "; ".join(
            f"{name} cer {sc['cer']:.4f} word accuracy {sc['word_accuracy']:.4f}" for name, sc in every.items()))
        if improved:
            self.state["best"] = {**scores, "step": self.step}
            self.state["bad_evals"] = 0
        else:
            self.state["bad_evals"] += 1
        if self.t.patience and self.state["bad_evals"] >= self.t.patience:
            self.stopped_early = True
