"""A training run's folder: its config (and what a resume may change), meta, history, logs and kept model."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

import keras

from synth.errors import SynthError
from synth.files import read_json, write_atomic
from synth.version import __version__
from train.config import FitConfig

MODEL_FILE = "model.keras"
#: fields a resumed run may change: how it runs, and the learning rate (to be lowered after a NaN loss)
#: (a change of distribute goes on with a note: its steps take another number of samples, see train.distribute)
OPERATIONAL = ("steps", "feed", "workers", "ray", "distribute", "eval_every", "checkpoint_every", "patience",
               "max_minutes", "learning_rate")


def what_it_learns(cfg: FitConfig) -> dict[str, Any]:
    """The config as a dict without its OPERATIONAL fields: what a resumed run, or each worker of one, must share."""
    d = cfg.to_dict()
    for k in OPERATIONAL:
        d["train"].pop(k)
    return d


class ModelDir:
    """The files of one run under `path`: config.json, alphabet.json, meta.json, history.jsonl, logs/,
    checkpoints/ and the kept inference model. Every file is replaced whole, so a kill leaves a usable dir."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.logs = self.path / "logs"
        self.model_file = self.path / MODEL_FILE

    def prepare(self, cfg: FitConfig) -> FitConfig:
        """Start the dir, or check that a resumed run learns from what it started with."""
        saved_path = self.path / "config.json"
        if saved_path.exists():
            mine, theirs = what_it_learns(cfg), what_it_learns(FitConfig.load(saved_path))
            if mine != theirs:
                raise SynthError(f"{self.path} holds a run with another config ({_diff(theirs, mine)}); resume with "
                                 "the same flags (or none: the saved config is the default), or use a new --out folder")
            cfg.save(saved_path)
            return cfg
        if self.path.exists() and any(p for p in self.path.iterdir() if not p.name.startswith(".")):
            raise SynthError(f"{self.path} is not empty and holds no training run; choose a new --out folder")
        self.path.mkdir(parents=True, exist_ok=True)
        cfg.save(saved_path)
        return cfg

    def check_model(self, model: keras.Model) -> None:
        """A run started under an older definition of its model name cannot go on with this one's: its weights
        would not fit, or (a layer without weights added) would silently meet another computation. A run started
        by another version goes on, saying that its stream's samples differ from there on."""
        meta = self.path / "meta.json"
        if not meta.exists():
            return
        saved = read_json(meta, "model record", "restore the model dir, or use a new --out folder")
        params, layers = saved.get("parameters"), saved.get("layers")  # older model dirs lack "layers"
        if params not in (None, model.count_params()) or layers not in (None, layer_names(model)):
            raise SynthError(f"{self.path} holds a {saved['model']!r} model of {params:,} parameters and "
                             f"{len(layers or [])} layers, started by synthocr {saved.get('version', '?')}; this "
                             f"version's {model.name!r} has {model.count_params():,} and {len(model.layers)}: resume "
                             "with that version, or use a new --out folder")
        if saved.get("version") != __version__:
            print(f"note: {self.path} was started by synthocr {saved.get('version', '?')}; this version "
                  f"({__version__}) may render other samples for the same stream positions: training goes on with "
                  "samples the run has not seen", file=sys.stderr)

    def write_meta(self, meta: dict[str, Any]) -> None:
        write_atomic(self.path / "meta.json", json.dumps(meta, indent=1, ensure_ascii=False))

    def save_model(self, model: keras.Model) -> None:
        """The inference model, renamed into place when whole."""
        tmp = self.path / f".tmp-{os.getpid()}-{MODEL_FILE}"
        model.save(tmp)
        os.replace(tmp, self.model_file)

    def open_history(self, step: int) -> IO[str]:
        """history.jsonl for appending from `step` on: one JSON row per log or evaluation. Rows past the step a
        resumed run starts from (written after its last checkpoint, before a kill) are dropped, so that none
        appears twice."""
        path = self.path / "history.jsonl"
        if path.exists():
            rows = path.read_text(encoding="utf-8").splitlines()
            kept = [r for r in rows if _row_step(r) <= step]
            if len(kept) < len(rows):
                write_atomic(path, "".join(r + "\n" for r in kept))
        return open(path, "a", encoding="utf-8")


def _row_step(row: str) -> int:
    """A history row's step; a damaged row (a kill mid-write) counts as past every step."""
    try:
        return int(json.loads(row)["step"])
    except (ValueError, KeyError, TypeError):
        return 1 << 62


def layer_names(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def _diff(a: dict, b: dict, prefix: str = "") -> str:
    """The first field where two config dicts differ, as `name: old then, new now`."""
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k), b.get(k)
        if isinstance(x, dict) and isinstance(y, dict):
            d = _diff(x, y, f"{prefix}{k}.")
            if d:
                return d
        elif x != y:
            return f"{prefix}{k}: {x!r} then, {y!r} now"
    return ""
