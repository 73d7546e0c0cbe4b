"""A zoo of CTC recognizers, built by name: images (B, H, W, 1) in [0, 1] to logits (B, T, classes).

The models end in logits, not softmax, because `tf.nn.ctc_loss`/`keras.ops.ctc_loss` take logits
with the blank at id 0. Time runs along the image width: T is about width / 4 (`output_steps`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import keras
from keras import layers

from synth.errors import SynthError
from train.layers import BatchNormalization, Standardize

Width = TypeVar("Width")  # an int, or an array or tensor of per-sample widths

#: batch norm's moving-statistics momentum. Keras's 0.99 leaves the inference statistics hundreds of steps
#: behind the weights, so a short run reads well with batch statistics and not at all in inference mode; 0.9
#: (PyTorch's 0.1) catches up in tens of steps.
BN_MOMENTUM = 0.9

#: separable 1-D convs (256 wide, kernel 5) in the default model's head
HEAD_LAYERS = 2


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model, its native input size and how its width maps to output steps."""

    build: Callable[[keras.KerasTensor, int], keras.KerasTensor]
    height: int
    width: int
    doc: str
    min_height: int
    #: nominal width downsampling: T is about width / width_factor
    width_factor: int
    #: exact T for a width, mirroring the layers' rounding; plain arithmetic, so it also maps arrays and tensors
    steps: Callable[[Width], Width]
    #: the one height the model reads, where its output steps depend on it
    only_height: int | None = None


def _conv(
    x: keras.KerasTensor, filters: int, batch_norm: bool = False, kernel: int = 3, padding: str = "same"
) -> keras.KerasTensor:
    x = layers.Conv2D(filters, kernel, padding=padding, use_bias=not batch_norm, kernel_initializer="he_normal")(x)
    if batch_norm:
        x = BatchNormalization(momentum=BN_MOMENTUM)(x)
    return layers.ReLU()(x)


def _to_sequence(x: keras.KerasTensor) -> keras.KerasTensor:
    """(B, h, w, c) -> (B, w, h*c): columns become time steps; h and c are static, w may be None."""
    _, h, _, c = x.shape
    x = layers.Permute((2, 1, 3))(x)
    return layers.Reshape((-1, h * c))(x)


def _image_ocr(x: keras.KerasTensor, classes: int) -> keras.KerasTensor:
    for _ in range(2):
        x = _conv(x, 16)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Dense(32, activation="relu")(_to_sequence(x))
    x = layers.Bidirectional(layers.GRU(512, return_sequences=True), merge_mode="sum")(x)
    x = layers.Bidirectional(layers.GRU(512, return_sequences=True), merge_mode="concat")(x)
    return layers.Dense(classes, name="logits")(x)


def _crnn(x: keras.KerasTensor, classes: int) -> keras.KerasTensor:
    """Shi et al. 2015, with the batch norm placement and LSTM+linear head of the common PyTorch port."""
    plan = [(64, False, (2, 2)), (128, False, (2, 2)), (256, True, None), (256, False, (2, 1)),
            (512, True, None), (512, False, (2, 1))]  # fmt: skip
    for filters, batch_norm, pool in plan:
        x = _conv(x, filters, batch_norm)
        if pool:
            x = layers.MaxPooling2D(pool)(x)
    x = _to_sequence(_conv(x, 512, batch_norm=True, kernel=2, padding="valid"))
    x = layers.Bidirectional(layers.LSTM(256, return_sequences=True))(x)
    x = layers.Dense(256)(x)
    x = layers.Bidirectional(layers.LSTM(256, return_sequences=True))(x)
    return layers.Dense(classes, name="logits")(x)


def _small(x: keras.KerasTensor, classes: int) -> keras.KerasTensor:
    for filters in (32, 64):
        x = _conv(x, filters)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Dense(64, activation="relu")(_to_sequence(x))
    x = layers.Dropout(0.2)(x)
    x = layers.Bidirectional(layers.LSTM(128, return_sequences=True, dropout=0.25))(x)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True, dropout=0.25))(x)
    return layers.Dense(classes, name="logits")(x)


def _separable(x: keras.KerasTensor, filters: int, kernel: tuple[int, int] = (3, 3)) -> keras.KerasTensor:
    x = layers.SeparableConv2D(filters, kernel, padding="same", use_bias=False)(x)
    return layers.ReLU()(BatchNormalization(momentum=BN_MOMENTUM)(x))


def _trunk_map(x: keras.KerasTensor) -> keras.KerasTensor:
    """Measured on 2 CPU cores: a strided stem spares the full-resolution activations that dominate
    the step time, separable convs cut the rest, and batch norm skips the long "all blanks" phase.
    Kernels 5 wide after the first pooling give each output step a 57 px wide view, enough for a whole
    large letter, at almost no cost (the depthwise part is a small share of a separable conv).
    (B, H, W, 1) -> (B, H / 16, W / 4, 160)."""
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
    x = layers.ReLU()(BatchNormalization(momentum=BN_MOMENTUM)(x))
    x = layers.MaxPooling2D((2, 2))(_separable(x, 64))
    x = _separable(x, 128, (3, 5))
    x = layers.MaxPooling2D((2, 1))(_separable(x, 128, (3, 5)))
    return layers.MaxPooling2D((2, 1))(_separable(x, 160, (3, 5)))


def _trunk(x: keras.KerasTensor, units: int = 128) -> keras.KerasTensor:
    """The trunk's feature map read as a sequence of `units`-wide steps along the width."""
    return layers.Dense(units, activation="relu")(_to_sequence(_trunk_map(x)))


