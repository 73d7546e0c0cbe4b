import numpy as np
import pytest

from synth.errors import SynthError
from train.models import MODELS, build_model, output_steps

CLASSES = 11
# Expected parameter counts (with 11 classes), checked against the architectures' published sizes.
PARAMS = {"default": (0.15e6, 1.0e6), "wide": (0.3e6, 1.0e6), "bigru": (0.2e6, 1.0e6),
          "small": (0.40e6, 0.43e6), "image_ocr": (4.8e6, 5.0e6), "crnn": (8.2e6, 8.4e6), "twoline": (0.15e6, 1.0e6)}


@pytest.fixture(scope="module", params=[n for n, s in MODELS.items() if s.only_height is None])
def variable(request):
    """Each model that takes any width built once with variable width (twoline reads one fixed width)."""
    return build_model(request.param, CLASSES, MODELS[request.param].height, None)


def test_registry_has_the_promised_models():
    assert set(MODELS) == {"default", "wide", "bigru", "small", "image_ocr", "crnn", "twoline"}
    assert all(spec.doc for spec in MODELS.values())


@pytest.mark.parametrize("name", list(MODELS))
def test_default_size_shape_and_steps(name):
    spec = MODELS[name]
    model = build_model(name, CLASSES, spec.height, spec.width)
    assert model.output_shape == (None, output_steps(name, spec.width), CLASSES)
    low, high = PARAMS[name]
    assert low < model.count_params() < high


def test_variable_width_steps_match_real_outputs(variable):
    height = MODELS[variable.name].height
    for width in (MODELS[variable.name].width, 100, 67, 161, 130):
        out = variable(np.zeros((2, height, width, 1), np.float32), training=False)
        assert tuple(out.shape) == (2, output_steps(variable, width), CLASSES)


def test_output_steps_vectorized():
    widths = np.array([128, 100, 67])
    assert output_steps("crnn", widths).tolist() == [31, 24, 15]
    assert output_steps("default", widths).tolist() == [32, 25, 17]  # the strided stem rounds 67/2 up
    for spec in MODELS.values():
        assert all(abs(spec.steps(w) - w / spec.width_factor) < 2 for w in range(32, 300))


def test_user_errors():
    with pytest.raises(SynthError, match="unknown model 'resnet'"):
        build_model("resnet", CLASSES, 32, 128)
    with pytest.raises(SynthError, match="at least 32 px high"):
        build_model("crnn", CLASSES, 16, 128)
    with pytest.raises(SynthError, match="no output steps"):
        build_model("default", CLASSES, 32, 2)


@pytest.mark.parametrize("shape", [(4, 6, 10, 8), (4, 12, 8)])
def test_fused_batch_norm_matches_keras(shape):
    """Same outputs, gradients and moving statistics as Keras's batch norm, for images and sequences."""
    import keras
    import tensorflow as tf

    from train.layers import BatchNormalization

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, shape).astype(np.float32))
    # weights that vary over the batch: with one weight per channel, dgamma is a sum that cancels to zero, and
    # compares rounding noise (which differs between CPUs' kernels) rather than gradients
    w = tf.constant(rng.normal(0.0, 1.0, shape).astype(np.float32))
    layers = [keras.layers.BatchNormalization(momentum=0.9), BatchNormalization(momentum=0.9)]
    results = []
    for layer in layers:
        layer.build(shape)
        layer.gamma.assign(np.linspace(0.5, 1.5, shape[-1]).astype(np.float32))
        layer.beta.assign(np.linspace(-1.0, 1.0, shape[-1]).astype(np.float32))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * w)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append([y, *grads, layer.moving_mean, layer.moving_variance, layer(x, training=False)])
    for name, a, b in zip(["y", "dx", "dgamma", "dbeta", "mean", "var", "inference"], *results, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4, err_msg=name)


def test_standardize_reads_faint_ink_as_it_reads_black_on_white():
    from train.layers import Standardize

    x = np.random.default_rng(1).random((2, 8, 16, 1)).astype(np.float32)
    faint = 0.45 + 0.5 * x  # half the contrast, on grey paper
    a, b = np.asarray(Standardize()(x)), np.asarray(Standardize()(faint))
    np.testing.assert_allclose(a, b, atol=0.05)
    np.testing.assert_allclose(a.mean(axis=(1, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(a.std(axis=(1, 2, 3)), 1.0, atol=0.02)
