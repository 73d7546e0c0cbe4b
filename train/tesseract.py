"""Tesseract as a reference reader for `train eval --compare tesseract`.

It is an optional system program (Debian: `apt-get install tesseract-ocr`): when it is missing the comparison
says so instead of failing. All images go through one process over a list file, since starting Tesseract
(loading its model) costs more than reading a small image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

#: Tesseract's page segmentation modes for one line and one word
PSM_LINE, PSM_WORD = 7, 8


def find(binary: str = "tesseract") -> str | None:
    """The executable's path, or None when it is not installed (or not on PATH)."""
    return shutil.which(binary)


def version(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "?"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "?"


def psm_for(refs: Sequence[str]) -> int:
    """Line mode when any label holds a space, else word mode: psm 8 on lines drops all but one word, and
    psm 7 on single words reads a little worse."""
    return PSM_LINE if any(" " in r.strip() for r in refs) else PSM_WORD


def _run(path: str, inputs: list[str], psm: int, lang: str, timeout: float | None) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # its OpenMP threads only slow small images down
    with tempfile.TemporaryDirectory(prefix="synthocr-tess-") as tmp:
        listing = Path(tmp) / "images.txt"
        listing.write_text("\n".join(inputs) + "\n", encoding="utf-8")
        done = subprocess.run([path, str(listing), "stdout", "--psm", str(psm), "-l", lang], capture_output=True,
                              env=env, timeout=timeout)
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise RuntimeError(f"tesseract exited with status {done.returncode}: {' / '.join(tail)}")
    return done.stdout.decode("utf-8", "replace")


def read(images: Sequence[np.ndarray], psm: int, binary: str = "tesseract", lang: str = "eng",
         timeout: float | None = None) -> list[str]:
    """Tesseract's text for each image (whitespace collapsed). Raises RuntimeError if it is missing or fails."""
    path = find(binary)
    if path is None:
        raise RuntimeError(f"{binary} not found")
    with tempfile.TemporaryDirectory(prefix="synthocr-tess-img-") as tmp:
        files = []
        for i, img in enumerate(images):
            files.append(str(Path(tmp) / f"{i:06d}.png"))
            cv2.imwrite(files[-1], img)
        pages = _run(path, files, psm, lang, timeout).split("\f")  # a form feed follows every page but the last
        if len(pages) != len(files):  # never seen; one process per image is slow but cannot misalign
            pages = [_run(path, [f], psm, lang, timeout) for f in files]
    return [" ".join(p.split()) for p in pages]
