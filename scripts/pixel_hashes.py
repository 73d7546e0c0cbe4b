"""Hashes of rendered pixels and specs over several configs: the check that a refactor kept every pixel.

    python scripts/pixel_hashes.py [--count 3000] [--out hashes.json] [--against earlier.json]

Each config is given in the version 0.3 layout (flat `p_*` effect fields), which every later version loads,
so the same script compares a tree before and after a change of the config's layout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

import synth
import synth.config

#: (name, changes to the defaults in the 0.3 layout)
CONFIGS: list[tuple[str, dict]] = [
    ("words", {}),
    ("lines", {"preset": "lines"}),
    ("plain", {"effects": {"p_rotate": 0.0, "p_shear": 0.0, "p_perspective": 0.0, "p_blur": 0.0,
                           "p_background": 0.0, "p_invert": 0.0, "p_gaussian_noise": 0.0, "p_speckle": 0.0,
                           "p_salt_pepper": 0.0, "p_jpeg": 0.0, "p_curly_quotes": 0.0,
                           "paper": [255, 255], "ink": [0, 0]}}),
    ("everything", {"effects": {"p_upside_down": 0.2, "p_tight": 0.3, "p_binarize": 0.3, "p_stroke_weight": 0.5,
                                "p_salt_pepper": 0.3, "p_speckle": 0.4,
                                "backgrounds": {"flat": 1, "gradient": 1, "texture": 1, "image": 1}},
                    "text": {"sources": {"random": 0.3, "words": 0.4, "prose": 0.3}, "max_len": 24},
                    "render": {"width": None, "max_width": 400}, "fonts": {"weights": {"Breip": 5.0}}}),
]


def build(changes: dict, image_dir: str) -> synth.SynthConfig:
    changes = json.loads(json.dumps(changes))
    cfg = synth.SynthConfig.preset(changes.pop("preset", "words")).to_dict()
    if "effects" in changes and "backgrounds" in changes["effects"]:
        changes["effects"]["background_dirs"] = [image_dir]
    upgrade = getattr(synth.config, "upgrade_effects", lambda d: d)  # identity where 0.3 is this tree's layout
    for section, fields in changes.items():
        _merge(cfg[section], upgrade(fields) if section == "effects" else fields)
    return synth.SynthConfig.from_dict(cfg)


def _merge(into: dict, fields: dict) -> None:
    for k, v in fields.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict) and k not in ("backgrounds", "kinds", "weights",
                                                                               "sources"):
            _merge(into[k], v)
        else:
            into[k] = v


def backgrounds(folder: Path) -> str:
    import cv2

    r = np.random.default_rng(5)
    for i in range(3):
        img = cv2.GaussianBlur(r.integers(0, 256, (120, 300), dtype=np.uint8), (0, 0), 3 + 2 * i)
        cv2.imwrite(str(folder / f"bg{i}.png"), img)
    return str(folder)


def hashes(count: int) -> dict[str, dict[str, str]]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        image_dir = backgrounds(Path(tmp))
        for name, changes in CONFIGS:
            cfg = build(changes, image_dir)
            r = synth.Renderer(cfg)
            px, sp = hashlib.sha256(), hashlib.sha256()
            for i in range(count):
                img, spec = r.render(3, i)
                px.update(np.ascontiguousarray(img).tobytes() + str(img.shape).encode())
                sp.update(json.dumps(spec.to_dict(), sort_keys=True).encode())
            out[name] = {"pixels": px.hexdigest(), "specs": sp.hexdigest()}
            print(f"{name:<12} pixels {out[name]['pixels'][:16]}  specs {out[name]['specs'][:16]}", flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--out")
    p.add_argument("--against", help="an earlier run's JSON: exit 1 if any pixels differ")
    a = p.parse_args()
    got = hashes(a.count)
    if a.out:
        Path(a.out).write_text(json.dumps({"count": a.count, "hashes": got}, indent=1))
    if a.against:
        before = json.loads(Path(a.against).read_text())["hashes"]
        diff = [n for n in got if before.get(n, {}).get("pixels") != got[n]["pixels"]]
        spec_diff = [n for n in got if before.get(n, {}).get("specs") != got[n]["specs"]]
        print(f"pixels differ in: {diff or 'none'}; specs differ in: {spec_diff or 'none'}")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
