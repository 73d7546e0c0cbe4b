"""Cold start, whole process: `synth render --count N` from the shell, against trdg's command line.

What a user waits for when writing a dataset once: the process starts, imports, builds its fonts and atlases
from nothing, renders and writes PNGs. Measured in one run, interleaved, repeated, as medians of wall-clock
images per second:

    python scripts/bench_cold.py [--count 6000] [--trdg-count 1000] [--repeats 3] [--format png|lmdb|tfrecord]

1. ours on one core: `taskset -c 0 synth render --count N --out DIR --quiet` (its default on one core: the one
   process renders and writes);
2. ours on every core: the same without taskset;
3. the machine's ceiling for the same job on every core: one independent process per core, each pinned to its
   core, rendering its share (`taskset -c i synth render --count N/cores --workers 0`), all started together and
   timed to the last one's end: perfect splitting with no pool, each process paying its own start;
4. trdg 1.8.0 on one core, in its own virtual environment (bench_render.py's): `taskset -c 0 trdg -c 1000 -rs
   -let -num -w 1 -f 32 -t 1 --output_dir DIR` (random strings of letters and digits, one word, 32 px, one
   thread).

Targets (issue 18): ours on one core at least 50x trdg's; ours on all cores at least 1.8x ours on one. The
ceiling says how much of the second target the machine allows, and how much of it the pool takes.
`--format lmdb` writes one database instead of a file per image: the same rendering without the cost of
creating thousands of small files, which bounds the png format on a slow disk.
The coverage cache (~/.cache/synthocr) is left warm: it is written once per font file and machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import trdg_venv  # noqa: E402


def timed(cmd: list[str], out: Path, images: int) -> float:
    """Images per second of one run of `cmd` writing into a fresh `out`."""
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    seconds = time.perf_counter() - t0
    manifest = out / "manifest.json"  # ours: in any format; trdg: a file per image
    made = (json.loads(manifest.read_text())["count"] if manifest.exists() else
            sum(1 for p in out.rglob("*") if p.suffix in (".png", ".jpg")))
    assert made == images, (cmd, made, images)
    return images / seconds


def timed_split(cmds: list[list[str]], outs: list[Path], images: int) -> float:
    """Images per second of `cmds` run together, each writing its share into a fresh folder of `outs`, timed to
    the last one's end."""
    for out in outs:
        shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for c in cmds]
    assert all(p.wait() == 0 for p in procs), cmds
    seconds = time.perf_counter() - t0
    made = sum(json.loads((out / "manifest.json").read_text())["count"] for out in outs)
    assert made == images, (cmds, made, images)
    return images / seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--trdg-count", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--format", default="png", choices=("png", "lmdb", "tfrecord"), help="ours: the dataset format")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    ap.add_argument("--trdg-venv", type=Path, default=cache / "synthocr" / "bench" / "trdg-venv")
    a = ap.parse_args()
    synth = shutil.which("synth")
    assert synth, "synth is not installed (pip install -e .)"
    trdg = trdg_venv(a.trdg_venv).parent / "trdg"
    cores = len(os.sched_getaffinity(0))
    ceiling = f"ceiling, {cores} cores"
    rates: dict[str, list[float]] = {"ours, one core": [], f"ours, {cores} cores": [], ceiling: [],
                                     "trdg, one core": []}
    shares = [a.count // cores + (i < a.count % cores) for i in range(cores)]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        timed([synth, "render", "--count", "200", "--out", str(d / "warm"), "--quiet"], d / "warm", 200)  # caches
        for r in range(a.repeats):
            ours = [synth, "render", "--count", str(a.count), "--out", str(d / "ours"), "--quiet", "--format", a.format]
            rates["ours, one core"].append(timed(["taskset", "-c", "0", *ours], d / "ours", a.count))
            rates[f"ours, {cores} cores"].append(timed(ours, d / "ours", a.count))
            split = [["taskset", "-c", str(core), synth, "render", "--count", str(n), "--seed", str(i), "--workers",
                      "0", "--out", str(d / f"part{i}"), "--quiet", "--format", a.format]
                     for i, (core, n) in enumerate(zip(sorted(os.sched_getaffinity(0)), shares, strict=True))]
            rates[ceiling].append(timed_split(split, [d / f"part{i}" for i in range(cores)], a.count))
            trdg_cmd = ["taskset", "-c", "0", str(trdg), "-c", str(a.trdg_count), "-rs", "-let", "-num", "-w", "1",
                        "-f", "32", "-t", "1", "--output_dir", str(d / "trdg")]
            rates["trdg, one core"].append(timed(trdg_cmd, d / "trdg", a.trdg_count))
            print(f"repeat {r + 1}: " + "  ".join(f"{k} {v[-1]:,.0f}/s" for k, v in rates.items()), flush=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print()
    for k, v in med.items():
        print(f"{k:<22} {v:>8,.0f} images/s  (runs: {', '.join(f'{x:,.0f}' for x in rates[k])})")
    one, many, trdg_rate = med["ours, one core"], med[f"ours, {cores} cores"], med["trdg, one core"]
    checks = [("ours(one core)/trdg(one core)", one / trdg_rate, 50.0), (f"ours({cores} cores)/ours(one core)",
                                                                        many / one, 1.8)]
    print()
    for name, value, target in checks:
        print(f"{'PASS' if value >= target else 'FAIL'}  {name} = {value:.2f} (target >= {target:g})")
    print(f"      the machine's ceiling/ours(one core) = {med[ceiling] / one:.2f}; ours({cores} cores)/ceiling = "
          f"{many / med[ceiling]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
