"""Procedural fields: fixed noise, and the surfaces of real backgrounds drawn without shipping photos.

The noise fields are what paper textures and noise effects cut windows from; the surfaces are stripes,
brick, wood grain, woven fabric and stone. Each surface is a float32 (h, w) pattern of about unit amplitude
that `Paper` scales around the paper's grey, shaped by three uniforms (`where`: two for position, `size`: one
for scale), so the spec fixes it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import cv2
import numpy as np

#: the shape of the cached fields (noise, stone): windows are cut at the sample's offset, tiled for larger images
FIELD_SHAPE = (256, 2048)


@cache
def noise_field(kind: str) -> np.ndarray:
    """A fixed float32 field, the same in every process: 'normal' (unit gaussian), 'speckle' (blurred normal,
    unit std) or 'texture' (smooth paper-like noise, unit std)."""
    rng = np.random.default_rng({"normal": 1, "speckle": 2, "texture": 3}[kind])
    f = rng.standard_normal(FIELD_SHAPE, dtype=np.float32)
    if kind == "speckle":
        f = cv2.GaussianBlur(f, (0, 0), 1.0)
    elif kind == "texture":
        f = cv2.GaussianBlur(f, (0, 0), 6.0) + 0.35 * cv2.GaussianBlur(f, (0, 0), 1.5)
    return f / f.std()


def field_window(kind: str, h: int, w: int, offset: tuple[float, float]) -> np.ndarray:
    """The (h, w) window of a cached field at `offset` (two fractions of the room left)."""
    return window(noise_field(kind), h, w, offset)


def window(f: np.ndarray, h: int, w: int, offset: tuple[float, float]) -> np.ndarray:
    """The (h, w) window of field `f` at `offset`, the field tiled first where it is smaller."""
    fh, fw = f.shape
    if h > fh or w > fw:
        f = np.tile(f, (-(-h // fh), -(-w // fw)))
        fh, fw = f.shape
    oy = int(offset[0] * (fh - h))
    ox = int(offset[1] * (fw - w))
    return f[oy : oy + h, ox : ox + w]


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def stripes(h: int, w: int, where: tuple[float, float], size: float) -> np.ndarray:
    """Parallel bands at any angle (awnings, blinds, corrugated boards), 4 to 24 pixels a period."""
    ys, xs = _grid(h, w)
    angle, period = np.pi * where[0], 4.0 + 20.0 * size
    phase = 2 * np.pi * where[1]
    return np.sin((xs * np.cos(angle) + ys * np.sin(angle)) * (2 * np.pi / period) + phase).astype(np.float32)


def brick(h: int, w: int, where: tuple[float, float], size: float) -> np.ndarray:
    """Courses of bricks, each a shade of its own, every other course offset by half a brick, in mortar."""
    ys, xs = _grid(h, w)
    course = 6.0 + 14.0 * size
    length = 2.2 * course
    ys = ys + where[0] * course
    row = np.floor(ys / course)
    xs = xs + where[1] * length + (row % 2) * (length / 2)
    col = np.floor(xs / length)
    shade = np.sin(row * 12.9898 + col * 78.233) * 43758.5453  # a hash of the brick, as in shader noise
    shade = 2.0 * (shade - np.floor(shade)) - 1.0
    mortar = (ys - row * course < 1.5) | (xs - col * length < 1.5)
    return np.where(mortar, -1.5, 0.6 * shade).astype(np.float32)


def wood(h: int, w: int, where: tuple[float, float], size: float) -> np.ndarray:
    """Grain: long rings, bent by the smooth noise field, across the board."""
    ys, _ = _grid(h, w)
    bend = field_window("texture", h, w, where)
    return np.sin(2 * np.pi * (ys / (3.0 + 9.0 * size) + 0.8 * bend)).astype(np.float32)


def fabric(h: int, w: int, where: tuple[float, float], size: float) -> np.ndarray:
    """A plain weave: threads over and under, 2 to 6 pixels apart, with uneven yarn."""
    ys, xs = _grid(h, w)
    pitch = 2.0 + 4.0 * size
    weave = np.sin(2 * np.pi * xs / pitch) * np.sin(2 * np.pi * ys / pitch)
    return (weave + 0.4 * field_window("speckle", h, w, where)).astype(np.float32)


def stone(h: int, w: int, where: tuple[float, float], size: float) -> np.ndarray:
    """Cobbles or granite: cells of stone with darker joints, and fine grain."""
    return window(_stone_field(min(int(size * 3), 2)), h, w, where)


@cache
def _stone_field(scale: int) -> np.ndarray:
    """The same field in every process: the distance to the nearest of random seed points (cells 8, 14 or 20
    pixels across), negated so that a cell is light about its seed and dark on its joints (where the distance
    peaks), with fine grain; unit std."""
    rng = np.random.default_rng(40 + scale)
    cell = (8, 14, 20)[scale]
    seeds = np.full(FIELD_SHAPE, 255, np.uint8)
    n = FIELD_SHAPE[0] * FIELD_SHAPE[1] // cell**2
    seeds[rng.integers(0, FIELD_SHAPE[0], n), rng.integers(0, FIELD_SHAPE[1], n)] = 0
    dist = cv2.distanceTransform(seeds, cv2.DIST_L2, 3)
    f = -np.sqrt(dist) + 0.3 * noise_field("speckle")
    f -= f.mean()
    return (f / f.std()).astype(np.float32)


#: the background kinds this module draws, by name (`PaperConfig.kinds`)
PATTERNS: dict[str, Callable[[int, int, tuple[float, float], float], np.ndarray]] = {
    "stripes": stripes, "brick": brick, "wood": wood, "fabric": fabric, "stone": stone,
}