def _head(x: keras.KerasTensor, classes: int, width: int = 256) -> keras.KerasTensor:
    for _ in range(HEAD_LAYERS):
        x = layers.SeparableConv1D(width, 5, padding="same", use_bias=False)(x)
        x = layers.ReLU()(BatchNormalization(momentum=BN_MOMENTUM)(x))
    return layers.Dense(classes, name="logits")(x)


def _trunk_steps(width: Width) -> Width:
    return (width + 1) // 2 // 2  # the strided stem rounds up


#: input size and output steps of the models built on `_trunk`: they are the trunk's
_TRUNK_SIZE = {"height": 32, "width": 128, "min_height": 16, "width_factor": 4, "steps": _trunk_steps}


def _default(x: keras.KerasTensor, classes: int) -> keras.KerasTensor:
    """Standardized images, the trunk and HEAD_LAYERS separable 1-D convs along the width instead of a BiGRU:
    the recurrence was a large part of the step time on a CPU, and in equal-time A/B runs the conv head read
    more words than the BiGRU, and two layers more than three. Each output step sees about 90 px. Standardizing
    each image makes ink and paper levels alike across samples; it raised accuracy (docs/benchmarks.md)."""
    return _head(_trunk(Standardize()(x)), classes)


def _wide(x: keras.KerasTensor, classes: int) -> keras.KerasTensor:
    """The default model with twice its parameters for a little more step time: the trunk's sequence 256 wide
    and the head 384, for mixes with more to learn and budgets with more steps. On the scene preset's CPU budget
    it read no more real crops than the default, and widening the trunk as well cost far more time for no more
    accuracy (docs/benchmarks.md)."""
    return _head(_trunk(Standardize()(x), 256), classes, 384)


def _twoline(x: keras.KerasTensor, classes: int) -> keras.KerasTensor:
    """Two-line crops (plates): the default model at twice the height, its feature map pooled to two rows (the
    two lines), read one row after the other as one sequence, as plate readers collapse 2-D features: CTC reads
    the first line, the break character, then the second."""
    x = layers.MaxPooling2D((2, 1))(_trunk_map(Standardize()(x)))  # (B, 2, W / 4, 160) at 64 px high
    x = layers.Dense(128, activation="relu")(layers.Reshape((-1, x.shape[-1]))(x))  # row 1's steps, then row 2's
    return _head(x, classes)


def _bigru(x: keras.KerasTensor, classes: int) -> keras.KerasTensor:
    """The default model before version 0.2.0: the same trunk, one BiGRU(128)."""
    x = layers.Bidirectional(layers.GRU(128, return_sequences=True))(_trunk(x))
    return layers.Dense(classes, name="logits")(x)


MODELS: dict[str, ModelSpec] = {
    "default": ModelSpec(
        _default, **_TRUNK_SIZE,
        doc="standardized input, strided stem, separable BN convs, a 1-D conv head: the fastest to accurate on a CPU",
    ),
    "wide": ModelSpec(
        _wide, **_TRUNK_SIZE, doc="the default model with a wider sequence and head: twice the parameters",
    ),
    "bigru": ModelSpec(
        _bigru, **_TRUNK_SIZE,
        doc="the default's conv trunk and one BiGRU(128) (the default before version 0.2.0)",
    ),
    "small": ModelSpec(
        _small, height=32, width=128, min_height=4, width_factor=4, steps=lambda w: w // 4,
        doc="Keras captcha OCR example: 2 convs, BiLSTM(128) + BiLSTM(64)",
    ),
    "image_ocr": ModelSpec(
        _image_ocr, height=64, width=128, min_height=4, width_factor=4, steps=lambda w: w // 4,
        doc="Keras image_ocr example: 2 convs, 2 BiGRU(512) layers",
    ),
    "twoline": ModelSpec(
        _twoline, height=64, width=128, min_height=64, width_factor=2, steps=lambda w: 2 * ((w + 1) // 2 // 2),
        only_height=64, doc="the default model reading two-line crops (plates) as one sequence: line 1, then line 2",
    ),
    "crnn": ModelSpec(
        _crnn, height=32, width=128, min_height=32, width_factor=4,
        steps=lambda w: w // 4 - 1,  # the last conv is 2 wide, valid
        doc="Shi et al. CRNN: VGG convs with batch norm, 2 BiLSTM(256)",
    ),
}  # fmt: skip


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise SynthError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}") from None


def build_model(name: str, alphabet_size: int, height: int, width: int | None) -> keras.Model:
    """The named model for (height, width) images; width None accepts any width (pad within a batch)."""
    spec = model_spec(name)
    if height < spec.min_height:
        raise SynthError(f"model {name!r} needs images at least {spec.min_height} px high, got {height}")
    if spec.only_height is not None and width is None:  # rows read one after another: a padded row would be read
        raise SynthError(f"model {name!r} reads images of one fixed width (its rows follow each other in the output, "
                         "so a narrower, padded image's would not): pass --width N")
    if spec.only_height not in (None, height):
        raise SynthError(f"model {name!r} reads images {spec.only_height} px high, got {height}: pass --height "
                         f"{spec.only_height}")
    if width is not None and output_steps(name, width) < 1:
        raise SynthError(f"images {width} px wide give model {name!r} no output steps: use wider images")
    image = keras.Input((height, width, 1), name="image")
    return keras.Model(image, spec.build(image, alphabet_size), name=name)


def output_steps(model_or_name: keras.Model | str, width: Width) -> Width:
    """T for an input width (or per-sample widths); a model is looked up by its name, its registry key."""
    name = model_or_name if isinstance(model_or_name, str) else model_or_name.name
    return model_spec(name).steps(width)
