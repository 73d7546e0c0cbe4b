"""A fed accelerator: the training step alone (in-memory batches) against the step fed by the stream, per model.

    python scripts/bench_gpu.py [--models default,crnn] [--windows 8] [--batch 64]

For each model, in one run: (1) the compiled step over batches rendered once and held in memory, 50-step
windows after a warm-up; (2) the same step fed as train fit feeds it beside a GPU (`train.feed.Feed` over
`training_batches`, overlapped, niced render workers added while the step waits), the last window after the
feed has settled. Prints steps/s of both, the ratio (target, issue 21: the fed step at 95% or more of the
in-memory step), and the render workers the feed grew to. Made to run once on a lent GPU (`device` tool);
on a CPU it runs too (`--feed overlap` forced), but there the step and the renderers share the cores.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

import tensorflow as tf

from synth.batch import batches
from synth.pool import default_workers
from train.config import FitConfig, TrainConfig
from train.feed import STEP_KEYS, Feed, start_workers, step_inputs, training_batches
from train.models import build_model
from train.step import make_train_step

WINDOW = 50


def model_and_step(cfg: FitConfig):
    import keras

    from synth.alphabet import Alphabet

    rc = cfg.data.render
    model = build_model(cfg.train.model, Alphabet(cfg.data.alphabet).size, rc.height, rc.width)
    return make_train_step(model, keras.optimizers.Adam(1e-3))


def windows(step, inputs, n: int, feed: Feed | None = None) -> list[float]:
    """Steps per second of each of `n` windows of WINDOW steps; a feed's window is closed after each."""
    rates = []
    for _ in range(n):
        t0 = time.perf_counter()
        for _ in range(WINDOW):
            loss, _ = step(*next(inputs))
        float(loss)  # the last step done
        seconds = time.perf_counter() - t0
        rates.append(WINDOW / seconds)
        if feed is not None:
            feed.window(seconds)
    return rates


def measure(name: str, batch: int, n: int) -> dict:
    cfg = FitConfig(train=TrainConfig(model=name, batch_size=batch, feed="overlap"))
    held = [tuple(tf.constant(b[k]) for k in STEP_KEYS) for b in batches(cfg.data, batch_size=batch, count=8 * batch,
                                                                         workers=0)]
    step = model_and_step(cfg)
    memory = windows(step, itertools.cycle(held), n)

    def open_at(at: int, workers: int):
        return step_inputs(training_batches(cfg, cfg.data, at, burst=False, workers=workers), ahead=True)

    step = model_and_step(cfg)
    feed = Feed(open_at, 0, start_workers(cfg.train, burst=False), grow=True)
    try:
        fed = windows(step, feed, n, feed)
    finally:
        feed.close()
    return {"memory": statistics.median(memory[1:]), "fed": fed[-1], "workers": feed.workers}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="default,crnn")
    ap.add_argument("--windows", type=int, default=8, help="50-step windows per arm (the first is the warm-up)")
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    gpus = tf.config.list_physical_devices("GPU")
    device = ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)
    print(f"device: {device or 'CPU only'}; {os.cpu_count()} cores ({default_workers()} usable); batch {a.batch}")
    for name in a.models.split(","):
        r = measure(name, a.batch, a.windows)
        print(f"{name:>8}: in memory {r['memory']:7.1f} steps/s, fed {r['fed']:7.1f} steps/s, ratio "
              f"{r['fed'] / r['memory']:.3f} (target 0.95), {r['workers']} render workers", flush=True)


if __name__ == "__main__":
    main()
