"""The learning-rate schedule: keras's cosine while its position follows steps; under a time budget it anneals
with the clock (a run cut by time, in test_fit)."""

from __future__ import annotations

import keras
import pytest

from train.schedule import DecayClock, WarmupCosine


def test_follows_keras_cosine_decay_by_steps():
    ours = WarmupCosine(3e-3, 300, 7000, 0.02)
    clock = DecayClock(ours, 0, 0.0)
    theirs = keras.optimizers.schedules.CosineDecay(0.0, 7000 - 300, alpha=0.02, warmup_target=3e-3,
                                                    warmup_steps=300)
    for step in (0, 1, 150, 299, 300, 301, 1000, 3650, 6999, 7000, 9000):
        clock.update(step, elapsed=1e9)  # no budget: the clock is ignored
        assert float(ours(step)) == pytest.approx(float(theirs(step)), rel=1e-5, abs=1e-9), step


def test_time_budget_anneals_with_the_clock():
    s = WarmupCosine(1.0, 10, 1000, 0.02)
    p = DecayClock(s, 0, budget_seconds=100.0)
    assert p.update(100, elapsed=50.0) == pytest.approx(0.5)  # time ahead of steps (0.09)
    assert float(s(100)) == pytest.approx(0.51)
    assert p.update(900, elapsed=50.0) == pytest.approx(890 / 990)  # steps ahead of time
    assert p.update(200, elapsed=100.0) == 1.0 and float(s(200)) == pytest.approx(0.02)
    assert p.update(200, elapsed=500.0) == 1.0  # past the budget: held at the final rate

    # a resumed run spreads the decay it has left over its own budget, from where the last one got to
    r = DecayClock(s, 100, budget_seconds=100.0, saved=0.6)
    assert r.update(100, elapsed=0.0) == pytest.approx(0.6)
    assert r.update(110, elapsed=50.0) == pytest.approx(0.8)
    # without a budget the saved position is ignored: a longer --steps continues the cosine by steps
    assert DecayClock(s, 100, 0.0, saved=0.6).update(100, elapsed=0.0) == pytest.approx(90 / 990)

