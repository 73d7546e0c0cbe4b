"""Rendering benchmark: images/s per core at 128x32, against the raw Pillow ceiling and trdg, plus the stream.

Everything is measured in ONE run on the same machine, interleaved (ours, ceiling, trdg, stream; repeated),
and reported as medians and ratios, because the machines this runs on are shared and noisy.

    python scripts/bench_render.py [--n 3000] [--repeats 3] [--skip-trdg] [--stream-samples N]

Measured:
1. ours: `synth.Renderer(SynthConfig())` (default effects), `render(seed, i)` in a loop. "cold" is a fresh
   renderer (empty glyph atlases); "warm" is the same renderer rendering the same indices again (atlases
   filled): the steady state of a long stream, and the figure the targets use.
2. ceiling: Pillow drawing the same strings in the same fonts and pixel sizes with no effects:
   `ImageFont.truetype(path, size)` cached per (font, size), `ImageDraw.text` onto a fresh 'L' image of the
   output size, nothing else (measured warm: the font cache is filled by a pass before timing). The default
   layout engine (raqm where Pillow has it) is the target's ceiling; Pillow's basic layout is shown too.
3. trdg 1.8.0 in its own virtual environment (made here on first use), as a subprocess: its
   GeneratorFromStrings on the same (string, font) pairs at height 32, see TRDG_KWARGS.
4. the tf.data stream `synth.streaming.stream(SynthConfig(), batch_size=64, workers=2)` on all cores, and a
   long run of it (--stream-samples) that reads the resident memory of the main process and its workers.

The single-process measurements (1-3) run pinned to one CPU (sched_setaffinity, inherited by the trdg
subprocess), so that no library's thread pool can borrow the other core: they are per-core figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TRDG_VERSION = "1.8.0"
#: trdg's own requirement leaves Pillow open, but 1.8.0 calls APIs that Pillow 10 removed (getsize...)
TRDG_REQUIREMENTS = [f"trdg=={TRDG_VERSION}", "pillow>=9.1,<10"]

#: trdg's options, chosen to be comparable to our default effects and, where in doubt, kind to trdg:
#: - size 32 and width 128: the same output size (a fixed width is cheaper than trdg's text-fitted default);
#: - a small random skew (+-3 degrees: our p_rotate range) and a random gaussian blur (radius up to 1);
#: - its default background, gaussian noise (our default effects add paper, gradients, textures and noise);
#: - distorsion off: its sine/random warps are extra work with no counterpart of ours (we shear and warp
#:   perspective instead, inside one homography), so leaving them off only flatters trdg;
#: - grey output ("L"), like ours.
TRDG_KWARGS = {
    "language": "en",
    "size": 32,
    "skewing_angle": 3,
    "random_skew": True,
    "blur": 1,
    "random_blur": True,
    "background_type": 0,
    "distorsion_type": 0,
    "width": 128,
    "alignment": 1,
    "image_mode": "L",
}

#: run inside trdg's virtual environment: python CHILD job.json -> one JSON line on stdout
TRDG_CHILD = r"""
import contextlib, io, json, random, sys, time
job = json.load(open(sys.argv[1]))
with contextlib.redirect_stdout(io.StringIO()):  # trdg prints a notice about handwriting on import
    from trdg.generators import GeneratorFromStrings

def run(strings, fonts):
    made = 0
    gen = GeneratorFromStrings(strings, count=len(strings), fonts=fonts, **job["kwargs"])
    for img, _label in gen:
        made += img is not None
        if img is not None and made == 1:
            shape = (img.size[1], img.size[0], img.mode)
    return made, shape

random.seed(0)
with contextlib.redirect_stdout(io.StringIO()):  # and about skipped low-contrast images
    w = job["warmup"]
    run(job["strings"][:w], job["fonts"][:w])
    t0, c0 = time.perf_counter(), time.process_time()
    made, shape = run(job["strings"], job["fonts"])
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
import PIL
print(json.dumps({"images": len(job["strings"]), "made": made, "seconds": dt, "cpu_seconds": cpu,
                  "shape": shape, "pillow": PIL.__version__}))
