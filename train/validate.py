"""Validation during training: named sets held in memory, scored with the model as it stands."""

from __future__ import annotations

import keras

from synth.alphabet import Alphabet
from synth.config import SynthConfig
from synth.errors import SynthError
from synth.streaming import numpy_batches, stream
from train import metrics
from train.config import VAL_SEED_OFFSET, FitConfig, TrainConfig
from train.data import validation_data
from train.recognizer import Recognizer

#: the name of the rendered validation set
SYNTH = "synth"
#: the scores that can rank evaluations (higher is better; CER breaks ties)
RANKS = ("word_accuracy", "word_accuracy_ci_alnum")


def named_sets(t: TrainConfig) -> dict[str, str | None]:
    """The run's validation sets by name: "synth" (rendered from a seed training never uses, None) or a folder
    with labels.tsv. `--val NAME=DIR` entries, else `--val-dir` (named "real"), else the rendered set."""
    if t.val_metric not in RANKS:
        raise SynthError(f"--val-metric {t.val_metric!r}: choose one of {', '.join(RANKS)}")
    if not t.val:
        return {"real": t.val_dir} if t.val_dir else {SYNTH: None}
    sets: dict[str, str | None] = {}
    for item in t.val:
        name, sep, path = item.partition("=")
        if not (item == SYNTH or (sep and name and path)):
            raise SynthError(f"--val {item!r}: give {SYNTH} (the rendered set) or NAME=DIR (a folder with labels.tsv)")
        if sep and name == SYNTH:
            raise SynthError(f"--val {item!r}: the name {SYNTH} is the rendered set's; call the folder another name")
        if (name if sep else SYNTH) in sets:
            raise SynthError(f"--val: two sets are named {name!r}; give each its own name")
        sets[name if sep else SYNTH] = path if sep else None
    best = t.val_best or next(iter(sets))
    if best not in sets:
        raise SynthError(f"--val-best {best!r} names no validation set; the sets are {list(sets)}")
    return sets


class Validator:
    """The run's validation sets, each held in memory; `best` names the one whose score keeps the model."""

    def __init__(self, cfg: FitConfig, data: SynthConfig, model: keras.Model, alphabet: Alphabet):
        t = cfg.train
        sets = named_sets(t)
        self.best = t.val_best or next(iter(sets))
        self.metric = t.val_metric
        self.sets: dict[str, list] = {}
        for name, path in sets.items():
            if path is None:
                ds = stream(validation_data(data), seed=t.seed + VAL_SEED_OFFSET, batch_size=64, count=t.val_count,
                            workers=t.workers)
            else:
                from synth.dataset import read

                ds = read(path, data.render.height, data.render.width, alphabet, batch_size=64, encode="keep")
            self.sets[name] = [(b["image"], b["width"], b["text"]) for b in numpy_batches(ds)]
        self.recognizer = Recognizer(model, alphabet, data.render.height, data.render.width)

    def evaluate(self) -> dict[str, dict[str, float]]:
        """Each set's scores, by name."""
        out = {}
        for name, batches in self.sets.items():
            refs, hyps = [], []
            for images, widths, texts in batches:
                hyps += [p.text for p in self.recognizer.decode(*self.recognizer.logits(images, widths))]
                refs += texts
            out[name] = metrics.score(refs, hyps)
        return out

    def better(self, new: dict[str, float], best: dict[str, float] | None) -> bool:
        """Whether scores `new` (of the best-choosing set) beat `best`: the chosen metric first, then CER."""
        m = self.metric
        return best is None or (new[m], -new["cer"]) > (best[m], -best["cer"])
