"""Crash-safe checkpoints: weights, optimizer state and the loop's state, renamed into place when whole.

`latest` names the newest complete checkpoint; it is replaced atomically, so a kill at any moment leaves
either the old or the new checkpoint in force, never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import keras
import numpy as np

from synth.files import write_atomic

KEEP = 2


def save(root: Path, model: keras.Model, optimizer: keras.optimizers.Optimizer, state: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{state['step']:08d}"
    tmp = root / f".tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    model.save_weights(tmp / "model.weights.h5")
    np.savez(tmp / "optimizer.npz", *[np.asarray(v) for v in optimizer.variables])
    (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")
    final = root / name
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    write_atomic(root / "latest", name)
    older = sorted(p for p in root.glob("step-*") if p.name != name)
    for old in older[: max(0, len(older) - (KEEP - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def restore(root: Path, model: keras.Model, optimizer: keras.optimizers.Optimizer) -> dict[str, Any] | None:
    """Load the newest complete checkpoint into model and optimizer; its loop state, or None if none."""
    latest = root / "latest"
    if not latest.exists():
        return None
    ckpt = root / latest.read_text(encoding="utf-8").strip()
    model.load_weights(ckpt / "model.weights.h5")
    optimizer.build(model.trainable_variables)
    with np.load(ckpt / "optimizer.npz") as z:
        values = [z[f"arr_{i}"] for i in range(len(z.files))]
    for var, value in zip(optimizer.variables, values, strict=True):
        var.assign(value)
    return json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
