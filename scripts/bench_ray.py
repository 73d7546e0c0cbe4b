"""Rendering on Ray: a local Ray instance of N CPUs against one core, and against the local process pool.

    python scripts/bench_ray.py [--count 40000] [--repeats 3] [--format lmdb|png|tfrecord] [--cpus 2]

Arms, interleaved and repeated in one run (medians of images per second, each a `synth.write` of --count
samples into a fresh folder; an instance is started before its arm's timing, as a cluster runs before its jobs):
1. one core: `synth.write(..., workers=0)`, rendering in this process;
2. the local pool: `workers=N`;
3. Ray, one CPU: a local instance of `num_cpus=1`;
4. Ray, N CPUs: `num_cpus=N`.
Target (issue 21): Ray on N=2 CPUs at least 1.7x one core. The overhead per image of Ray against the local pool
is (1/rate_ray - 1/rate_pool) in microseconds. lmdb is the default format: png on this machine's disk is bound
by creating files (docs/benchmarks.md), which would hide the rendering.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import ray

import synth
from synth import SynthConfig


def rate(out: Path, count: int, fmt: str, **kw) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    synth.write(SynthConfig(), out, count, fmt=fmt, progress=False, **kw)
    return count / (time.perf_counter() - t0)


def ray_rate(out: Path, count: int, fmt: str, cpus: int) -> float:
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        rate(out, min(count, 500 * cpus), fmt, ray="local")  # the workers started and their renderers made
        return rate(out, count, fmt, ray="local")
    finally:
        ray.shutdown()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=40000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--format", default="lmdb", choices=("lmdb", "png", "tfrecord"))
    ap.add_argument("--cpus", type=int, default=2)
    a = ap.parse_args()
    arms = {"one core": [], f"local pool, {a.cpus} workers": [], "ray, 1 CPU": [], f"ray, {a.cpus} CPUs": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        rate(out, 500, a.format, workers=0)  # fonts' coverage cache and imports, once
        for r in range(a.repeats):
            got = [rate(out, a.count, a.format, workers=0), rate(out, a.count, a.format, workers=a.cpus),
                   ray_rate(out, a.count, a.format, 1), ray_rate(out, a.count, a.format, a.cpus)]
            for arm, x in zip(arms.values(), got, strict=True):
                arm.append(x)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in arms.items()), flush=True)
    med = {k: statistics.median(v) for k, v in arms.items()}
    one, pool, ray1, rayn = med.values()
    print(f"\n{a.count} samples, --format {a.format}, medians of {a.repeats} rounds (images/s):")
    for k, v in med.items():
        print(f"  {k:<24} {v:>8,.0f}")
    print(f"ray {a.cpus} CPUs / one core: {rayn / one:.2f}x (target 1.7x)  |  ray {a.cpus} CPUs / ray 1 CPU: "
          f"{rayn / ray1:.2f}x  |  ray / local pool: {rayn / pool:.2f}x, "
          f"{1e6 * (1 / rayn - 1 / pool):+.0f} us per image")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
