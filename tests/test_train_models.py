import numpy as np
import pytest

from synth.errors import SynthError
from train.models import MODELS, build_model, output_steps

CLASSES = 11
# Expected parameter counts (with 11 classes), checked against the architectures' published sizes.
PARAMS = {"default": (0.15e6, 1.0e6), "bigru": (0.2e6, 1.0e6), "small": (0.40e6, 0.43e6),
          "image_ocr": (4.8e6, 5.0e6), "crnn": (8.2e6, 8.4e6)}


@pytest.fixture(scope="module", params=list(MODELS))
def variable(request):
    """Each model built once with variable width."""
    return build_model(request.param, CLASSES, MODELS[request.param].height, None)


def test_registry_has_the_promised_models():
    assert set(MODELS) == {"default", "bigru", "small", "image_ocr", "crnn"}
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
