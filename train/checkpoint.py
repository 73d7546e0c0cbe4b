"""Crash-safe checkpoints: weights, optimizer state and the loop's state, renamed into place when whole.

`latest` names the newest complete checkpoint; it is replaced atomically, so a kill at any moment leaves
either the old or the new checkpoint in force, never a half-written one. A damaged one (a disk error, a copy
cut short) is passed over for the one before it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np

from synth.errors import SynthError
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
    """Load the newest intact checkpoint into model and optimizer; its loop state, or None if there is none.

    The one `latest` names comes first, then the others newest first: a damaged file (a disk error, a copy cut
    short) costs the steps since the one before, saying so, never the run."""
    named = []
    try:
        named = [root / (root / "latest").read_text(encoding="utf-8").strip()]
    except (OSError, UnicodeDecodeError):
        pass
    found = sorted((p for p in root.glob("step-*") if p.is_dir()), reverse=True) if root.is_dir() else []
    candidates = list(dict.fromkeys(p for p in named + found if p.is_dir()))
    damaged = []
    for ckpt in candidates:
        try:
            state = _load(ckpt, model, optimizer)
        except Exception as e:  # h5py, numpy and json each fail in their own way on a damaged file
            damaged.append(f"{ckpt.name}: {type(e).__name__}")
            continue
        if damaged:
            print(f"note: checkpoint {', '.join(damaged)} is damaged; resumed from {ckpt.name}", file=sys.stderr)
        return state
    if damaged:
        raise SynthError(f"every checkpoint under {root} is damaged ({'; '.join(damaged)}): restore the folder from "
                         f"a copy, or delete {root} to train again from step 0")
    return None


def _load(ckpt: Path, model: keras.Model, optimizer: keras.optimizers.Optimizer) -> dict[str, Any]:
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise ValueError("state.json holds no step")
    model.load_weights(ckpt / "model.weights.h5")
    optimizer.build(model.trainable_variables)
    with np.load(ckpt / "optimizer.npz") as z:
        values = [z[f"arr_{i}"] for i in range(len(z.files))]
    for var, value in zip(optimizer.variables, values, strict=True):
        var.assign(value)
    return state
