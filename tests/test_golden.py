"""The pixels and specs of a few (seed, index) pairs, pinned: any change of what a sample looks like is a visible,
deliberate diff of tests/golden.json, made with a version bump (synth/version.py) and

    python tests/test_golden.py --write
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).with_name("golden.json")
PAIRS = [(0, 0), (0, 1), (0, 7), (3, 12345), (2**40, 5)]


def configs() -> dict:
    from synth import SynthConfig

    every = SynthConfig()
    for _, section in every.effects.sections():
        section.p = 1.0
    every.effects.paper.kinds = {"flat": 1.0, "gradient": 1.0, "texture": 1.0}
    every.effects.upside_down.p = 0.5
    return {"words": SynthConfig(), "lines": SynthConfig.preset("lines"), "every_effect": every}


def current() -> dict:
    from synth import Renderer, __version__

    out: dict = {"version": __version__, "samples": {}}
    for name, cfg in configs().items():
        r = Renderer(cfg)
        for seed, index in PAIRS:
            img, spec = r.render(seed, index)
            out["samples"][f"{name}/{seed}/{index}"] = {
                "shape": list(img.shape), "sha256": hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest(),
                "spec": json.loads(json.dumps(spec.to_dict())),
            }
    return out


def test_samples_are_as_pinned():
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = current()
    changed = [k for k in golden["samples"] if golden["samples"][k] != now["samples"].get(k)]
    assert not changed, (
        f"the pixels or specs of {changed} differ from tests/golden.json (pinned at synthocr {golden['version']}). "
        "If that is deliberate: bump synth/version.py and run `python tests/test_golden.py --write`")
    assert set(now["samples"]) == set(golden["samples"])
    if golden["version"] != now["version"]:
        pytest.fail(f"golden.json was written by {golden['version']}: rewrite it for {now['version']}")


def test_each_component_reserves_the_uniforms_it_takes():
    """A component that took more than it reserves would read into the next one's stream."""
    from synth import Renderer
    from synth.renderer import STREAMS

    r = Renderer()
    for e in r.effects:
        assert STREAMS[e.name] == 1 + e.draws, e.name
    assert (STREAMS["geometry"], STREAMS["paper"]) == (r.geometry.draws, r.paper.draws)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDEN.write_text(json.dumps(current(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
