"""The learning-rate schedule: linear warm-up, then a cosine decay whose position the loop sets.

The position is the fraction of steps done, or under a time budget the larger of steps done and time spent: a run cut by
`max_minutes` then anneals to its final rate when time is up, instead of stopping part-way down the cosine,
before the low-rate end where accuracy climbs most (a run's speed is never known well enough to plan steps by).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf


class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """As keras's CosineDecay with warm-up from 0 (the same rates while its position follows the steps), with
    the decay's position in a variable the training loop moves (`DecayClock`)."""

    def __init__(self, peak: float, warmup_steps: int, total_steps: int, final_fraction: float):
        self.peak, self.warmup_steps, self.total_steps = peak, warmup_steps, total_steps
        self.final_fraction = final_fraction
        self.position = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="decay_position")

    def step_position(self, step: int) -> float:
        """The decay's position from steps alone, in [0, 1]."""
        return min(1.0, max(0, step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))

    def __call__(self, step: tf.Tensor) -> tf.Tensor:
        step = tf.cast(step, tf.float32)
        cosine = 0.5 * (1.0 + tf.cos(math.pi * tf.clip_by_value(self.position, 0.0, 1.0)))
        decayed = self.peak * ((1.0 - self.final_fraction) * cosine + self.final_fraction)
        warm = self.peak * step / max(1, self.warmup_steps)
        return tf.where(step < self.warmup_steps, warm, decayed)

    def get_config(self) -> dict:
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps,
                "final_fraction": self.final_fraction}


class DecayClock:
    """Moves a schedule's position: by steps; with a time budget, by whichever of steps and time is further
    along. A resumed run spreads the decay it has left over its own budget."""

    def __init__(self, schedule: WarmupCosine, start_step: int, budget_seconds: float, saved: float = 0.0):
        self.schedule, self.budget = schedule, budget_seconds
        self.start = max(schedule.step_position(start_step), saved) if budget_seconds else 0.0

    def update(self, step: int, elapsed: float) -> float:
        q = self.schedule.step_position(step)
        if self.budget:
            q = max(q, self.start + (1.0 - self.start) * min(1.0, elapsed / self.budget))
        self.schedule.position.assign(q)
        return q
