"""Layers the models need that Keras 3 does not provide in the form a 2-core CPU wants."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="synthocr")
class BatchNormalization(keras.layers.BatchNormalization):
    """Keras's batch norm, with TensorFlow's fused kernel for the training pass over the last axis.

    Keras 3 builds batch norm from about ten generic ops, and their gradients materialise broadcasts (Tile)
    of the whole activation, a large share of the default model's training step on a CPU (docs/benchmarks.md).
    The fused kernel does the same maths in one op each way. Inference is Keras's own (moving
    statistics). The class keeps Keras's name: weights files key layers by class name, so files written with
    either load.
    """

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        fusable = rank in (3, 4) and self.axis % rank == rank - 1 and mask is None and not self.renorm
        if not (training and self.trainable and fusable):
            return super().call(inputs, training=training, mask=mask)
        # the fused kernel takes NHWC: (B, T, C) sequences become (B, T, 1, C)
        x = tf.expand_dims(inputs, 2) if rank == 3 else inputs
        gamma = self.gamma if self.scale else tf.ones_like(self.moving_mean)
        beta = self.beta if self.center else tf.zeros_like(self.moving_mean)
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
        )
        n = tf.cast(tf.size(x) // tf.shape(x)[-1], variance.dtype)
        variance *= (n - 1.0) / n  # the kernel's is the unbiased variance; Keras keeps the batch's own
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return tf.squeeze(y, 2) if rank == 3 else y


@keras.saving.register_keras_serializable(package="synthocr")
class Standardize(keras.layers.Layer):
    """Each image shifted and scaled to zero mean and unit deviation, so that faint ink on grey paper reaches
    the first conv at the contrast of black on white (low-contrast and thin-stroke samples were the 15-minute
    model's weakest). `floor` bounds the gain on a blank image."""

    def __init__(self, floor: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.floor = floor

    def call(self, x):
        mean, variance = tf.nn.moments(x, axes=[1, 2, 3], keepdims=True)
        return (x - mean) * tf.math.rsqrt(variance + self.floor)

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}
