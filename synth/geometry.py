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
from synth.rng import Draws


def sample_geometry(rng: Draws, fx: EffectsConfig, rc: RenderConfig) -> dict:
    """Draw every geometric choice; the same number of draws whatever applies, so later draws never shift."""
    u = [rng.random() for _ in range(6)]
    angle = rng.uniform(-fx.rotate, fx.rotate)
    shear = rng.uniform(-fx.shear, fx.shear)
    jitter = [rng.uniform(-fx.perspective, fx.perspective) for _ in range(8)]
    margins = [rng.uniform(0.0, rc.margin) for _ in range(4)]
    return {
        "angle": angle if u[0] < fx.p_rotate else 0.0,
        "upside_down": u[2] < fx.p_upside_down,
        "shear": shear if u[1] < fx.p_shear else 0.0,
        "perspective": jitter if u[3] < fx.p_perspective else None,
        "x": u[4],  # position in the free space, 0 = left/top, 1 = right/bottom
        "y": u[5],
        "margins": margins,  # left, right, top, bottom as fractions of the height
    }


def place(mask: np.ndarray, geo: dict, rc: RenderConfig, baseline_box: tuple[int, int]) -> np.ndarray:
    """Warp the line's mask onto the output canvas (H x W, or H x fitted width when the width is variable).

    `baseline_box` is the (top, bottom) rows of the font's ascent-descent box inside `mask`: scale is set by
    that box, not by the ink, so an 'a' and an 'H' of the same font keep their relative sizes.
    """
    h, w = mask.shape
    H = rc.height
    ml, mr, mt, mb = (m * H for m in geo["margins"])
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    cx, cy = w / 2, (baseline_box[0] + baseline_box[1]) / 2
    a = math.radians(geo["angle"] + (180.0 if geo["upside_down"] else 0.0))
    ca, sa = math.cos(a), math.sin(a)
    sh = geo["shear"]
    # shear (slant) then rotate, about the centre of the line
    pts = src - (cx, cy)
    pts = np.stack([pts[:, 0] + sh * -pts[:, 1], pts[:, 1]], axis=1)
    pts = np.stack([ca * pts[:, 0] - sa * pts[:, 1], sa * pts[:, 0] + ca * pts[:, 1]], axis=1)
    box_h = baseline_box[1] - baseline_box[0]
    if geo["perspective"] is not None:
        pts = pts + np.float32(geo["perspective"]).reshape(4, 2) * box_h
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    bw, bh = float(hi[0] - lo[0]), float(hi[1] - lo[1])
    avail_h = max(H - mt - mb, 1.0)
    if rc.width is None:
        avail_w = rc.max_width - ml - mr
    else:
        avail_w = max(rc.width - ml - mr, 1.0)
    scale = min(1.0, avail_h / bh, avail_w / bw)
    if rc.width is None:
        out_w = int(min(rc.max_width, math.ceil(bw * scale + ml + mr)))
        ox = ml + (out_w - ml - mr - bw * scale) * geo["x"]
    else:
        out_w = rc.width
        ox = ml + (avail_w - bw * scale) * geo["x"]
    oy = mt + (avail_h - bh * scale) * geo["y"]
    dst = ((pts - lo) * scale + (ox, oy)).astype(np.float32)
    if geo["perspective"] is None:
        m = cv2.getAffineTransform(src[:3], dst[:3])
        return cv2.warpAffine(mask, m, (out_w, H), flags=cv2.INTER_LINEAR, borderValue=0)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(mask, m, (out_w, H), flags=cv2.INTER_LINEAR, borderValue=0)
