"""Reading text without TensorFlow: an exported model run by ONNX Runtime or LiteRT, decoded in NumPy.

`Recognizer.from_export(PATH).predict(images)` reads as `train.load(MODEL_DIR).predict(images)` does: the
same preprocessing (`synth.image`), the same decoders (`train.decode`), the same tall images and views.
This module imports neither TensorFlow nor Keras (a SavedModel export alone needs TensorFlow, to run it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.alphabet import Alphabet
from synth.errors import SynthError
from synth.files import read_json
from synth.image import background, load_image, pad_images, to_float, to_grey, to_model_input
from synth.quiet import stderr_held
from train import decode

#: the file beside an exported model that says how to feed it and read its output
EXPORT_FILE = "synthocr.json"
#: an image at least this many times taller than wide is also read turned a quarter each way: a line set
#: vertically (a table's column heading, a figure's axis label) and cropped from its page
TALL = 3.0
#: the views `predict(views=N)` reads each image in, the first N of them, keeping the most confident reading:
#: real crops are cut tighter or looser than any one training mix, their letters set narrower or wider, in
#: either polarity, and a model misreads different crops in each view (the gain on real crops is in
#: docs/benchmarks.md; the order is the order of what each view added there)
VIEWS = ("as is", "wider", "margin", "inverted")
#: the wider view's scale across
WIDER = 1.3
#: the margin view's border on every side, as a share of the image's height, in its background's grey
MARGIN = 0.1
#: what `Recognizer.read` takes for an image in a folder
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


@dataclass
class Prediction:
    text: str
    confidence: float


class Recognizer:
    """A model's reading of images of any size or colour: text and confidence, decoded greedily, by beam, or
    to a lexicon. Subclasses run the model (`run`) and say how many output steps a width gives
    (`output_steps`)."""

    def __init__(self, alphabet: Alphabet, height: int, width: int | None, meta: dict[str, Any] | None = None):
        self.alphabet, self.height, self.width = alphabet, height, width
        self.meta = meta or {}

    @classmethod
    def from_export(cls, path: str | Path) -> Recognizer:
        """The model `train export` wrote to `path` (a folder holding synthocr.json)."""
        return Exported(path)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Logits (B, T, classes) of a float batch (B, H, W, 1)."""
        raise NotImplementedError

    def output_steps(self, widths: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def prepare(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Any images (grey or colour, any size) -> a float batch (B, H, W, 1) and their true widths."""
        batch, widths = pad_images([to_model_input(im, self.height, self.width) for im in images])
        return to_float(batch), widths

    def logits(self, x: np.ndarray, widths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits = self.run(x)
        return logits, np.minimum(np.asarray(self.output_steps(widths)), logits.shape[1])

    def decode(self, logits: np.ndarray, lengths: np.ndarray, method: str = "greedy",
               lexicon: Sequence[str] | None = None) -> list[Prediction]:
        if lexicon is not None:
            words, scores = decode.lexicon_decode(logits, lengths, lexicon, self.alphabet)
            return [Prediction(w, float(np.exp(s))) for w, s in zip(words, scores, strict=True)]
        if method == "beam":
            ids, logp = decode.beam_search_decode(logits, lengths)
            conf = np.exp(logp)
        elif method == "greedy":
            ids, conf = decode.greedy_decode(logits, lengths)
        else:
            raise SynthError(f"unknown decoding {method!r}: use greedy or beam (or pass a lexicon)")
        return [Prediction(self.alphabet.decode(i), float(c)) for i, c in zip(ids, conf, strict=True)]

    def predict(self, images: Sequence[np.ndarray], method: str = "greedy", lexicon: Sequence[str] | None = None,
                batch_size: int = 64, turn_tall: bool = True, views: int = 1) -> list[Prediction]:
        """Readings of `images`. With `turn_tall`, a tall image's reading is the more confident of its two
        quarter turns (equal sizes, so their alignment probabilities compare) when that reads at least two
        characters more than the image as it stands: a tall crop of one letter keeps its upright reading.
        `views` > 1 reads each image also in the next views of `VIEWS` and keeps the most confident reading
        (the first on a tie): that many times the work."""
        check_views(views)
        out = self._predict(images, method, lexicon, batch_size, turn_tall)
        for name in VIEWS[1:views]:
            seen = self._predict([view(im, name) for im in images], method, lexicon, batch_size, turn_tall)
            out = [max(a, b, key=lambda p: p.confidence) for a, b in zip(out, seen, strict=True)]
        return out

    def _predict(self, images: Sequence[np.ndarray], method: str, lexicon: Sequence[str] | None, batch_size: int,
                 turn_tall: bool) -> list[Prediction]:
        out: list[Prediction] = []
        for s in range(0, len(images), batch_size):
            x, widths = self.prepare(images[s : s + batch_size])
            out += self.decode(*self.logits(x, widths), method=method, lexicon=lexicon)
        tall = [i for i, im in enumerate(images) if turn_tall and im.shape[0] >= TALL * im.shape[1]]
        if tall:
            left, right = (self._predict([np.rot90(images[i], k) for i in tall], method, lexicon, batch_size, False)
                           for k in (1, -1))
            for i, a, b in zip(tall, left, right, strict=True):
                turned = max(a, b, key=lambda p: p.confidence)
                if len(turned.text) >= len(out[i].text) + 2:
                    out[i] = turned
        return out

    def read(self, source: str | Path | Sequence[str | Path], **predict: Any) -> list[tuple[Path, Prediction]]:
        """Read image files: a list of them, or every image in a folder (sorted by name); keywords go to
        `predict`. `train.load("runs/model").read("crops/")` is the whole of it."""
        if isinstance(source, str | Path) and Path(source).is_dir():
            paths = sorted(p for p in Path(source).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not paths:
                raise SynthError(f"{source} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        else:
            paths = [Path(p) for p in ([source] if isinstance(source, str | Path) else source)]
        return list(zip(paths, self.predict([load_image(p) for p in paths], **predict), strict=True))


def check_views(views: int) -> None:
    if not 1 <= views <= len(VIEWS):
        raise SynthError(f"--views {views}: give 1 to {len(VIEWS)} (the first N of: {', '.join(VIEWS)})")


def view(img: np.ndarray, name: str) -> np.ndarray:
    """One of `VIEWS` of an image, in grey."""
    grey = to_grey(img)
    h, w = grey.shape
    if name == "wider":
        return cv2.resize(grey, (max(1, round(w * WIDER)), h), interpolation=cv2.INTER_LINEAR)
    if name == "margin":
        return np.pad(grey, max(1, round(MARGIN * h)), constant_values=background(grey))
    if name == "inverted":
        return 255 - grey
    return grey


def is_export(path: str | Path) -> bool:
    return (Path(path) / EXPORT_FILE).is_file()


class Exported(Recognizer):
    """An exported model (onnx, litert, saved_model) with what its synthocr.json says about it."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not is_export(path):
            raise SynthError(f"{path} holds no {EXPORT_FILE}: make an export with `train export --model MODEL_DIR "
                             f"--format onnx --out {path}`")
        info = read_json(path / EXPORT_FILE, "export record", "export the model again")
        lacking = [k for k in ("format", "file", "alphabet", "height", "width", "output_steps")
                   if not isinstance(info, dict) or k not in info]
        if lacking:
            raise SynthError(f"{path / EXPORT_FILE} lacks {', '.join(lacking)}; export the model again")
        super().__init__(Alphabet(info["alphabet"]), info["height"], info["width"], info)
        self.rule = info["output_steps"]
        self.format = info["format"]
        file = path / info["file"]
        if self.format == "onnx":
            try:
                import onnxruntime
            except ImportError:
                raise SynthError("an onnx export runs in ONNX Runtime: pip install 'synthocr[runtime]'") from None
            self.session = onnxruntime.InferenceSession(str(file), providers=["CPUExecutionProvider"])
            self.input = self.session.get_inputs()[0].name
        elif self.format == "litert":
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError:
                raise SynthError("a litert export runs in LiteRT: pip install 'synthocr[runtime]'") from None
            self.interpreter = Interpreter(model_path=str(file))
            self.input = self.interpreter.get_input_details()[0]["index"]
            self.output = self.interpreter.get_output_details()[0]["index"]
            self.shape: tuple[int, ...] = ()
        elif self.format == "saved_model":
            import tensorflow as tf  # a SavedModel is TensorFlow's own: it cannot run without it

            self.saved = tf.saved_model.load(str(path))
        else:
            raise SynthError(f"{path / EXPORT_FILE}: unknown format {self.format!r}; export the model again")

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.format == "onnx":
            return self.session.run(None, {self.input: x})[0]
        if self.format == "litert":
            if x.shape != self.shape:  # batch size and width may change from call to call
                self.interpreter.resize_tensor_input(self.input, x.shape)
                with stderr_held():  # LiteRT's note that it made its CPU delegate
                    self.interpreter.allocate_tensors()
                self.shape = x.shape
            self.interpreter.set_tensor(self.input, x)
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self.output)
        return self.saved.serve(x).numpy()

    def output_steps(self, widths: np.ndarray) -> np.ndarray:
        r = self.rule
        return np.maximum((np.asarray(widths) + r["add"]) // r["div"] * r.get("mul", 1) - r["sub"], 0)
