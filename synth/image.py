"""The image contract between data and model: loading, resizing and padding to the model's input, batching.

Inference imports this without the renderer or its worker pool. A batch is a dict of `KEYS`: uint8 images
(B, H, W) right-padded with their background, true widths, labels padded with PAD (the CTC blank), lengths, texts
and fonts; the model takes the images as float32 in [0, 1], (B, H, W, 1) (`to_float`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.alphabet import PAD, Alphabet
from synth.errors import SynthError
from synth.formats import image_suffix

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # its warnings would repeat our errors

#: the keys of a batch, as streams, datasets and the numpy feed give it
KEYS = ("image", "width", "label", "label_length", "text", "font")


#: EXIF orientation -> how to stand the image up: (rotation, as np.rot90's k), then a left-right flip
EXIF_TURNS = {2: (0, True), 3: (2, False), 4: (2, True), 5: (1, True), 6: (3, False), 7: (3, True), 8: (1, False)}


def load_image(source: Path | bytes) -> np.ndarray:
    """Any image file, or its encoded bytes (8/16-bit, grey, colour, alpha), as grey uint8, as a viewer shows
    it: transparency over white (text drawn only in the alpha channel reads), turned as its EXIF orientation
    says (phone photos); a clear error when it cannot be read."""
    if isinstance(source, bytes):
        img = cv2.imdecode(np.frombuffer(source, np.uint8), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise SynthError("an image in the dataset cannot be decoded (corrupt); restore the dataset, or write it "
                             "again")
        head = source[:12]
    else:
        if not Path(source).is_file():
            raise SynthError(f"image {source} " + ("is a folder" if Path(source).is_dir() else "not found"))
        img = cv2.imread(str(source), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise SynthError(f"cannot read image {source}: damaged, or not an image OpenCV reads")
        with open(source, "rb") as f:
            head = f.read(12)
    img = _to_uint8(img, source)
    if img.ndim == 3 and img.shape[2] == 4:  # over white, as a viewer shows it
        alpha = img[:, :, 3:].astype(np.float32) * (1.0 / 255.0)
        img = (img[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if image_suffix(head) in (".jpg", ".tif", ".webp"):  # the formats that carry an EXIF orientation
        k, flip = EXIF_TURNS.get(_exif_orientation(source), (0, False))
        img = np.ascontiguousarray(np.rot90(np.fliplr(img) if flip else img, k))
    return img


def _to_uint8(img: np.ndarray, source: Path | bytes) -> np.ndarray:
    """8 bits a channel, as a viewer shows them: 16-bit scaled down, floating point taken as 0 to 1."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return (img / 257).astype(np.uint8)
    if img.dtype.kind == "f":
        return (np.clip(np.nan_to_num(img), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    name = "an image in the dataset" if isinstance(source, bytes) else f"image {source}"
    raise SynthError(f"{name} has {img.dtype} pixels; save it with 8 or 16 bits a channel")


def _exif_orientation(source: Path | bytes) -> int:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            return int(im.getexif().get(0x0112, 1))
    except (OSError, ValueError):
        return 1


def to_grey(img: np.ndarray) -> np.ndarray:
    """An RGB(A) image in grey (BT.601 luma, as a camera's grey is made); a grey one as it is."""
    if img.ndim == 3:
        return cv2.cvtColor(img, cv2.COLOR_RGBA2GRAY if img.shape[2] == 4 else cv2.COLOR_RGB2GRAY)
    return img


def to_model_input(img: np.ndarray, height: int, width: int | None) -> np.ndarray:
    """Any image (grey or colour, any size) -> uint8 (height, W): resized to the height keeping the aspect,
    then right-padded with its background (or squeezed when wider) to a fixed width."""
    img = to_grey(img)
    h, w = img.shape
    new_w = max(1, round(w * height / h))
    if width is not None and new_w > width:
        new_w = width
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    img = cv2.resize(img, (new_w, height), interpolation=interp)
    if width is not None and new_w < width:
        img = np.pad(img, ((0, 0), (0, width - new_w)), constant_values=background(img))
    return img


def background(img: np.ndarray) -> int:
    """The grey of a crop's background: the median of its border pixels. Padding with it extends the paper;
    repeating the last column instead drew streaks wherever ink touched the right edge, as in tight real crops,
    and no rendered sample shows those (it cost a scene model 4 points of IIIT5K)."""
    return int(np.median(np.concatenate((img[0], img[-1], img[1:-1, 0], img[1:-1, -1]))))


def pad_images(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack grey images of one height: (B, H, Wmax) uint8, each right-padded with its own background (one grey
    for all would draw a bar beside the text), and the true widths."""
    widths = np.array([im.shape[1] for im in images], np.int32)
    wmax = int(widths.max())
    if widths.min() == wmax:  # a fixed width: one copy
        return np.stack(images), widths
    batch = np.empty((len(images), images[0].shape[0], wmax), np.uint8)
    for i, im in enumerate(images):
        w = im.shape[1]
        batch[i, :, :w] = im
        if w < wmax:
            batch[i, :, w:] = background(im)
    return batch, widths


def collate(images: list[np.ndarray], texts: list[str], fonts: list[str], alphabet: Alphabet, max_len: int,
            encode: str = "strict") -> dict[str, Any]:
    """Stack samples into one batch: images right-padded with their background to the widest, labels padded with PAD.

    `encode="keep"` puts only the encodable characters into `label` (for scoring real text that has
    characters the model cannot produce); "strict" raises on them.
    """
    n = len(images)
    batch, widths = pad_images(images)
    labels = np.full((n, max_len), PAD, np.int32)
    lengths = np.zeros(n, np.int32)
    for i, t in enumerate(texts):
        ids = alphabet.encode(t if encode == "strict" else "".join(c for c in t if c in alphabet))[:max_len]
        labels[i, : len(ids)] = ids
        lengths[i] = len(ids)
    return {"image": batch, "width": widths, "label": labels, "label_length": lengths, "text": texts, "font": fonts}


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 images (B, H, W) -> the model's input: float32 in [0, 1], (B, H, W, 1)."""
    return images[..., None].astype(np.float32) / 255.0
