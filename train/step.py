"""The compiled training step (CTC loss with infeasible labels dropped) and the weights evaluations read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keras
import tensorflow as tf

from synth.streaming import float_images
from train import ctc
from train.distribute import Replicas, make_replicated_step
from train.models import output_steps


def feasible(labels: tf.Tensor, label_length: tf.Tensor, logit_length: tf.Tensor) -> tf.Tensor:
    """Whether each label fits its output steps (length plus repeated neighbours), as a float mask."""
    mask = tf.sequence_mask(label_length, tf.shape(labels)[1])
    repeats = tf.reduce_sum(tf.cast((labels[:, 1:] == labels[:, :-1]) & mask[:, 1:], tf.int32), axis=1)
    return tf.cast(label_length + repeats <= logit_length, tf.float32)


def make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, reps: Replicas | None = None):
    """One compiled step: (images, labels, label_length, widths) -> (mean loss, samples skipped). Images are
    float (B, H, W, 1) in [0, 1], or uint8 (B, H, W).

    A label too long for its output steps would give an infinite loss; it is dropped from the batch (and
    counted) instead, so one odd sample cannot end a run. With a strategy (`reps`), the step runs on each
    replica, which takes its slice of this worker's batch (`train.distribute`).
    """

    def terms(images: tf.Tensor, labels: tf.Tensor, label_length: tf.Tensor, widths: tf.Tensor):
        """(the batch's summed loss, which samples count): call it under the gradient tape."""
        if images.dtype == tf.uint8:  # (B, H, W) as `synth.batch.batches` gives them
            images = float_images(images)
        logits = model(images, training=True)
        logit_length = tf.minimum(output_steps(model, widths), tf.shape(logits)[1])
        ok = feasible(labels, label_length, logit_length)
        losses = ctc.ctc_loss(labels * tf.cast(ok, tf.int32)[:, None], label_length, logits, logit_length)
        return tf.reduce_sum(losses * ok), ok

    if reps is not None and reps.strategy is not None:
        return make_replicated_step(model, optimizer, reps, terms)

    @tf.function(reduce_retracing=True)
    def train_step(images: tf.Tensor, labels: tf.Tensor, label_length: tf.Tensor, widths: tf.Tensor):
        with tf.GradientTape() as tape:
            total, ok = terms(images, labels, label_length, widths)
            loss = total / tf.maximum(tf.reduce_sum(ok), 1.0)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss, tf.reduce_sum(1.0 - ok)

    return train_step


@contextmanager
def averaged_weights(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> Iterator[None]:
    """The model holds the optimizer's moving average of its weights inside the block (where the optimizer
    keeps one), and its own again after."""
    if not optimizer.use_ema:
        yield
        return
    raw = [v.numpy() for v in model.trainable_variables]
    optimizer.finalize_variable_values(model.trainable_variables)
    try:
        yield
    finally:
        for v, value in zip(model.trainable_variables, raw, strict=True):
            v.assign(value)
