"""Where the bundled fonts are: `FONTS_DIR`, in the installed package or in the source tree."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: the data package that pyproject.toml makes of the repository's top-level fonts/ folder
PACKAGE = "synth_fonts"


def _fonts_dir() -> Path:
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError:  # a plain source tree, never installed
        root = None
    if isinstance(root, Path) and root.is_dir():
        return root
    return Path(__file__).resolve().parent.parent / "fonts"


#: the folder of bundled fonts: site-packages/synth_fonts in a wheel install, the repo's fonts/ otherwise
FONTS_DIR: Path = _fonts_dir()