"""


# ----------------------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def one_core() -> Iterator[int]:
    """Pin this process (and what it starts meanwhile) to one CPU; restore the affinity after."""
    if not hasattr(os, "sched_setaffinity"):
        yield -1
        return
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, before)


def timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of fn(*args)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - t0, time.process_time() - c0


def machine() -> dict:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)), "cpu": model,
            "python": platform.python_version()}


def vmrss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, short role) of the direct children of `pid`, read from /proc (no psutil needed)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            if ppid != pid:
                continue
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        role = "resource_tracker" if "resource_tracker" in cmd else "worker" if "multiprocessing" in cmd else "other"
        out.append((int(d.name), role))
    return sorted(out)


def memory_snapshot() -> dict:
    me = os.getpid()
    kids = [(pid, role, vmrss_kib(pid)) for pid, role in children(me)]
    workers = [rss for _pid, role, rss in kids if role == "worker" and rss is not None]
    return {"main_mib": (vmrss_kib(me) or 0) / 1024, "workers_mib": [w / 1024 for w in workers],
            "children_total_mib": sum(rss or 0 for *_x, rss in kids) / 1024}


# ----------------------------------------------------------------------------------------------- measurements


def ours(renderer, seed: int, n: int) -> None:
    render = renderer.render
    for i in range(n):
        render(seed, i)


def ceiling(jobs: list[tuple[str, str, int]], size: tuple[int, int], layout, cache: dict) -> None:
    from PIL import Image, ImageDraw, ImageFont

    for text, path, px in jobs:
        key = (path, px)
        font = cache.get(key)
        if font is None:
            font = cache[key] = ImageFont.truetype(path, px, layout_engine=layout)
        img = Image.new("L", size, 0)
        ImageDraw.Draw(img).text((0, 0), text, fill=255, font=font)


def trdg_venv(root: Path) -> Path:
    """The python of trdg's own virtual environment, made (once) with `python -m venv` and pip."""
    py = root / "bin" / "python"
    stamp = root / ".synthocr-ready"
    want = " ".join(TRDG_REQUIREMENTS)
    if py.exists() and stamp.exists() and stamp.read_text() == want:
        return py
    print(f"[trdg] making {root} and installing {want} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *TRDG_REQUIREMENTS],
                   check=True)
    stamp.write_text(want)
    return py


