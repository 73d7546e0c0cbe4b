"""What a training run learns from: its fonts (held-out ones removed), curriculum phases and validation data."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from synth.config import EffectsConfig, SynthConfig
from synth.errors import SynthError
from synth.fonts import library
from train.config import FitConfig


def resolve_holdout(cfg: FitConfig) -> tuple[list[str], list[str]]:
    """(training fonts, held-out fonts) by name; a fraction is drawn reproducibly from `holdout_seed`."""
    fonts_cfg = copy.deepcopy(cfg.data.fonts)
    fonts_cfg.exclude = []
    names = [f.name for f in library(fonts_cfg, cfg.data.alphabet).fonts]
    t = cfg.train
    unknown = [n for n in t.holdout_fonts if n not in names]
    if unknown:
        raise SynthError(f"--holdout-fonts names unknown font(s) {unknown}; known: {names}")
    held = set(t.holdout_fonts) | set(cfg.data.fonts.exclude)
    if t.holdout_fraction > 0:
        rest = sorted(n for n in names if n not in held)
        k = round(t.holdout_fraction * len(names))
        held |= set(np.random.default_rng(t.holdout_seed).choice(rest, size=min(k, len(rest)), replace=False))
    train_fonts = [n for n in names if n not in held]
    if not train_fonts:
        raise SynthError("every font is held out: hold out fewer fonts so that training has some")
    return train_fonts, sorted(held)


def curriculum(cfg: FitConfig, data: SynthConfig) -> list[tuple[int, SynthConfig]]:
    """(end step, data config) phases: short plain texts for the first quarter, then the full data."""
    if not cfg.train.curriculum:
        return [(cfg.train.steps, data)]
    easy = copy.deepcopy(data)
    easy.effects = EffectsConfig.off()
    easy.text.max_len = max(easy.text.min_len, min(easy.text.max_len, 6))
    return [(cfg.train.steps // 4, easy), (cfg.train.steps, data)]


def validation_data(data: SynthConfig) -> SynthConfig:
    """The data config validation renders: fonts drawn evenly, as `fonts.weights` shifts what training sees,
    not what the model is scored on."""
    return dataclasses.replace(data, fonts=dataclasses.replace(data.fonts, weights={}))
