"""Typed training configuration; saved in every model dir beside the data config that fed it."""

from __future__ import annotations

from dataclasses import dataclass, field

from synth.config import JsonConfig, SynthConfig, raise_problems
from synth.rng import MASK64

#: validation samples use this seed offset, so their (seed, index) keys never meet training's
VAL_SEED_OFFSET = 1_000_003
#: `TrainConfig.feed`'s choices
FEEDS = ("auto", "burst", "overlap")
#: `TrainConfig.distribute`'s choices (see train.distribute)
DISTRIBUTES = ("none", "mirrored", "multiworker")
#: the model `train fit --preset NAME` trains when no --model is given: whole lines need the BiGRU's reach
#: along the line (telling "o" from "O" by its neighbours' heights), and it read real scanned lines far better
#: than the default model at the same steps (docs/benchmarks.md)
PRESET_MODELS = {"lines": "bigru"}


@dataclass
class TrainConfig:
    model: str = "default"
    steps: int = 20_000
    #: 16 samples a step cost about what 32 do on a CPU (the step is bound by per-op overheads), and twice the
    #: updates learned more in the same minutes (docs/benchmarks.md)
    batch_size: int = 16
    #: peak rate: higher than Adam's usual 1e-3, which learned the default model more slowly (docs/benchmarks.md)
    learning_rate: float = 3e-3
    #: steps of linear warm-up before the cosine decay to `final_lr_fraction` of the rate at `steps`, or when
    #: `max_minutes` are up if that comes first
    warmup_steps: int = 300
    final_lr_fraction: float = 0.02
    clipnorm: float = 5.0
    #: momentum of an exponential moving average of the weights, which evaluations read and the kept model
    #: holds (training goes on from the raw weights); 0: none
    ema: float = 0.0
    seed: int = 0
    #: how rendering shares the CPU with the step. "burst": the step waits while `workers` processes render the
    #: next batches on every core, then runs while they wait; on 2 cores, rendering beside the step slowed it by
    #: about twice the rendering's own CPU time (docs/benchmarks.md). "overlap": niced workers render beside the
    #: step, for a step on a GPU, which leaves the cores free. "auto": overlap with a GPU, burst without
    feed: str = "auto"
    #: rendering processes (None: every core for a burst feed, one beside an overlapped step)
    workers: int | None = None
    #: render on the Ray cluster at this address instead ("local": an instance here; see synth.cluster)
    ray: str | None = None
    #: tf.distribute: "none", "mirrored" (every local GPU) or "multiworker" (the hosts TF_CONFIG names); each of
    #: the R replicas takes `batch_size` samples of a step, R * batch_size in all (train.distribute)
    distribute: str = "none"
    eval_every: int = 500
    val_count: int = 1000
    #: a folder with labels.tsv (real images) to validate on instead of rendered samples
    val_dir: str | None = None
    #: several validation sets at once: "synth" (rendered) and NAME=DIR folders; each is logged, `val_best`
    #: (default: the first) keeps the model, ranked by `val_metric`
    val: list[str] = field(default_factory=list)
    val_best: str | None = None
    val_metric: str = "word_accuracy"
    #: stop after this many evaluations without improvement (0: never)
    patience: int = 8
    checkpoint_every: int = 200
    #: stop (with a checkpoint) after this many minutes of training in this run (0: no limit); the rate's
    #: decay follows the time as well as the steps, so it ends with the budget
    max_minutes: float = 0.0
    #: font names never rendered in training (recorded, so robustness reports can call them unseen)
    holdout_fonts: list[str] = field(default_factory=list)
    #: or a fraction of the library's fonts, drawn with `holdout_seed`
    holdout_fraction: float = 0.0
    holdout_seed: int = 0
    #: short, plain texts first, then the full data (as in the Keras image_ocr example)
    curriculum: bool = False
    #: real labelled images mixed into every batch, as "DIR:SHARE" (a labels.tsv folder or a dataset of ours, and
    #: the share of each batch it takes, e.g. "runs/real:0.1"); see train.mix
    mix: list[str] = field(default_factory=list)
    #: a trained model dir whose weights a new run starts from (fine-tuning); its alphabet and model must match
    init: str | None = None


    def problems(self) -> list[str]:
        """What is wrong with these values, each with its fix (files and folders are checked when read)."""
        out = []
        least_of = (("steps", "--steps", 1), ("batch_size", "--batch", 1), ("eval_every", "--eval-every", 1),
                    ("checkpoint_every", "--checkpoint-every", 1), ("val_count", "--val-count", 1),
                    ("patience", "--patience", 0), ("warmup_steps", "warmup_steps", 0))
        for name, flag, least in least_of:
            if getattr(self, name) < least:
                out.append(f"{flag} {getattr(self, name)}: give at least {least}")
        for name, flag in (("seed", "--seed"), ("holdout_seed", "holdout_seed")):
            if not 0 <= getattr(self, name) <= MASK64:
                out.append(f"{flag} {getattr(self, name)}: give a seed from 0 to {MASK64}")
        if self.distribute not in DISTRIBUTES:
            out.append(f"--distribute {self.distribute!r}: choose one of {', '.join(DISTRIBUTES)}")
        if self.workers is not None and self.workers < 0:
            out.append(f"--workers {self.workers}: give 0 (render in the training process) or more")
        if not 0 < self.learning_rate < 1:
            out.append(f"--lr {self.learning_rate}: give a rate between 0 and 1 (3e-3 is the default)")
        if not self.max_minutes >= 0:
            out.append(f"--max-minutes {self.max_minutes}: give 0 (no limit) or more")
        if not 0 <= self.holdout_fraction < 1:
            out.append(f"--holdout-fraction {self.holdout_fraction}: give a fraction from 0 up to (not) 1")
        if not 0 < self.final_lr_fraction <= 1 or not self.clipnorm > 0:
            out.append("final_lr_fraction must lie in (0, 1] and clipnorm be above 0")
        return out


@dataclass
class FitConfig(JsonConfig):
    data: SynthConfig = field(default_factory=SynthConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> None:
        """Every value check of the data and the training, gathered in one error (see `SynthConfig.validate`)."""
        raise_problems(self.data.problems() + self.train.problems())
