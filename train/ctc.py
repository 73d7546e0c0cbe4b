"""CTC loss and output-length checks, with the blank at id 0 (see synth.alphabet); decoding is train.decode."""

from __future__ import annotations

import warnings

import tensorflow as tf

from synth.alphabet import BLANK
from synth.errors import SynthError


def ctc_loss(labels: tf.Tensor, label_length: tf.Tensor, logits: tf.Tensor, logit_length: tf.Tensor) -> tf.Tensor:
    """Per-sample CTC negative log-likelihood of padded labels under batch-major logits (no softmax).

    Labels go in as a SparseTensor: that selects TensorFlow's C++ CTC kernel, measured faster on CPU
    than the dense path that `keras.ops.ctc_loss` takes. Label entries past `label_length` are zeroed
    first, so `tf.sparse.from_dense` drops them with the padding.
    """
    labels = tf.cast(labels, tf.int32)
    label_length = tf.cast(label_length, tf.int32)
    mask = tf.sequence_mask(label_length, tf.shape(labels)[1], dtype=tf.int32)
    return tf.nn.ctc_loss(
        labels=tf.sparse.from_dense(labels * mask),
        logits=tf.cast(logits, tf.float32),
        label_length=None,
        logit_length=tf.cast(logit_length, tf.int32),
        logits_time_major=False,
        blank_index=BLANK,
    )


def check_output_steps(max_len: int, steps: int, can_repeat: bool = True) -> None:
    """Fail early, not as an infinite loss mid-training, when labels may not fit the model's output.

    The worst label of `max_len` symbols needs 2L-1 steps if the text source can repeat a character
    (every neighbour equal), else L; below the usual 2L+1 rule of thumb only a warning is given.
    """
    needed = 2 * max_len - 1 if can_repeat else max_len
    if steps < needed:
        worst = "with every character repeated" if can_repeat else "without repeats"
        raise SynthError(
            f"the model gives {steps} output steps but a {max_len}-character label {worst} needs {needed}: "
            "use wider images, a model with less width downsampling, or shorter texts"
        )
    if steps < 2 * max_len + 1:
        warnings.warn(
            f"{steps} output steps for labels of up to {max_len} characters is below the 2L+1 = "
            f"{2 * max_len + 1} rule of thumb; CTC may train slowly (wider images or shorter texts help)",
            stacklevel=2,
        )
