"""The training feed: how long the step waits on data, and render workers added while it waits."""

from __future__ import annotations

import json
import time

from train import feed as feed_module
from train.feed import WAIT_LIMIT, Feed


class Slow:
    """Inputs from `step` that take `per_item / workers` seconds each, as a pool of that many renderers would."""

    opened: list[tuple[int, int]] = []

    def __init__(self, step: int, workers: int, per_item: float):
        self.step, self.delay = step, per_item / workers
        Slow.opened.append((step, workers))

    def __iter__(self):
        return self

    def __next__(self) -> int:
        if self.delay:  # sleep(0) would yield the core: on a loaded machine, a wait of a whole time slice
            time.sleep(self.delay)
        self.step += 1
        return self.step - 1


def windows(feed: Feed, steps: int, step_seconds: float) -> tuple[float, str | None]:
    started, got = time.perf_counter(), []
    for _ in range(steps):
        got.append(next(feed))
        time.sleep(step_seconds)  # the step
    return feed.window(time.perf_counter() - started), got


def test_a_growing_feed_adds_workers_while_the_step_waits_and_keeps_its_samples():
    Slow.opened = []
    feed = Feed(lambda step, workers: Slow(step, workers, per_item=0.008), step=100, workers=1, grow=True, most=3)
    (share, note), got = windows(feed, 10, 0.002)
    assert note is None and feed.workers == 1, "the first window (the workers' start) is no measure"
    (share, note), more = windows(feed, 10, 0.002)
    assert share > 0.5 and feed.workers == 3 and "waited on data" in note and "now 3" in note
    assert Slow.opened == [(100, 1), (120, 3)], "reopened at the step it had reached"
    (_, _), after = windows(feed, 10, 0.002)
    assert got + more + after == list(range(100, 130)), "the same samples in order, through the reopening"
    (share, note), _ = windows(feed, 10, 0.002)
    assert feed.workers == 3 and "--ray" in note, "at its most it says where more cores are"
    assert windows(feed, 10, 0.002)[0][1] is None, "said once"


def test_a_fed_step_is_left_alone_and_a_fixed_feed_never_grows():
    # A 25 ms step, and a feed that never sleeps (nor yields): on a 2-core machine running three trainings, a
    # feed that yielded its core for every input read as up to a 13% wait (it waited for its next time slice).
    fast = Feed(lambda step, workers: Slow(step, workers, per_item=0.0), step=0, workers=1, grow=True, most=4)
    windows(fast, 10, 0.025)
    (share, note), _ = windows(fast, 10, 0.025)
    assert share <= WAIT_LIMIT and note is None and fast.workers == 1
    fixed = Feed(lambda step, workers: Slow(step, workers, per_item=0.01), step=0, workers=2, grow=False, most=4)
    windows(fixed, 5, 0.0)
    (share, note), _ = windows(fixed, 5, 0.0)
    assert share > 0.5 and note is None and fixed.workers == 2


def test_fit_reports_the_wait_and_a_grown_feed_trains_on_the_same_samples(monkeypatch, tmp_path, tiny_config):
    """Beside the step (--feed overlap, no --workers), with 3 cores to spare and any wait counted as too long:
    the feed grows at its second window, and the run's losses are those of a run whose feed never changed."""
    from train.fit import fit

    monkeypatch.setattr(feed_module, "default_workers", lambda: 4)
    monkeypatch.setattr(feed_module, "WAIT_LIMIT", -1.0)
    logs = {}
    for name, workers in (("grown", None), ("fixed", 1)):
        cfg = tiny_config(steps=150, feed="overlap", workers=workers, eval_every=150, checkpoint_every=150,
                          val_count=32)
        assert fit(cfg, tmp_path / name, progress=False).step == 150
        rows = [json.loads(line) for line in (tmp_path / name / "history.jsonl").read_text().splitlines()]
        logs[name] = [r for r in rows if "loss" in r]
    grown, fixed = logs["grown"], logs["fixed"]
    assert [r["step"] for r in grown] == [50, 100, 150]
    assert all(0.0 <= r["data_wait"] <= 1.0 for r in grown)
    assert [r["render_workers"] for r in grown] == [1, 2, 2], grown  # one more a window (it barely waits)
    assert [r["render_workers"] for r in fixed] == [1, 1, 1]
    assert [r["loss"] for r in grown] == [r["loss"] for r in fixed]
