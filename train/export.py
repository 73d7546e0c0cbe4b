"""Exporting a model dir's inference model (image in, per-step logits out) as SavedModel, LiteRT or ONNX.

Each export is a folder: the model file (`saved_model.pb` and `variables/`, `model.tflite`, `model.onnx`) and
`synthocr.json`, which says how to feed it and read it: alphabet, blank id, input height and width policy,
the rule from an image's width to its output steps, preprocessing, version. `train.runtime` reads it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from synth.quiet import stderr_held, tensorflow

tf = tensorflow()  # before Keras, which imports it: quietly

import keras
import numpy as np

from synth.errors import SynthError
from synth.version import __version__
from train.models import model_spec
from train.recognizer import load
from train.runtime import EXPORT_FILE

FORMATS = ("saved_model", "litert", "onnx")
#: the quantizations each format takes
QUANTIZE = {"saved_model": (), "litert": ("float16", "int8"), "onnx": ("int8",)}
#: the file of each format inside its export folder (a SavedModel is the folder itself)
FILES = {"saved_model": ".", "litert": "model.tflite", "onnx": "model.onnx"}
#: rendered images calibrating an int8 LiteRT model's activations
CALIBRATION = 200


def export(model_dir: str | Path, fmt: str, out: str | Path | None = None, quantize: str | None = None,
           width: int | None = None) -> Path:
    """Export the model of `model_dir` as `fmt` into the folder `out` (default MODEL_DIR/export/FMT[-QUANT]),
    which must not exist: nothing is overwritten, and the folder appears whole or not at all. `width` fixes
    the input width of a variable-width model (LiteRT needs one for a model with a recurrent layer)."""
    if fmt not in FORMATS:
        raise SynthError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if quantize is not None and quantize not in QUANTIZE[fmt]:
        takes = ", ".join(QUANTIZE[fmt]) or "none"
        raise SynthError(f"--quantize {quantize}: a {fmt} export takes {takes}")
    rec = load(model_dir)
    out = Path(out) if out is not None else Path(model_dir) / "export" / (fmt + (f"-{quantize}" if quantize else ""))
    if out.exists():
        raise SynthError(f"{out} already exists; choose another --out, or delete it to export again")
    model = _inference_model(rec.model, rec.width, width, fmt)
    info = {
        "synthocr": __version__, "format": fmt, "file": FILES[fmt], "quantize": quantize,
        "source": str(Path(model_dir).resolve()), "model": rec.model.name, "alphabet": rec.alphabet.chars,
        "blank": 0, "classes": rec.alphabet.size,
        "height": rec.height, "width": model.input_shape[2],
        "output_steps": steps_rule(rec.model.name),
        "input": {"name": "image", "shape": ["batch", rec.height, "width", 1], "dtype": "float32",
                  "preprocessing": "grey, resized to the height keeping the aspect (squeezed to a fixed width "
                  "when wider), pixel / 255, right-padded with each image's background (the median of its border) "
                  "to the batch's widest (synth.image.to_model_input, pad_images)"},
        "output": {"shape": ["batch", "steps", "classes"], "meaning": "CTC logits before the softmax, blank 0; "
                   "labels in visual order (train.decode, synth.alphabet.Alphabet.decode)"},
    }
    model(np.zeros((1, rec.height, model.input_shape[2] or 4 * rec.height, 1), np.float32))  # ONNX wants it called
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}-", dir=out.parent))
    except OSError as e:
        raise SynthError(f"cannot write {out}: {e.strerror}; choose an --out you can write to") from None
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # as a plain mkdir would make it: mkdtemp's is private
    try:
        with stderr_held():  # the converters' C++ progress lines
            try:
                _write(model, fmt, tmp, quantize, rec)
            except ImportError as e:
                raise SynthError(f"exporting to {fmt} needs {e.name}: pip install 'synthocr[export]'") from None
            except (ValueError, RuntimeError, TypeError) as e:  # the converter's own refusal: its first line
                if os.environ.get("SYNTHOCR_DEBUG"):
                    raise
                first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
                raise SynthError(f"the {fmt} converter cannot take model {rec.model.name!r}: {first}; export to "
                                 "another format (onnx takes every model of the zoo)") from None
        (tmp / EXPORT_FILE).write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def steps_rule(name: str) -> dict[str, int]:
    """The model's width -> output steps function as T = (width + add) // div * mul - sub (mul: the rows a
    multi-line model reads one after another), checked at every width up to 8192: plain arithmetic a runtime in
    any language can apply."""
    steps = model_spec(name).steps
    widths = np.arange(1, 8193)
    want = np.maximum(np.asarray(steps(widths)), 0)
    for mul in (1, 2, 3, 4):
        for div in (1, 2, 4, 8, 16, 32):
            for add in range(div):
                for sub in range(4):
                    if np.array_equal(np.maximum((widths + add) // div * mul - sub, 0), want):
                        return {"add": add, "div": div, "mul": mul, "sub": sub}
    raise SynthError(f"model {name!r}: its output steps are not (width + a) // d * m - s; it cannot be exported")


def _recurrent(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN | keras.layers.Bidirectional)]


def _inference_model(model: keras.Model, trained_width: int | None, width: int | None, fmt: str) -> keras.Model:
    """The model as exported: at the width asked for, and for LiteRT with its recurrent layers unrolled (a
    loop becomes TensorList ops LiteRT's built-in kernels lack)."""
    if width is not None and trained_width is not None and width != trained_width:
        raise SynthError(f"--width {width}: this model reads images {trained_width} pixels wide only; leave --width "
                         "out")
    if width is not None and width < 8:
        raise SynthError(f"--width {width}: give the width the export will read, at least 8 pixels")
    recurrent = _recurrent(model) if fmt == "litert" else []
    if recurrent and (width or trained_width) is None:
        layer = recurrent[0]
        raise SynthError(f"layer {layer.name!r} ({type(layer).__name__}) loops over a variable number of steps, "
                         "which LiteRT takes only unrolled, at a fixed width: pass --width N (the widest image it "
                         "will read; narrower ones are padded), or export to onnx, which takes any width")
    if not recurrent and width is None:
        return model

    def unrolled(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        _set_unroll(config)
        return type(layer).from_config(config)

    image = keras.Input((model.input_shape[1], width or trained_width, 1), name="image")
    clone = keras.models.clone_model(model, input_tensors=image, clone_function=unrolled)
    clone.set_weights(model.get_weights())
    return keras.Model(clone.inputs, clone.outputs, name=model.name)


def _set_unroll(config: Any) -> None:
    if isinstance(config, dict):
        if "unroll" in config:
            config["unroll"] = True
        for v in config.values():
            _set_unroll(v)


def _write(model: keras.Model, fmt: str, folder: Path, quantize: str | None, rec: Any) -> None:
    if fmt == "saved_model":
        model.export(str(folder / "saved"), format="tf_saved_model", verbose=False)
        for p in (folder / "saved").iterdir():
            p.rename(folder / p.name)
        (folder / "saved").rmdir()
    elif fmt == "onnx":
        model.export(str(folder / "model.onnx"), format="onnx", verbose=False)
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            float_file = folder / "float.onnx"
            (folder / "model.onnx").rename(float_file)
            quantize_dynamic(str(float_file), str(folder / "model.onnx"), weight_type=QuantType.QInt8)
            float_file.unlink()
    else:
        with tempfile.TemporaryDirectory() as saved:
            model.export(saved, format="tf_saved_model", verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(saved)
            if quantize is not None:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if quantize == "float16":
                converter.target_spec.supported_types = [tf.float16]
            elif quantize == "int8":  # weights and activations, calibrated on images like the training data
                converter.representative_dataset = lambda: _calibration(rec, model.input_shape[2])
            (folder / "model.tflite").write_bytes(converter.convert())


def _calibration(rec: Any, width: int | None):
    """Rendered images from the model's own training config, fed one by one as LiteRT's calibration wants."""
    from synth.config import SynthConfig
    from synth.image import to_float, to_model_input
    from synth.renderer import Renderer

    renderer = Renderer(rec.config.data if rec.config is not None else SynthConfig())
    for i in range(CALIBRATION):
        image, _ = renderer.render(7_777_777, i)
        yield [to_float(to_model_input(image, rec.height, width or 4 * rec.height)[None])]  # one shape: any will do
