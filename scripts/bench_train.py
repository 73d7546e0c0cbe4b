"""Training benchmarks on this machine, side by side in one run.

1. Stream cost: the same model and step fed by the synthetic stream (`synth.batches` rendered in bursts on every
   core, as train fit feeds it without a GPU) vs by in-memory batches (interleaved rounds in alternating order,
   each stream round against the memory round beside it; the median must be under 5%); the overlapped feed
   (fit's with a GPU) and the tf.data `synth.stream` are measured beside them.
2. Time to accuracy: wall minutes until validation word accuracy >= 90% on words rendered in the shipped
   fonts, per model, each within a time budget (`max_minutes`, so the learning rate's cosine ends with it;
   steps = 1.25 x budget x the model's fastest measured steps/s, so that time, not steps, ends the run).
   The kept (best) model is then read on 2,000 fresh words, outside the budget, as a check on the 500 that
   chose it.
3. Inference images/s at batch 1 and batch 64.

    python scripts/bench_train.py [--models default,small] [--minutes 15] [--seed 0] [--skip-tta]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf
from bench_render import machine

import synth
from synth.batch import FEED_MESSAGE_BYTES, message_size
from synth.config import SynthConfig
from synth.pool import WINDOW, default_workers
from train.config import VAL_SEED_OFFSET, FitConfig, TrainConfig
from train.data import validation_data
from train.feed import STEP_KEYS, step_inputs
from train.fit import fit
from train.models import build_model, model_spec
from train.recognizer import load
from train.step import make_train_step


def words_config(height: int, width: int) -> SynthConfig:
    cfg = SynthConfig()
    cfg.text.sources = {"words": 1.0}
    cfg.render.height, cfg.render.width = height, width
    return cfg


def drain_batches(cfg: SynthConfig, batch: int, workers: int) -> int:
    """Batches taken untimed before each stream round: twice what a stream holds after waiting through another
    round (its workers' windows of 3 messages each; about 3 more in tf.data's generator, parallel map and
    prefetch). Taken into the round, they made the stream look cheaper than it is: the workers had rendered
    them in the other round's time."""
    return 2 * (WINDOW * workers + 3) * message_size(cfg, batch) // batch


#: long enough for the workers to fill their windows after a stream round
REFILL_SECONDS = 1.0
#: samples each render worker draws before the timed rounds: its glyph atlases fill over about the first
#: 20,000 (a sample then costs ~220 us of CPU, ~125 us after), a start-up that a 15-minute run (~400,000
#: samples) spreads thin but that would otherwise fall on the first rounds here
WARM_SAMPLES = 20_000


