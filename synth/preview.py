"""A contact sheet of samples with their text and font, so a person sees the data at a glance."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synth.bundled import FONTS_DIR
from synth.config import SynthConfig
from synth.errors import SynthError
from synth.fonts import SCRIPTS_DIR
from synth.renderer import Renderer
from synth.rng import check_seed

CAPTION_FONT = FONTS_DIR / "dejavu" / "DejaVuSansMono-Bold.ttf"


def caption_font(px: int = 11, text: str = "") -> ImageFont.ImageFont:
    """The captions' font, or for a caption it cannot draw (Hangul, Arabic...) a bundled script font that can."""
    for path in _caption_fonts():
        if set(text) - {" "} <= _cmap(path):
            return _truetype(path, px)
    return ImageFont.load_default()


@cache
def _truetype(path: Path, px: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(path), px)
    except OSError:
        return ImageFont.load_default()


@cache
def _caption_fonts() -> tuple[Path, ...]:
    return (CAPTION_FONT, *sorted(SCRIPTS_DIR.rglob("*.[ot]tf")))


@cache
def _cmap(path: Path) -> frozenset[str]:
    from fontTools.ttLib import TTFont

    try:
        return frozenset(map(chr, TTFont(str(path), lazy=True).getBestCmap() or {}))
    except Exception:  # an unreadable font draws no caption
        return frozenset()


def grid(tiles: list[tuple[np.ndarray, list[str]]], columns: int = 4, scale: int = 2) -> Image.Image:
    """Lay out grey images with caption lines under each; shared by the preview and the worst-sample reports."""
    line_h = 13
    n_lines = max(len(c) for _, c in tiles)
    tile_w = max(im.shape[1] for im, _ in tiles) * scale
    tile_h = max(im.shape[0] for im, _ in tiles) * scale + n_lines * line_h + 6
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * (tile_w + 8) + 8, rows * tile_h + 8), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (img, caption) in enumerate(tiles):
        x = 8 + (k % columns) * (tile_w + 8)
        y = 4 + (k // columns) * tile_h
        pic = Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST)
        sheet.paste(pic.convert("RGB"), (x, y))
        ty = y + pic.height + 2
        for j, line in enumerate(caption):
            shown = line[: tile_w // 7]
            draw.text((x, ty + j * line_h), shown, fill=(160, 0, 0) if j else (0, 0, 0),
                      font=caption_font(text=shown))
    return sheet


def preview(config: SynthConfig | None, out: str | Path, seed: int = 0, count: int = 32, columns: int = 4,
            boxes: bool = False) -> Path:
    """A sheet of `count` samples with their texts and fonts; with `boxes`, each character's box drawn over it."""
    out = Path(out)
    if out.is_dir():
        raise SynthError(f"--out {out} is a folder; give the PNG file to write, e.g. {out / 'preview.png'}")
    if count < 1 or columns < 1:
        raise SynthError(f"--count {count} --columns {columns}: give at least one sample and one column")
    check_seed(seed)
    renderer = Renderer(config)
    tiles = []
    for i in range(count):
        img, spec = renderer.render(seed, i, boxes=boxes)
        if boxes:
            img = img.copy()
            for b in filter(None, spec.boxes):
                grey = 0 if img[int(b[1]) : int(b[3]) + 1, int(b[0]) : int(b[2]) + 1].mean() > 127 else 255
                cv2.rectangle(img, (int(b[0]), int(b[1])), (int(np.ceil(b[2])) - 1, int(np.ceil(b[3])) - 1), grey, 1)
        tiles.append((img, [repr(spec.text)[1:-1], spec.font]))
    out.parent.mkdir(parents=True, exist_ok=True)
    grid(tiles, columns).save(out, format="PNG")  # whatever the name ends in
    return out
