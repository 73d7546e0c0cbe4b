"""Rendering benchmark: images/s per core at 128x32, against the raw Pillow ceiling and trdg, plus the stream.

Everything is measured in ONE run on the same machine, interleaved (ours, ceiling, trdg, stream; repeated),
and reported as medians and ratios, because the machines this runs on are shared and noisy.

    python scripts/bench_render.py [--n 3000] [--repeats 3] [--skip-trdg] [--stream-samples N] [--scripts a,b]

Measured:
1. ours: `synth.Renderer(SynthConfig())` (default effects), `render(seed, i)` in a loop. "cold" is a fresh
   renderer (empty glyph atlases); "warm" is the same renderer rendering the same indices again (atlases
   filled, and the few thousand glyphs those samples use hot in the CPU's caches): the figure the per-core
   targets use. "steady" is one renderer in the state of one stream worker: it renders every `workers`-th
   index as a worker does, first as many as each worker renders in the stream's warm-up, then fresh indices
   for each measurement. It runs ~10% slower than warm (4,057 against 4,550 img/CPU-s measured after 64,000
   samples; glyph misses are under 2% of its time by then), and it is what the stream's target compares
   with: the stream's workers render fresh indices too.
2. ceiling: Pillow drawing the same strings in the same fonts and pixel sizes with no effects:
   `ImageFont.truetype(path, size)` cached per (font, size), `ImageDraw.text` onto a fresh 'L' image of the
   output size, nothing else (measured warm: the font cache is filled by a pass before timing). The default
   layout engine (raqm where Pillow has it) is the target's ceiling; Pillow's basic layout is shown too.
3. trdg 1.8.0 in its own virtual environment (made here on first use), as a subprocess: its
   GeneratorFromStrings on the same (string, font) pairs at height 32, see TRDG_KWARGS.
4. the tf.data stream `synth.streaming.stream(SynthConfig(), batch_size=64, workers=2)` on all cores, and a
   long run of it (--stream-samples) that reads the resident memory of the main process and its workers.
5. shaped lines of the named scripts (`--scripts`, Arabic and Devanagari by default): our clean drawing (every
   effect off, variable width) of random strings of the script's alphabet, 10-30 characters, in its bundled
   Noto font, against Pillow drawing the same strings at the same sizes with its raqm layout (HarfBuzz and
   FriBiDi), warm, per CPU-second.

"Per core" is measured as images per CPU-second of our own processes (CPU time read from the kernel),
because on a shared machine the wall clock mostly measures the neighbours: while another job holds a core,
a single-threaded loop gets a fraction of one. Wall-clock rates are printed beside them, with the cores the
other processes used meanwhile (from /proc/stat), so a reader can tell a quiet run from a crowded one. The
stream's target compares wall clocks (all cores against one); it is also projected for an idle machine
from the stream's images per CPU-second. This process runs OpenCV on one thread (cv2.setNumThreads(1)): its
default pool spins on the second core for these tiny images, doubling CPU time for no wall-clock gain.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRDG_VERSION = "1.8.0"
#: trdg's own requirement leaves Pillow open, but 1.8.0 calls APIs that Pillow 10 removed (getsize...)
TRDG_REQUIREMENTS = [f"trdg=={TRDG_VERSION}", "pillow>=9.1,<10"]

#: trdg's options, chosen to be comparable to our default effects and, where in doubt, kind to trdg:
#: - size 32 and width 128: the same output size (a fixed width is cheaper than trdg's text-fitted default);
#: - a small random skew (+-3 degrees: our effects.rotate range) and a random gaussian blur (radius up to 1);
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


CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (user, system, irq, steal...: all but idle and iowait)."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return float("nan")
    return (sum(f) - f[3] - f[4]) / CLK


def own_cpu_s() -> float:
    """CPU seconds of this process, its reaped children and its live children (the stream's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    live = 0
    for pid, _role in children(os.getpid()):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            f = stat[stat.rindex(")") + 2 :].split()
            live += int(f[11]) + int(f[12])
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + live / CLK


class Meter:
    """Wall time, this process tree's CPU time and everybody else's CPU use (in cores) over an interval."""

    def __init__(self) -> None:
        self.t, self.own, self.machine = time.perf_counter(), own_cpu_s(), machine_cpu_s()

    def stop(self) -> dict:
        wall = time.perf_counter() - self.t
        own = own_cpu_s() - self.own
        return {"seconds": wall, "own_cpu_seconds": own, "others_cores": (machine_cpu_s() - self.machine - own) / wall}


def timed(fn, *args) -> dict:
    """Meter fn(*args); cpu_seconds is this process's CPU time alone (time.process_time)."""
    m, c0 = Meter(), time.process_time()
    fn(*args)
    c = time.process_time() - c0
    return {**m.stop(), "cpu_seconds": c}


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


def ours(renderer, seed: int, n: int, start: int = 0, stride: int = 1) -> None:
    render = renderer.render
    for i in range(start, start + n * stride, stride):
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


def script_jobs(name: str, seed: int, n: int) -> tuple:
    """A named script's lines (random strings of its alphabet, 10-30 characters, variable width, every effect
    off) as specs for us and as (text, font path, size) jobs for Pillow at the largest output size."""
    from synth import EffectsConfig, Renderer, SynthConfig
    from synth.alphabet import named_alphabet

    cfg = SynthConfig(alphabet=named_alphabet(name), effects=EffectsConfig.off())
    cfg.fonts.scripts, cfg.fonts.bundled = [name], False
    cfg.text.sources, cfg.text.min_len, cfg.text.max_len = {"random": 1.0}, 10, 30
    cfg.render.width, cfg.render.max_width = None, 512
    renderer = Renderer(cfg)
    specs = [renderer.sample_spec(seed, i) for i in range(n)]
    jobs = [(s.text, renderer.fonts.get(s.font).path, s.size) for s in specs]
    return renderer, specs, jobs, (cfg.render.max_width, cfg.render.height)


def draw_specs(renderer, specs) -> None:
    render = renderer.render_spec
    for s in specs:
        render(s)


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


class Stream:
    """One long-lived `synth.streaming.stream` (infinite, like a training run's), consumed in measured slices.

    Its pool stays up between slices, so each slice after the first measures warm workers; while nobody
    consumes it, its workers fill their small window of tasks and then sleep.
    """

    def __init__(self, config, batch_size: int, workers: int):
        from synth.batch import message_size
        from synth.streaming import stream

        # twice what an idle stream can hold: 3 messages per worker in flight, and about 3 more in tf.data's
        # generator, parallel map and prefetch (taking only 64 batches, a run with 12 batches to a message
        # metered some of them, and one slice read 47,000 img/s)
        self.skip = 2 * (3 * workers + 3) * message_size(config, batch_size) // batch_size
        t0 = time.perf_counter()
        self.it = iter(stream(config, seed=0, batch_size=batch_size, workers=workers))
        self.consumed = int(next(self.it)["image"].shape[0])
        self.startup_seconds = time.perf_counter() - t0
        self.memory = [{"images": self.consumed, **memory_snapshot()}]

    def take(self, samples: int, memory_every: int = 0, quiet: bool = True) -> dict:
        """Meter the next `samples` images (whole batches); read memory every `memory_every` batches.

        The first `self.skip` batches are consumed unmetered: while the stream sat idle its buffers filled, and
        those batches would come for free.
        """
        for _ in range(self.skip):
            self.consumed += int(next(self.it)["image"].shape[0])
        meter, seen, k = Meter(), 0, 0
        marks = []
        while seen < samples:
            seen += int(next(self.it)["image"].shape[0])
            k += 1
            if memory_every and (k % memory_every == 0 or seen >= samples):
                self.memory.append({"images": self.consumed + seen, **memory_snapshot()})
                marks.append((seen, time.perf_counter(), own_cpu_s(), machine_cpu_s()))
                m = self.memory[-1]
                if not quiet:
                    print(f"    {m['images']:>9,} images  {seen / (time.perf_counter() - meter.t):6.0f}/s  main "
                          f"{m['main_mib']:.0f} MiB  workers {_fmt(m['workers_mib'])} MiB", flush=True)
        res = meter.stop()
        self.consumed += seen
        out = {"images": seen, **res, "rate": seen / res["seconds"], "cpu_rate": seen / res["own_cpu_seconds"]}
        if len(marks) >= 3:  # the second half alone: workers' glyph atlases are fuller by then
            a, b = marks[len(marks) // 2 - 1], marks[-1]
            n, wall, own = b[0] - a[0], b[1] - a[1], b[2] - a[2]
            out["second_half"] = {"images": n, "seconds": wall, "rate": n / wall, "cpu_rate": n / own,
                                  "others_cores": (b[3] - a[3] - own) / wall}
        time.sleep(2.0)  # let the workers finish their window and go idle before the next measurement
        return out


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds of each thread of this process, by Python thread name where it has one."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for t in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (t / "stat").read_text()
            f = stat[stat.rindex(")") + 2 :].split()
            name = names.get(int(t.name)) or f"native:{(t / 'comm').read_text().strip()}"
            out[name] = out.get(name, 0.0) + (int(f[11]) + int(f[12])) / CLK
    return out


# ----------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000, help="images per measurement of ours and the ceiling")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-trdg", action="store_true")
    ap.add_argument("--trdg-n", type=int, default=400, help="images per trdg measurement (it is ~50x slower)")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    ap.add_argument("--trdg-venv", type=Path, default=cache / "synthocr" / "bench" / "trdg-venv")
    ap.add_argument("--stream-n", type=int, default=12800,
                    help="images per interleaved stream measurement (0: skip the stream)")
    ap.add_argument("--stream-warmup", type=int, default=128_000,
                    help="images the stream renders before it is measured: each worker's glyph atlases fill from "
                         "its own samples, and one renderer on fresh indices reaches its steady rate after ~50,000")
    ap.add_argument("--stream-samples", type=int, default=200_000,
                    help="images of the long stream run that watches memory (0: skip it)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write every measurement here")
    ap.add_argument("--scripts", default="arabic,devanagari",
                    help="named script alphabets whose shaped lines are timed against Pillow's raqm drawing of the "
                         "same strings ('' for none)")
    args = ap.parse_args(argv)

    import cv2
    from PIL import ImageFont

    from synth import Renderer, SynthConfig

    # OpenCV's thread pool spins a second thread on the other core for these tiny images: it buys no wall-clock
    # speed here (3,930 vs 3,960/s measured) but up to doubles the CPU time, which would make "per core" count
    # two. The stream's workers are fresh processes and keep OpenCV's default.
    cv2_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)

    config = SynthConfig()
    rc = config.render
    assert rc.height == 32 and rc.width == 128, "the benchmark is defined at 128x32"
    size = (rc.width, rc.height)
    info = machine()
    info["cv2_threads_default"] = cv2_threads
    print(f"machine: {info['nproc']} CPUs ({info['usable_cpus']} usable), {info['cpu']}, Python {info['python']}, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    probe = Renderer(config)
    specs = [probe.sample_spec(args.seed, i) for i in range(args.n)]
    paths = [probe.fonts.get(s.font).path for s in specs]
    jobs = [(s.text, p, s.size) for s, p in zip(specs, paths, strict=True)]
    img, _ = probe.render(args.seed, 0)
    assert img.shape == (rc.height, rc.width), img.shape
    lens = [len(s.text) for s in specs]
    print(f"{args.n} samples of seed {args.seed}: {len({s.font for s in specs})} fonts, sizes "
          f"{min(s.size for s in specs)}-{max(s.size for s in specs)} px, text length mean "
          f"{statistics.mean(lens):.1f} (max {max(lens)})")
    del probe

    scripts = {name: script_jobs(name, args.seed, args.n) for name in filter(None, args.scripts.split(","))}

    trdg_py = None
    tn = min(args.trdg_n, args.n)
    if not args.skip_trdg:
        trdg_py = trdg_venv(args.trdg_venv)

    raqm = _raqm()
    runs: dict[str, list[dict]] = {}

    def record(name: str, images: int, m: dict) -> None:
        m = {"images": images, **m, "rate": images / m["seconds"]}
        m["cpu_rate"] = images / m["cpu_seconds"] if m.get("cpu_seconds") else m.get("cpu_rate")
        runs.setdefault(name, []).append(m)

    stream = None
    if args.stream_n > 0:
        print(f"stream: starting, then {args.stream_warmup:,} images of warm-up", flush=True)
        stream = Stream(config, batch_size=64, workers=args.workers)
        w = stream.take(args.stream_warmup)
        stream.memory.append({"images": stream.consumed, **memory_snapshot()})
        print(f"  start-up {stream.startup_seconds:.1f} s; warm-up {w['rate']:,.0f}/s ({w['cpu_rate']:,.0f}/CPU-s)",
              flush=True)

    steady = next_index = None
    if stream is not None:
        steady = Renderer(config)
        next_index = args.stream_warmup // args.workers
        print(f"one renderer as one stream worker: {next_index:,} images of warm-up", flush=True)
        ours(steady, args.seed, next_index, stride=args.workers)
        next_index *= args.workers

    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}", flush=True)
        if steady is not None:
            record("ours_steady", args.n, timed(ours, steady, args.seed, args.n, next_index, args.workers))
            next_index += args.n * args.workers
        renderer = Renderer(config)  # fresh glyph atlases: the cold pass
        record("ours_cold", args.n, timed(ours, renderer, args.seed, args.n))
        record("ours_warm", args.n, timed(ours, renderer, args.seed, args.n))
        del renderer
        for name, layout in (("ceiling", ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC),
                             ("ceiling_basic", ImageFont.Layout.BASIC)):
            cache: dict = {}
            ceiling(jobs, size, layout, cache)  # fill the font cache
            record(name, args.n, timed(ceiling, jobs, size, layout, cache))
        for name, (renderer, specs_, jobs_, size_) in scripts.items():
            for s_ in specs_[:50]:  # the atlases' glyphs, as the warm row has them
                renderer.render_spec(s_)
            record(f"{name}_ours", len(specs_), timed(draw_specs, renderer, specs_))
            cache = {}
            ceiling(jobs_, size_, ImageFont.Layout.RAQM, cache)
            record(f"{name}_raqm", len(jobs_), timed(ceiling, jobs_, size_, ImageFont.Layout.RAQM, cache))
        if trdg_py is not None:
            m = Meter()
            t = run_trdg(trdg_py, [s.text for s in specs[:tn]], paths[:tn], warmup=min(20, tn))
            others = m.stop()["others_cores"]
            record("trdg", t["images"], {"seconds": t["seconds"], "cpu_seconds": t["cpu_seconds"],
                                         "others_cores": others, "made": t["made"], "shape": t["shape"],
                                         "pillow": t["pillow"]})
        if stream is not None:
            runs.setdefault("stream", []).append(stream.take(args.stream_n))
        print("  " + "  ".join(f"{k} {v[-1]['rate']:,.0f}/s ({v[-1]['cpu_rate']:,.0f}/CPU-s)" for k, v in runs.items())
              + f"  | others {statistics.mean(v[-1]['others_cores'] for v in runs.values()):.2f} cores", flush=True)

    long_run = None
    if stream is not None and args.stream_samples > 0:
        print(f"long stream run: {args.stream_samples:,} more images; memory every ~10%", flush=True)
        every = max(1, args.stream_samples // 64 // 10)
        threads0 = thread_cpu_s()
        long_run = stream.take(args.stream_samples, memory_every=every, quiet=False)
        threads1 = thread_cpu_s()
        batches = long_run["images"] / 64
        long_run["main_threads_ms_per_batch"] = {
            k: 1000 * (v - threads0.get(k, 0.0)) / batches
            for k, v in sorted(threads1.items(), key=lambda kv: threads0.get(kv[0], 0.0) - kv[1])
            if v - threads0.get(k, 0.0) > 0}
        long_run["memory"] = stream.memory
        long_run["startup_seconds"] = stream.startup_seconds

    med = {k: statistics.median(x["rate"] for x in v) for k, v in runs.items()}
    cpu = {k: statistics.median(x["cpu_rate"] for x in v) for k, v in runs.items()}
    labels = {
        "ours_cold": "ours, cold (fresh glyph atlases)",
        "ours_warm": "ours, warm (atlases filled)",
        "ours_steady": "ours, steady (as one stream worker)",
        "ceiling": f"ceiling: Pillow draw only ({'raqm' if raqm else 'basic'} layout)",
        "ceiling_basic": "ceiling: Pillow draw only (basic layout)",
        "trdg": f"trdg {TRDG_VERSION}",
        "stream": f"stream, batch 64, {args.workers} workers",
        **{f"{n}_ours": f"{n} lines: ours, clean, warm" for n in scripts},
        **{f"{n}_raqm": f"{n} lines: Pillow draw only (raqm)" for n in scripts},
    }
    print()
    print(f"{'':42} {'img/s':>7} {'img/CPU-s':>10} {'others':>7}  img/s of each run")
    for k, v in runs.items():
        rates = ", ".join(f"{x['rate']:,.0f}" for x in v)
        others = statistics.median(x["others_cores"] for x in v)
        print(f"{labels[k]:42} {med[k]:>7,.0f} {cpu[k]:>10,.0f} {others:>7.2f}  {rates}")
    if long_run:
        print(f"{'stream, long run (warm)':42} {long_run['rate']:>7,.0f} {long_run['cpu_rate']:>10,.0f} "
              f"{long_run['others_cores']:>7.2f}  {long_run['images']:,} images in {long_run['seconds']:.0f} s")
        if "second_half" in long_run:
            h = long_run["second_half"]
            print(f"{'stream, long run: second half':42} {h['rate']:>7,.0f} {h['cpu_rate']:>10,.0f} "
                  f"{h['others_cores']:>7.2f}  {h['images']:,} images in {h['seconds']:.0f} s")
    print("(medians; img/CPU-s: images per CPU-second of our own processes, i.e. per core however busy the "
          "machine; others: cores used meanwhile by other processes on the machine)")

    checks: list[tuple[str, float, float]] = []
    print()
    if "trdg" in med:
        checks.append(("ours(warm)/trdg per core", cpu["ours_warm"] / cpu["trdg"], 50.0))
        print(f"ours/trdg per core:    warm {cpu['ours_warm'] / cpu['trdg']:.1f}x  cold "
              f"{cpu['ours_cold'] / cpu['trdg']:.1f}x   (wall clock: warm {med['ours_warm'] / med['trdg']:.1f}x)")
    checks.append(("ours(warm)/ceiling per core", cpu["ours_warm"] / cpu["ceiling"], 0.40))
    print(f"ours/ceiling per core: warm {cpu['ours_warm'] / cpu['ceiling']:.2f}  cold "
          f"{cpu['ours_cold'] / cpu['ceiling']:.2f}   (wall clock: warm {med['ours_warm'] / med['ceiling']:.2f}; "
          f"against the basic-layout ceiling: warm {cpu['ours_warm'] / cpu['ceiling_basic']:.2f})")
    for name in scripts:
        ratio = cpu[f"{name}_ours"] / cpu[f"{name}_raqm"]
        checks.append((f"{name} lines: ours(warm, clean)/Pillow raqm per core", ratio, 1.5))
        wall = med[f"{name}_ours"] / med[f"{name}_raqm"]
        print(f"{name} lines, ours/raqm per core: {ratio:.2f}x (wall clock {wall:.2f}x)")
    if "stream" in med:
        # the stream against one renderer in the same state as its workers (fresh indices, equal warm-up)
        one, one_cpu = med["ours_steady"], cpu["ours_steady"]
        ratio = med["stream"] / one
        # what the stream would do with every usable core to itself, from its images per CPU-second
        projected = cpu["stream"] * info["usable_cpus"] / one_cpu
        checks.append(("stream(all cores)/ours steady(1 core), wall clock", ratio, 1.7))
        checks.append(("stream(all cores)/ours steady(1 core), projected for an idle machine", projected, 1.7))
        extra = (f"; long run {long_run['rate'] / one:.2f}x wall, "
                 f"{long_run['cpu_rate'] * info['usable_cpus'] / one_cpu:.2f}x projected") if long_run else ""
        print(f"stream/ours steady(1 core): wall clock {ratio:.2f}x{extra}; projected from CPU time for "
              f"{info['usable_cpus']} idle cores {projected:.2f}x (stream {cpu['stream']:,.0f} img per CPU-s of "
              f"main + workers, {cpu['stream'] / one_cpu:.2f} of one renderer's)")
        print(f"stream/ours warm(1 core), the comparison before the steady row existed: wall clock "
              f"{med['stream'] / med['ours_warm']:.2f}x" + (f", long run {long_run['rate'] / med['ours_warm']:.2f}x"
                                                          if long_run else ""))
    if long_run:
        h = long_run.get("second_half", long_run)
        print(f"stream/ours steady(1 core), long run's second half: wall clock {h['rate'] / med['ours_steady']:.2f}x, "
              f"projected {h['cpu_rate'] * info['usable_cpus'] / cpu['ours_steady']:.2f}x")
        t = long_run["main_threads_ms_per_batch"]
        print(f"main process CPU per batch of 64 in the long run: {sum(t.values()):.2f} ms = "
              + ", ".join(f"{k} {v:.2f}" for k, v in list(t.items())[:6]))
        mem = long_run["memory"]
        marks = [mem[0], mem[1], mem[2], mem[-1]]  # first batch, after warm-up, 10% of the long run, end
        print("memory (RSS, MiB) at " + " / ".join(f"{m['images']:,}" for m in marks) + " images: main "
              + " / ".join(f"{m['main_mib']:.0f}" for m in marks) + "; workers "
              + " / ".join(_fmt(m["workers_mib"]) for m in marks))
    print()
    for name, value, target in checks:
        print(f"{'PASS' if value >= target else 'FAIL'}  {name} = {value:.2f} (target >= {target:g})")

    if args.json:
        args.json.write_text(json.dumps({"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                                         "trdg_kwargs": TRDG_KWARGS, "runs": runs, "median": med,
                                         "median_per_cpu_s": cpu, "long_stream": long_run,
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