def run_trdg(py: Path, strings: list[str], fonts: list[str], warmup: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"strings": strings, "fonts": fonts, "warmup": warmup, "kwargs": TRDG_KWARGS}))
        child = Path(tmp) / "child.py"
        child.write_text(TRDG_CHILD)
        res = subprocess.run([str(py), str(child), str(job)], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"trdg run failed (exit {res.returncode}):\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def stream_run(config, samples: int, warm_batches: int, batch_size: int, workers: int,
               memory_every: int = 0) -> dict:
    """Time `samples` images of the stream after `warm_batches` batches (pool start-up, first atlases).

    With memory_every > 0, read the memory of this process and its workers every that many batches.
    """
    from synth.streaming import stream

    total = (warm_batches + -(-samples // batch_size)) * batch_size
    ds = stream(config, seed=0, batch_size=batch_size, count=total, workers=workers)
    t_start = time.perf_counter()
    memory: list[dict] = []
    seen = 0
    t0 = startup = 0.0
    for k, b in enumerate(ds):
        if k == warm_batches:  # the clock starts once the warm-up batches are out
            t0 = time.perf_counter()
            startup = t0 - t_start
            if memory_every:
                memory.append({"images": k * batch_size, **memory_snapshot()})
        if k >= warm_batches:
            seen += int(b["image"].shape[0])
            if memory_every and (k - warm_batches + 1) % memory_every == 0:
                memory.append({"images": (k + 1) * batch_size, **memory_snapshot()})
                m = memory[-1]
                print(f"    {m['images']:>9,} images  {seen / (time.perf_counter() - t0):7.0f}/s  main "
                      f"{m['main_mib']:.0f} MiB  workers {[round(w) for w in m['workers_mib']]} MiB", flush=True)
    dt = time.perf_counter() - t0
    if memory_every:
        memory.append({"images": total, **memory_snapshot()})
    return {"images": seen, "seconds": dt, "rate": seen / dt, "startup_seconds": startup, "memory": memory}


# ----------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000, help="images per measurement of ours and the ceiling")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-trdg", action="store_true")
    ap.add_argument("--trdg-n", type=int, default=400, help="images per trdg measurement (it is ~100x slower)")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    ap.add_argument("--trdg-venv", type=Path, default=cache / "synthocr" / "bench" / "trdg-venv")
    ap.add_argument("--stream-n", type=int, default=12800, help="images per interleaved stream measurement")
    ap.add_argument("--stream-samples", type=int, default=200_000,
                    help="images of the long stream run that watches memory (0: skip it)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write every measurement here")
    args = ap.parse_args(argv)

    from PIL import ImageFont

    from synth import Renderer, SynthConfig

    config = SynthConfig()
    rc = config.render
    assert rc.height == 32 and rc.width == 128, "the benchmark is defined at 128x32"
    size = (rc.width, rc.height)
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['usable_cpus']} usable), {info['cpu']}, Python {info['python']}")

    probe = Renderer(config)
    specs = [probe.sample_spec(args.seed, i) for i in range(args.n)]
    paths = [probe.fonts.get(s.font).path for s in specs]
    jobs = [(s.text, p, s.size) for s, p in zip(specs, paths, strict=True)]
    img, _ = probe.render(args.seed, 0)
    assert img.shape == (rc.height, rc.width), img.shape
    lens = [len(s.text) for s in specs]
    print(f"{args.n} samples of seed {args.seed}: {len(set(s.font for s in specs))} fonts, sizes "
          f"{min(s.size for s in specs)}-{max(s.size for s in specs)} px, text length mean "
          f"{statistics.mean(lens):.1f} (max {max(lens)})")
    del probe

    trdg_py = None
    if not args.skip_trdg:
        trdg_py = trdg_venv(args.trdg_venv)
        tn = min(args.trdg_n, args.n)

    runs: dict[str, list[dict]] = {}

    def record(name: str, images: int, wall: float, cpu: float | None) -> None:
        runs.setdefault(name, []).append({"images": images, "seconds": wall, "cpu_seconds": cpu,
                                          "rate": images / wall})

    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}", flush=True)
        with one_core() as cpu:
            renderer = Renderer(config)  # fresh glyph atlases: the cold pass
            record("ours_cold", args.n, *timed(ours, renderer, args.seed, args.n))
            record("ours_warm", args.n, *timed(ours, renderer, args.seed, args.n))
            del renderer
            for name, layout in (("ceiling", ImageFont.Layout.RAQM if _raqm() else ImageFont.Layout.BASIC),
                                 ("ceiling_basic", ImageFont.Layout.BASIC)):
                cache: dict = {}
                ceiling(jobs, size, layout, cache)  # fill the font cache
                record(name, args.n, *timed(ceiling, jobs, size, layout, cache))
            if trdg_py is not None:
                t = run_trdg(trdg_py, [s.text for s in specs[:tn]], paths[:tn], warmup=min(20, tn))
                record("trdg", t["images"], t["seconds"], t["cpu_seconds"])
                runs["trdg"][-1].update(made=t["made"], shape=t["shape"], pillow=t["pillow"])
        line = "  ".join(f"{k} {v[-1]['rate']:,.0f}/s" for k, v in runs.items())
        print(f"  [cpu {cpu}] {line}", flush=True)
        if args.stream_n > 0:
            s = stream_run(config, args.stream_n, warm_batches=4, batch_size=64, workers=args.workers)
            runs.setdefault("stream", []).append(s)
            print(f"  stream {s['rate']:,.0f}/s (start-up {s['startup_seconds']:.1f} s)", flush=True)

    long_run = None
    if args.stream_samples > 0:
        print(f"long stream run: {args.stream_samples:,} images, memory every ~10%", flush=True)
        every = max(1, args.stream_samples // 64 // 10)
        long_run = stream_run(config, args.stream_samples, warm_batches=4, batch_size=64, workers=args.workers,
                              memory_every=every)

    med = {k: statistics.median(x["rate"] for x in v) for k, v in runs.items()}
    labels = {
        "ours_cold": "ours, cold (fresh glyph atlases)",
        "ours_warm": "ours, warm (atlases filled)",
        "ceiling": f"ceiling: Pillow draw only ({'raqm' if _raqm() else 'basic'} layout)",
        "ceiling_basic": "ceiling: Pillow draw only (basic layout)",
        "trdg": f"trdg {TRDG_VERSION}",
        "stream": f"stream, batch 64, {args.workers} workers (all cores)",
    }
    print()
    print(f"{'':44} {'median img/s':>13}  runs")
    for k, v in runs.items():
        per_cpu = ""
        if all(x.get("cpu_seconds") for x in v):
            per_cpu = f"  ({statistics.median(x['images'] / x['cpu_seconds'] for x in v):,.0f}/CPU-s)"
        rates = ", ".join(f"{x['rate']:,.0f}" for x in v)
        print(f"{labels[k]:44} {med[k]:>13,.0f}  {rates}{per_cpu}")
    if long_run:
        print(f"{'stream, long run':44} {long_run['rate']:>13,.0f}  {long_run['images']:,} images")

    checks: list[tuple[str, float, float]] = []
    print()
    if "trdg" in med:
        checks.append(("ours(warm)/trdg", med["ours_warm"] / med["trdg"], 50.0))
        print(f"ours/trdg:    warm {med['ours_warm'] / med['trdg']:.1f}x   cold {med['ours_cold'] / med['trdg']:.1f}x")
    checks.append(("ours(warm)/ceiling", med["ours_warm"] / med["ceiling"], 0.40))
    print(f"ours/ceiling: warm {med['ours_warm'] / med['ceiling']:.2f}   cold {med['ours_cold'] / med['ceiling']:.2f}"
          f"   (against the basic-layout ceiling: warm {med['ours_warm'] / med['ceiling_basic']:.2f})")
    if "stream" in med:
        checks.append(("stream/ours(warm, 1 core)", med["stream"] / med["ours_warm"], 1.7))
        extra = f"   long run: {long_run['rate'] / med['ours_warm']:.2f}x" if long_run else ""
        print(f"stream/ours(1 core): {med['stream'] / med['ours_warm']:.2f}x{extra}")
    if long_run and long_run["memory"]:
        mem = long_run["memory"]
        first, tenth, last = mem[0], mem[min(1, len(mem) - 1)], mem[-1]
        print(f"memory (RSS, MiB) at {first['images']:,} / {tenth['images']:,} / {last['images']:,} images: "
              f"main {first['main_mib']:.0f} / {tenth['main_mib']:.0f} / {last['main_mib']:.0f}; workers "
              f"{_fmt(first['workers_mib'])} / {_fmt(tenth['workers_mib'])} / {_fmt(last['workers_mib'])}")
    print()
    for name, value, target in checks:
        print(f"{'PASS' if value >= target else 'FAIL'}  {name} = {value:.2f} (target >= {target:g})")

    if args.json:
        args.json.write_text(json.dumps({"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                                         "trdg_kwargs": TRDG_KWARGS, "runs": runs, "median": med,
                                         "long_stream": long_run,
                                         "checks": [{"name": n, "value": v, "target": t} for n, v, t in checks]},
                                        indent=1))
    return 0


def _raqm() -> bool:
    from PIL import features

    return bool(features.check("raqm"))


def _fmt(ws: list[float]) -> str:
    return "[" + ", ".join(f"{w:.0f}" for w in ws) + "]"


if __name__ == "__main__":
    sys.exit(main())