def stream_cost(model_name: str, batch: int, steps: int, rounds: int, compare: bool = False) -> dict:
    """Samples/s of one compiled step fed from memory (uint8 tensors) and from the stream as `train fit` feeds it
    without a GPU (a burst feed on every core), in paired rounds; cost = 1 - stream / memory. `compare` adds
    the overlapped feed (one niced worker rendering beside the step, read ahead on a thread: fit's feed with a
    GPU) and the tf.data `synth.stream`."""
    spec = model_spec(model_name)
    cfg = words_config(spec.height, spec.width)
    alphabet = synth.Alphabet(cfg.alphabet)
    model = build_model(model_name, alphabet.size, spec.height, spec.width)
    step_fn = make_train_step(model, keras.optimizers.Adam(1e-4))
    memory = [tuple(tf.constant(b[k]) for k in STEP_KEYS)
              for b in synth.batches(cfg, seed=1, batch_size=batch, count=batch * 8, workers=1)]
    cores = default_workers()
    # whole bursts to a round: a round of 1.4 bursts would pay for one or for two by its phase, and its median
    # would read the cheaper rounds
    burst = WINDOW * cores * message_size(cfg, batch, FEED_MESSAGE_BYTES) // batch
    steps = -(-steps // burst) * burst
    feeds = {"memory": itertools.cycle(memory),  # as train.fit feeds its step:
             "stream": step_inputs(synth.batches(cfg, seed=2, batch_size=batch, workers=cores, nice=19, burst=True),
                                   ahead=False)}
    workers = {"stream": cores}
    if compare:
        feeds["overlap"] = step_inputs(synth.batches(cfg, seed=3, batch_size=batch, workers=1, nice=19))
        feeds["tf.data"] = (tuple(b[k] for k in STEP_KEYS)
                            for b in synth.stream(cfg, seed=4, batch_size=batch, workers=cores, nice=19))
        workers.update({"overlap": 1, "tf.data": cores})
    for mode, feed in feeds.items():
        for _ in range(3):  # traces, and the workers' start-up, are not training time
            step_fn(*next(feed))
        if compare and mode != "memory":
            for _ in range(WARM_SAMPLES * workers[mode] // batch):
                next(feed)
    rates: dict[str, list[float]] = {k: [] for k in feeds}
    for r in range(rounds):
        # forwards, then backwards: a drift in the machine's speed (tens of percent over a minute) falls on both
        # sides of the pairs alike
        for mode in list(feeds) if r % 2 == 0 else list(feeds)[::-1]:
            feed = feeds[mode]
            if mode != "memory":  # what the stream's buffers took in while it waited would come for free
                for _ in range(drain_batches(cfg, batch, workers[mode])):
                    next(feed)
            t0 = time.perf_counter()
            for _ in range(steps):
                loss, _ = step_fn(*next(feed))
            float(loss)
            rates[mode].append(steps * batch / (time.perf_counter() - t0))
            if mode != "memory":  # the workers refill their windows now, not in the next round's time
                time.sleep(REFILL_SECONDS)
    out = {"model": model_name, "rounds": rates, "memory_samples_per_s": statistics.median(rates["memory"]),
           "steps_per_round": steps}
    for mode in feeds:
        if mode == "memory":
            continue
        # each round's stream against the memory run beside it: the machine's speed drifts by tens of percent
        # over a minute, far more than the cost measured, so only neighbours are compared
        paired = sorted(1 - s / m for m, s in zip(rates["memory"], rates[mode], strict=True))
        out[mode] = {"samples_per_s": statistics.median(rates[mode]), "cost": statistics.median(paired),
                     "interval_90": median_interval(paired), "paired_costs": paired}
    return out


def median_interval(xs: list[float], draws: int = 2000) -> tuple[float, float]:
    """A 90% bootstrap interval of the median: how far the verdict could move on another run."""
    rng = random.Random(0)
    meds = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(draws))
    return meds[int(0.05 * draws)], meds[int(0.95 * draws) - 1]


def steps_in(model_name: str, minutes: float, batch: int) -> int:
    """A quarter more steps than fit in the budget at the rate measured here (the fastest of three rounds), so
    that the budget ends the run and the decay follows the clock (planned at 0.95x, steps ran out of time
    first and the run stopped part-way down the cosine)."""
    rate = max(stream_cost(model_name, batch, steps=30, rounds=3)["rounds"]["stream"]) / batch
    return int(1.25 * minutes * 60 * rate)


#: far from any training seed (small) and its validation seed (that plus VAL_SEED_OFFSET)
FRESH_SEED = 3 * VAL_SEED_OFFSET


def fresh_accuracy(model_dir: Path, count: int) -> float:
    """Greedy word accuracy of the kept model on `count` words from a seed neither training nor validation
    used: the 500 validation words read within the budget pick the model, so they flatter it a little, and
    one standard error on them is 1.4 points near 90%."""
    rec = load(model_dir)
    renderer = synth.Renderer(validation_data(rec.config.data))  # fonts drawn evenly, as validation does
    samples = [renderer.render(FRESH_SEED, i) for i in range(count)]
    preds = rec.predict([img for img, _ in samples], batch_size=64)
    return sum(p.text == spec.text for p, (_, spec) in zip(preds, samples, strict=True)) / count


def time_to_accuracy(model_name: str, minutes: float, target: float, work: Path, batch: int, seed: int,
                     font_weights: dict[str, float], ema: float) -> dict:
    spec = model_spec(model_name)
    steps = steps_in(model_name, minutes, batch)
    # evaluated every 8,000 samples: 250 steps at batch 32, 500 at 16
    train = TrainConfig(model=model_name, steps=steps, batch_size=batch, eval_every=8000 // batch, val_count=500,
                        patience=0, checkpoint_every=10**6, max_minutes=minutes, seed=seed, ema=ema)
    cfg = FitConfig(data=words_config(spec.height, spec.width), train=train)
    cfg.data.fonts.weights = font_weights
    out = work / model_name
    t0 = time.perf_counter()
    result = fit(cfg, out, progress=False)
    total = time.perf_counter() - t0
    evals = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    evals = [e for e in evals if "val" in e]
    hit = next((e for e in evals if e["val"]["word_accuracy"] >= target), None)
    best = max((e["val"]["word_accuracy"] for e in evals), default=0.0)
    return {"model": model_name, "planned_steps": steps, "minutes_to_target": hit["seconds"] / 60 if hit else None,
            "best_word_accuracy": best, "steps": result.step, "minutes_run": total / 60,
            "curve": [(round(e["seconds"] / 60, 2), e["val"]["word_accuracy"], e["val"]["cer"]) for e in evals],
            "model_dir": str(out), "fresh_2000_word_accuracy": fresh_accuracy(out, 2000)}


def inference(model_dir: Path) -> dict:
    rec = load(model_dir)
    cfg = rec.config.data if rec.config else SynthConfig()
    r = synth.Renderer(cfg)
    images = [r.render(9, i)[0] for i in range(256)]
    rec.predict(images[:64])
    rec.predict(images[:1])
    t0 = time.perf_counter()
    for im in images[:64]:
        rec.predict([im])
    b1 = 64 / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    rec.predict(images, batch_size=64)
    b64 = len(images) / (time.perf_counter() - t0)
    return {"batch_1_images_per_s": b1, "batch_64_images_per_s": b64}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="default,small,image_ocr,crnn")
    p.add_argument("--minutes", type=float, default=15.0, help="time budget per model for time-to-accuracy")
    p.add_argument("--target", type=float, default=0.9)
    p.add_argument("--batch", type=int, default=TrainConfig().batch_size)
    p.add_argument("--cost-steps", type=int, default=100, help="steps per round, rounded up to whole bursts")
    p.add_argument("--rounds", type=int, default=21,
                   help="paired rounds; round to round the costs spread over about 20 points on this machine")
    p.add_argument("--seed", type=int, default=0, help="training seed: weights, data order, validation words")
    p.add_argument("--font-weights", help="JSON file of training font weights (fonts.weights); validation stays even")
    p.add_argument("--ema", type=float, default=TrainConfig().ema, help="weight average's momentum (train fit --ema)")
    p.add_argument("--skip-tta", action="store_true")
    p.add_argument("--work", help="folder for the trained models (default: a temp dir)")
    a = p.parse_args()
    models = a.models.split(",")
    tf.get_logger().setLevel("ERROR")
    work = Path(a.work or tempfile.mkdtemp(prefix="bench_train_"))
    m = machine()
    print(f"machine: {m['usable_cpus']} usable CPUs, {m['cpu']}; Python {m['python']}, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("== stream cost (samples/s, median of interleaved rounds)")
    for m in models[:1]:
        c = stream_cost(m, a.batch, a.cost_steps, a.rounds, compare=True)
        print(f"{m}: in-memory {c['memory_samples_per_s']:.1f} samples/s (median); "
              f"{c['steps_per_round']} steps a round")
        for mode, what in (("stream", "synth.batches in bursts, train fit's feed without a GPU"),
                           ("overlap", "synth.batches beside the step, fit's feed with a GPU"),
                           ("tf.data", "synth.stream")):
            r = c[mode]
            verdict = f"  [{'PASS' if r['cost'] < 0.05 else 'FAIL'} target < 5%]" if mode == "stream" else ""
            spread = ", ".join(f"{100 * x:.1f}" for x in r["paired_costs"])
            print(f"  {what}: {r['samples_per_s']:.1f}; cost, median of {a.rounds} paired rounds: "
                  f"{100 * r['cost']:.1f}%{verdict} (90% interval {100 * r['interval_90'][0]:.1f} to "
                  f"{100 * r['interval_90'][1]:.1f}) (rounds, sorted: {spread})")
    if a.skip_tta:
        return
    print(f"== time to {a.target:.0%} validation word accuracy (budget {a.minutes} min each)")
    results = []
    weights = json.loads(Path(a.font_weights).read_text()) if a.font_weights else {}
    for m in models:
        r = time_to_accuracy(m, a.minutes, a.target, work, a.batch, a.seed, weights, a.ema)
        results.append(r)
        when = f"{r['minutes_to_target']:.1f} min" if r["minutes_to_target"] is not None else "not reached"
        print(f"{m}: {when}; best {r['best_word_accuracy']:.3f} after {r['steps']} of {r['planned_steps']} steps "
              f"({r['minutes_run']:.1f} min); kept model on 2,000 fresh words: {r['fresh_2000_word_accuracy']:.3f}; "
              f"curve (min, acc, cer): {r['curve']}", flush=True)
    default = next((r for r in results if r["model"] == "default"), None)
    if default:
        ok = default["minutes_to_target"] is not None and default["minutes_to_target"] < 15
        print(f"default model under 15 minutes: {'PASS' if ok else 'FAIL'}")
        print("== inference", inference(Path(default["model_dir"])))
    (work / "results.json").write_text(json.dumps(results, indent=1))
    print(f"results in {work / 'results.json'}")


if __name__ == "__main__":
    main()
