"""The worker pool behind the stream: results in task order, images through shared memory."""

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from synth.batch import render_range, renderers
from synth.pool import run_ordered
from synth.renderer import Renderer

SEED = 5
SHM = Path("/dev/shm")


def shared_blocks() -> set[str]:
    return {p.name for p in SHM.glob("psm_*")}


def tasks(n: int, size: int) -> list[tuple[int, int, int]]:
    return [(SEED, i * size, size) for i in range(n)]


def assert_same(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k in w:
            if isinstance(w[k], np.ndarray):
                assert g[k].dtype == w[k].dtype and np.array_equal(g[k], w[k]), k
            else:
                assert g[k] == w[k], k


@pytest.mark.parametrize("fixed_width", [True, False])
def test_slots_give_the_same_results(make_config, fixed_width):
    cfg = make_config()
    if not fixed_width:
        cfg.render.width = None
    want = list(run_ordered(renderers(cfg), render_range, tasks(9, 6), workers=0))
    # the fixed-width slot holds each batch exactly; the variable-width one is too small for some batches,
    # which then come through the pipe
    slot = 6 * 32 * 128 if fixed_width else 6 * 32 * 145
    got = list(run_ordered(renderers(cfg), render_range, tasks(9, 6), workers=2, window=4, slot_bytes=slot))
    assert_same(got, want)
    if not fixed_width:
        assert {b["image"].nbytes > slot for b in want} == {True, False}
    # every result is a copy: the slots are reused by later tasks
    assert not any(np.shares_memory(a["image"], b["image"]) for a, b in itertools.combinations(got, 2))
    assert np.array_equal(render_range(Renderer(cfg), SEED, 0, 6)["image"], got[0]["image"])


@pytest.mark.skipif(not SHM.is_dir(), reason="shared memory blocks are listed in /dev/shm on Linux only")
def test_shared_memory_is_released(make_config):
    cfg = make_config()
    before = shared_blocks()
    done = list(run_ordered(renderers(cfg), render_range, tasks(4, 4), workers=2, slot_bytes=4 * 32 * 128))
    assert len(done) == 4 and shared_blocks() == before
    endless = run_ordered(renderers(cfg), render_range, ((SEED, i * 4, 4) for i in itertools.count()), workers=2,
                          slot_bytes=4 * 32 * 128)
    next(endless)
    assert len(shared_blocks() - before) == 2  # one block per worker
    endless.close()  # a consumer that stops early (a training run's end)
    assert shared_blocks() == before


def _fail_at(renderer: Renderer, i: int) -> dict:
    if i == 2:
        raise ValueError(f"task {i} failed in process {os.getpid()}")
    return {"image": np.full((2, 3), i, np.uint8)}


def test_worker_error_reaches_the_parent_and_frees_memory(make_config):
    before = shared_blocks() if SHM.is_dir() else set()
    results = run_ordered(renderers(make_config()), _fail_at, [(i,) for i in range(5)], workers=2, slot_bytes=64)
    assert [int(r["image"][0, 0]) for r in itertools.islice(results, 2)] == [0, 1]
    with pytest.raises(ValueError, match="task 2 failed"):
        next(results)
    if SHM.is_dir():
        assert shared_blocks() == before


def _timed(renderer: Renderer, i: int) -> dict:
    started = time.monotonic()  # one clock for every process on the machine
    time.sleep(0.02)
    return {"i": i, "started": started}


@pytest.mark.parametrize("burst", [True, False])
def test_a_burst_renders_only_while_the_consumer_waits(make_config, burst):
    got, taken = [], []
    for r in run_ordered(renderers(make_config()), _timed, [(i,) for i in range(12)], workers=2, window=4, burst=burst):
        got.append(r)
        time.sleep(0.05)  # the consumer's work: a training step
        taken.append(time.monotonic())
    assert [r["i"] for r in got] == list(range(12))
    # in a burst, every task of a window starts after the consumer is done with the window before; without,
    # the workers render the next tasks while the consumer works
    ahead = [got[i]["started"] < taken[i // 4 * 4 - 1] for i in range(4, 12)]
    assert not any(ahead) if burst else all(ahead)


def test_numpy_batches_are_the_streams(make_config):
    from synth.batch import MESSAGE_BYTES, batches
    from synth.streaming import numpy_batches, stream

    cfg = make_config()
    per_message = MESSAGE_BYTES // (32 * 128)
    count = next(c for c in range(per_message + 1, per_message + 6) if c % 5)  # past a message, mid-batch
    got = list(batches(cfg, SEED, batch_size=5, start=3, count=count, workers=2))
    want = list(numpy_batches(stream(cfg, SEED, batch_size=5, start=3, count=count, workers=0)))
    assert [len(b["text"]) for b in got] == [len(b["text"]) for b in want] and len(got[-1]["text"]) == count % 5
    for g, w in zip(got, want, strict=True):
        assert g["image"].dtype == np.uint8 and g["image"].shape == w["image"].shape[:3]
        np.testing.assert_allclose(g["image"] / 255.0, w["image"][..., 0], atol=1e-6)
        for k in ("width", "label", "label_length"):
            assert np.array_equal(g[k], w[k]), k
        assert (g["text"], g["font"]) == (w["text"], w["font"])


def test_numpy_batches_refuse_bad_arguments(make_config):
    from synth.batch import batches
    from synth.errors import SynthError

    with pytest.raises(SynthError, match="batch_size=0"):
        batches(make_config(), batch_size=0)
    with pytest.raises(SynthError, match="nice=25"):
        batches(make_config(), nice=25)


def test_no_complaint_from_the_resource_tracker(tmp_path):
    # workers attach to their parent's blocks: a worker that registered or unregistered them on its own would
    # have the tracker print a KeyError or a leak warning when the program ends
    script = tmp_path / "use_slots.py"
    script.write_text(
        "from synth.batch import batches\n"
        "from synth.config import SynthConfig\n"
        "if __name__ == '__main__':\n"
        "    it = batches(SynthConfig(), batch_size=8, workers=2)\n"
        "    for _ in range(3):\n"
        "        next(it)\n"
        "    it.close()\n"
        "    print('done')\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0 and res.stdout.strip() == "done", res.stderr
    assert "KeyError" not in res.stderr and "leaked" not in res.stderr, res.stderr
