"""Placing the drawn line on the output canvas: rotation, upside-down, shear, perspective, scale, position.

All of it is one homography, so the text is resampled once. Random choices are stored relative to the text
(degrees, fractions of the height, positions as fractions of the free space), so the same geometry applies
to the same text in any font.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from synth.config import EffectsConfig, RenderConfig
from synth.errors import SynthError
from synth.rng import between


class Geometry:
    """The placing of the line as a component: `sample` draws rotation, upside-down, shear, perspective,
    position and margins into the spec; `apply` warps the line's mask with them (`place`); `force` sets one of
    rotation or perspective to a fixed strength, for sweeps."""

    name = "geometry"
    #: the geometric effects `force` can sweep
    SWEEPABLE = ("rotate", "perspective")

    def __init__(self, fx: EffectsConfig, rc: RenderConfig):
        self.fx, self.rc = fx, rc

    #: uniforms it reserves
    draws = 20

    def sample(self, u: list[float]) -> dict:
        """Every geometric choice from its 20 uniforms, whatever applies: toggling one shifts no other."""
        fx = self.fx
        angle = between(u[6], -fx.rotate.degrees, fx.rotate.degrees)
        shear = between(u[7], -fx.shear.factor, fx.shear.factor)
        jitter = [between(v, -fx.perspective.jitter, fx.perspective.jitter) for v in u[8:16]]
        margins = [between(v, 0.0, self.rc.margin) for v in u[16:20]]
        return {
            "angle": angle if u[0] < fx.rotate.p else 0.0,
            "upside_down": u[2] < fx.upside_down.p,
            "shear": shear if u[1] < fx.shear.p else 0.0,
            "perspective": jitter if u[3] < fx.perspective.p else None,
            "x": u[4],  # position in the free space, 0 = left/top, 1 = right/bottom
            "y": u[5],
            "margins": margins,  # left, right, top, bottom as fractions of the height
        }

    def force(self, geo: dict, effect: str, level: float, u: list[float]) -> dict:
        """`geo` with `effect` at strength `level` (degrees, or corner jitter as a fraction of the height; 0: off),
        its direction taken from the uniforms `u` (9)."""
        if effect == "rotate":
            return {**geo, "angle": level if u[0] < 0.5 else -level}
        if effect == "perspective":
            return {**geo, "perspective": [(2 * v - 1) * level for v in u[1:9]] if level > 0 else None}
        raise SynthError(f"geometry cannot sweep {effect!r}; it sweeps {', '.join(self.SWEEPABLE)}")

    def apply(self, mask: np.ndarray, geo: dict, baseline_box: tuple[int, int], tight: bool,
              stretch: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        return place(mask, geo, self.rc, baseline_box, tight, stretch)


def place(mask: np.ndarray, geo: dict, rc: RenderConfig, baseline_box: tuple[int, int],
          tight: bool = False, stretch: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Warp the line's mask onto the output canvas (H x W, or H x fitted width when the width is variable);
    the warped mask and the warp (2x3 affine or 3x3 perspective matrix, from the line's pixels to the canvas's).

    `baseline_box` is the (top, bottom) rows of the font's letter box inside `mask` (of the ink, for a
    `tight` crop, which may also be enlarged up to 2x to fill the height, in margins a tenth as wide): the line
    turns about its centre, after `stretch` scales it across, and perspective jitter is a fraction of its
    height. A line too wide for a fixed width shrinks, or with `rc.fit` "squeeze" narrows to fit. The four
    corners are moved in plain Python: numpy's per-call overhead on 4 points cost more than the warp itself.
    """
    h, w = mask.shape
    H = rc.height
    f = 0.1 if tight else 1.0
    ml, mr, mt, mb = geo["margins"]
    ml, mr, mt, mb = ml * H * f, mr * H * f, mt * H * f, mb * H * f
    cx, cy = w / 2, (baseline_box[0] + baseline_box[1]) / 2
    a = math.radians(geo["angle"] + (180.0 if geo["upside_down"] else 0.0))
    ca, sa = math.cos(a), math.sin(a)
    sh = geo["shear"]
    # stretch across, shear (slant), then rotate, about the centre of the line: p -> A (p - c), A = R S D
    a00, a01, a10, a11 = ca * stretch, -ca * sh - sa, sa * stretch, -sa * sh + ca
    corners = ((0.0, 0.0), (w, 0.0), (w, h), (0.0, h))
    pts = [(a00 * (x - cx) + a01 * (y - cy), a10 * (x - cx) + a11 * (y - cy)) for x, y in corners]
    jitter = geo["perspective"]
    if jitter is not None:
        box_h = baseline_box[1] - baseline_box[0]
        pts = [(x + jitter[2 * i] * box_h, y + jitter[2 * i + 1] * box_h) for i, (x, y) in enumerate(pts)]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    lox, loy = min(xs), min(ys)
    bw, bh = max(xs) - lox, max(ys) - loy
    avail_h = max(H - mt - mb, 1.0)
    avail_w = rc.max_width - ml - mr if rc.width is None else max(rc.width - ml - mr, 1.0)
    # a tight crop may be enlarged (a line of x-height letters fills the height); the rest only shrinks
    sy = min(2.0 if tight else 1.0, avail_h / bh)
    # too wide: shrink both ways, or (squeeze) only across, as resizing a real crop to the model's input does
    sx = min(sy, avail_w / bw)
    if rc.width is None or rc.fit == "shrink":
        sy = sx
    if rc.width is None:
        out_w = int(min(rc.max_width, math.ceil(bw * sx + ml + mr)))
        ox = ml + (out_w - ml - mr - bw * sx) * geo["x"]
    else:
        out_w = rc.width
        ox = ml + (avail_w - bw * sx) * geo["x"]
    oy = mt + (avail_h - bh * sy) * geo["y"]
    if jitter is None:  # affine: dst = S A (p - c) + (o - S lo), S = diag(sx, sy)
        tx, ty = ox - sx * lox, oy - sy * loy
        m = np.array([[sx * a00, sx * a01, tx - sx * (a00 * cx + a01 * cy)],
                      [sy * a10, sy * a11, ty - sy * (a10 * cx + a11 * cy)]], np.float64)
        return cv2.warpAffine(mask, m, (out_w, H), flags=cv2.INTER_LINEAR, borderValue=0), m
    src = np.array(corners, np.float32)
    dst = np.array([((x - lox) * sx + ox, (y - loy) * sy + oy) for x, y in pts], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(mask, m, (out_w, H), flags=cv2.INTER_LINEAR, borderValue=0), m
