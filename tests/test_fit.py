"""Fitting from the stream: a tiny model learns a tiny task; a killed run resumes; bad configs fail up front."""

from __future__ import annotations

import collections
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from synth.errors import SynthError
from synth.renderer import Renderer
from train import metrics
from train.config import FitConfig
from train.recognizer import load

REPO = Path(__file__).resolve().parent.parent
#: generous: a subprocess imports TensorFlow (3-10 s) on a shared, loaded machine
SUBPROCESS_TIMEOUT = 300


def history(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "history.jsonl").read_text(encoding="utf-8").splitlines()]


def logged_steps(out: Path) -> list[int]:
    """Steps of the loss lines so far, read while a run may be writing (a partial last line is skipped)."""
    steps = []
    for line in (out / "history.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "loss" in entry:
            steps.append(entry["step"])
    return steps


def test_tiny_model_learns_the_task_from_the_stream(tiny_model):
    steps = tiny_model.config.train.steps
    best = tiny_model.result.best
    assert tiny_model.result.step == steps and not tiny_model.result.stopped_early
    # measured 0.99 (cer 0.0025) at 200 steps; 0.95-0.985 already at 150 steps for seeds 0-2
    assert best["word_accuracy"] >= 0.9, best
    assert best["cer"] < 0.05, best
    assert best["step"] == steps
    losses = [h["loss"] for h in history(tiny_model.dir) if "loss" in h]
    assert losses[-1] < 0.1 * losses[0], losses

    # the saved model reads samples that neither training nor validation rendered
    rec = load(tiny_model.dir)
    renderer = Renderer(tiny_model.config.data)
    samples = [renderer.render(seed=4242, index=i) for i in range(100)]
    preds = rec.predict([img for img, _ in samples])
    acc = metrics.word_accuracy([spec.text for _, spec in samples], [p.text for p in preds])
    assert acc >= 0.9, acc


def test_length_check_refuses_before_training(tmp_path, tiny_config, monkeypatch):
    import train.fit as fit_module

    def no_training(*args, **kwargs):
        raise AssertionError("a training step was made ready for a config that cannot train")

    monkeypatch.setattr(fit_module, "make_train_step", no_training)
    cfg = tiny_config()
    cfg.data.render.width = 96  # default model: 96 // 4 = 24 output steps (and 6.4 pixels a character: readable)
    cfg.data.text.max_len = 15  # a 15-character label may need 2 * 15 - 1 = 29
    out = tmp_path / "run"
    with pytest.raises(SynthError, match=r"24 output steps.*15-character.*needs 29"):
        fit_module.fit(cfg, out, progress=False)
    # nothing was written: running again with the config fixed is not refused as "another config"
    assert not (out / "config.json").exists()
    assert not (out / "history.jsonl").exists() and not (out / "checkpoints").exists()


def test_resume_refuses_another_model_or_alphabet(tmp_path, tiny_model):
    from train.fit import fit

    out = tmp_path / "copy"
    shutil.copytree(tiny_model.dir, out)
    saved = (out / "config.json").read_text(encoding="utf-8")

    cfg = FitConfig.load(out / "config.json")
    cfg.train.model = "small"
    with pytest.raises(SynthError, match=r"another config \(train\.model: 'default' then, 'small' now\)"):
        fit(cfg, out, progress=False)

    cfg = FitConfig.load(out / "config.json")
    cfg.data.alphabet = "0123456789abc"
    with pytest.raises(SynthError, match=r"another config \(data\.alphabet: '0123456789' then"):
        fit(cfg, out, progress=False)
    assert (out / "config.json").read_text(encoding="utf-8") == saved


def test_resume_refuses_a_model_name_built_differently_now(tmp_path, tiny_model):
    """A run started when 'default' was another architecture gets a clear error, not a weights mismatch."""
    from train.fit import fit

    out = tmp_path / "copy"
    shutil.copytree(tiny_model.dir, out)
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    meta.update(parameters=meta["parameters"] + 1, version="0.1.0")
    (out / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    checkpoints = sorted((out / "checkpoints").iterdir())
    refused = r"'default' model of [\d,]+ parameters and \d+ layers, started by synthocr 0\.1\.0"
    with pytest.raises(SynthError, match=refused):
        fit(FitConfig.load(out / "config.json"), out, progress=False)
    assert sorted((out / "checkpoints").iterdir()) == checkpoints
    # same parameters, one layer more (a layer without weights, such as the input standardization)
    meta.update(parameters=meta["parameters"] - 1, layers=meta["layers"] + ["Standardize"])
    (out / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(SynthError, match=r"and \d+ layers, started by"):
        fit(FitConfig.load(out / "config.json"), out, progress=False)


def test_a_run_begun_by_another_version_goes_on_and_says_so(tmp_path, tiny_model, capsys):
    from train.fit import fit

    out = tmp_path / "copy"
    shutil.copytree(tiny_model.dir, out)
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    (out / "meta.json").write_text(json.dumps({**meta, "version": "0.3.0"}), encoding="utf-8")
    result = fit(FitConfig.load(out / "config.json"), out, progress=False)  # at its last step: nothing to train
    assert result.step == tiny_model.result.step
    err = capsys.readouterr().err
    assert "started by synthocr 0.3.0" in err and "may render other samples" in err


def test_a_run_cut_by_time_ends_at_its_final_rate(tmp_path, tiny_config, monkeypatch, capsys):
    import train.fit as fit_module

    ticks = iter(range(10**9))  # a clock that moves one second each time the loop reads it
    monkeypatch.setattr(fit_module, "time", SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    cfg = tiny_config(steps=100_000, max_minutes=1.0, eval_every=100_000, checkpoint_every=100_000)
    result = fit_module.fit(cfg, tmp_path / "run", progress=False)
    assert result.stopped_early and 10 < result.step < 60
    ckpt = tmp_path / "run" / "checkpoints"
    state = json.loads((ckpt / (ckpt / "latest").read_text().strip() / "state.json").read_text())
    assert state["step"] == result.step and state["decay"] > 0.95  # by steps alone: 0
    # the last, lowest-rate steps are evaluated: the run's final model is scored and can be the best one
    assert [h["step"] for h in history(tmp_path / "run") if "val" in h] == [result.step]
    assert "step/s" not in capsys.readouterr().err  # progress=False draws no bar


def _fit_command(out: Path, steps: int, config: Path) -> list[str]:
    return [
        sys.executable, "-m", "train", "fit", "--out", str(out), "--steps", str(steps),
        "--checkpoint-every", "10", "--eval-every", "1000", "--config", str(config),
        "--model", "default", "--alphabet", "0123456789", "--text", "random=1", "--min-len", "4", "--max-len", "4",
        "--height", "32", "--width", "64", "--no-effects", "--set", 'fonts.include=["LiberationSans-Regular"]',
        "--batch", "16", "--lr", "3e-3", "--workers", "0", "--val-count", "32", "--quiet",
    ]  # fmt: skip


def _run(cmd: list[str], log: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_resume_after_kill(tmp_path):
    """SIGKILL mid-run, run the same command again: it continues from the checkpoint to the end."""
    steps, kill_after = 150, 100  # history logs the mean loss every 50 steps
    out = tmp_path / "run"
    config = tmp_path / "fit.json"
    config.write_text(json.dumps({"train": {"warmup_steps": 20}}), encoding="utf-8")  # no flag for it
    cmd = _fit_command(out, steps, config)
    latest = out / "checkpoints" / "latest"

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(tmp_path / "first.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SUBPROCESS_TIMEOUT
            while True:
                assert proc.poll() is None, "the run ended before it could be killed: " + (
                    (tmp_path / "first.log").read_text()[-3000:])
                assert time.monotonic() < deadline, "no checkpoint and history in time"
                if latest.exists() and (out / "history.jsonl").exists():
                    logged = logged_steps(out)
                    if logged and logged[-1] >= kill_after:
                        break
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    ckpt_step = int(latest.read_text(encoding="utf-8").strip().removeprefix("step-"))
    assert kill_after - 10 <= ckpt_step < steps
    before = history(out)
    assert json.loads((out / "meta.json").read_text())["step"] < steps

    done = _run(cmd, tmp_path / "second.log")
    assert f"trained to step {steps}" in done.stdout
    after = history(out)[len(before):]
    logged = [h["step"] for h in after if "loss" in h]
    assert logged and logged[-1] == steps
    assert all(s > ckpt_step for s in logged), (ckpt_step, logged)  # continued, not restarted from 0
    assert logged == sorted(set(logged))
    assert [h["step"] for h in after if "val" in h] == [steps]
    # the loss carried on from where it was (about 12 over the first 50 steps, ~8 at 100, 6-7 after); fresh
    # weights would start again at ~12
    first = next(h["loss"] for h in before if "loss" in h)
    last_before = [h["loss"] for h in before if "loss" in h][-1]
    resumed = [h["loss"] for h in after if "loss" in h]
    assert max(resumed) < 0.7 * first, (first, last_before, resumed)
    assert max(resumed) <= 1.5 * last_before, (first, last_before, resumed)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["step"] == steps and meta["best"]["step"] == steps
    assert latest.read_text().strip() == f"step-{steps:08d}"

    # later: only a larger --steps (the saved config is the default for everything else)
    more = steps + 20
    done = _run([sys.executable, "-m", "train", "fit", "--out", str(out), "--steps", str(more), "--quiet"],
                tmp_path / "third.log")
    assert f"trained to step {more}" in done.stdout
    assert json.loads((out / "meta.json").read_text())["step"] == more
    saved = FitConfig.load(out / "config.json")
    assert saved.train.steps == more and saved.train.batch_size == 16 and saved.data.render.width == 64
    third = history(out)[len(before) + len(after):]
    assert [h["step"] for h in third if "loss" in h] == [more]
    assert [h["step"] for h in third if "val" in h] == [more]


def test_validation_draws_fonts_evenly_whatever_the_weights(make_config, three_fonts):
    from train.data import validation_data

    data = make_config()
    data.fonts.weights = {three_fonts[0]: 50.0}
    counts = collections.Counter(Renderer(data).sample_spec(0, i).font for i in range(900))
    assert counts[three_fonts[0]] > 800  # training sees the weighted font almost only
    val = Renderer(validation_data(data))
    counts = collections.Counter(val.sample_spec(0, i).font for i in range(900))
    assert all(250 < counts[f] < 350 for f in three_fonts), counts
    assert data.fonts.weights == {three_fonts[0]: 50.0}  # the training config is left as it was


def test_evaluations_read_the_weight_average_and_training_goes_on_from_the_raw_weights(tmp_path, tiny_config):
    import keras
    import numpy as np

    from train import checkpoint
    from train.fit import fit
    from train.step import averaged_weights

    out = tmp_path / "ema"
    cfg = tiny_config(steps=40, eval_every=40, checkpoint_every=40, ema=0.9)
    fit(cfg, out, progress=False)
    kept = load(out).model
    # the checkpoint holds the raw weights and, in the optimizer's state, their average; the kept model the average
    model = keras.models.clone_model(kept)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9)  # as fit's: no rate variable
    optimizer = keras.optimizers.Adam(schedule, use_ema=True, ema_momentum=0.9)
    checkpoint.restore(out / "checkpoints", model, optimizer)
    raw = [v.numpy() for v in model.trainable_variables]
    assert not all(np.allclose(r, w.numpy()) for r, w in zip(raw, kept.trainable_variables, strict=True))
    with averaged_weights(model, optimizer):
        for v, w in zip(model.trainable_variables, kept.trainable_variables, strict=True):
            np.testing.assert_allclose(v.numpy(), w.numpy(), rtol=1e-6, atol=1e-7)
    for v, r in zip(model.trainable_variables, raw, strict=True):  # and the raw ones are back after the block
        np.testing.assert_array_equal(v.numpy(), r)


def test_a_bad_ema_is_refused_before_the_dir_is_written(tmp_path, tiny_config):
    from train.fit import fit

    with pytest.raises(SynthError, match="momentum must be in"):
        fit(tiny_config(ema=1.0), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_burst_and_overlapped_feeds_give_the_same_batches(tiny_config):
    from contextlib import closing

    from train.feed import training_batches

    cfg = tiny_config(workers=2)
    feeds = []
    for burst in (True, False):
        with closing(training_batches(cfg, cfg.data, 7, burst)) as feed:
            feeds.append(list(itertools.islice(feed, 5)))
    for a, b in zip(*feeds, strict=True):
        for k in ("image", "label", "label_length", "width"):
            assert np.array_equal(a[k], b[k]), k
        assert a["text"] == b["text"]


def test_a_bad_feed_is_refused_before_the_dir_is_written(tmp_path, tiny_config):
    from train.feed import feed_mode
    from train.fit import fit

    with pytest.raises(SynthError, match="choose one of auto, burst, overlap"):
        fit(tiny_config(feed="fast"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    assert feed_mode(tiny_config(feed="overlap").train) == "overlap"


@pytest.mark.parametrize("field, value, expect", [
    ("steps", 0, "--steps 0: give at least 1"), ("workers", -1, "--workers -1: give 0"),
    ("eval_every", 0, "--eval-every 0: give at least 1"), ("checkpoint_every", 0, "--checkpoint-every 0"),
    ("learning_rate", -1.0, "--lr -1.0: give a rate between 0 and 1"), ("max_minutes", -5.0, "--max-minutes -5.0"),
    ("batch_size", 0, "--batch 0"),
])
def test_numbers_are_checked_before_anything_is_written(tmp_path, tiny_config, field, value, expect):
    from train.fit import fit

    cfg = tiny_config()
    setattr(cfg.train, field, value)
    with pytest.raises(SynthError, match=re.escape(expect)):
        fit(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_damaged_checkpoint_falls_back_to_the_one_before(tmp_path, tiny_config, capsys):
    from train.fit import fit

    out = tmp_path / "run"
    fit(tiny_config(steps=20, eval_every=10, checkpoint_every=10, warmup_steps=2), out, progress=False)
    ckpts = out / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("step-*")) == ["step-00000010", "step-00000020"]
    (ckpts / "step-00000020" / "model.weights.h5").write_bytes(b"cut short")
    capsys.readouterr()
    result = fit(tiny_config(steps=30, eval_every=10, checkpoint_every=10, warmup_steps=2), out, progress=False)
    assert result.step == 30
    assert "checkpoint step-00000020: " in capsys.readouterr().err  # said which one, and went on from step 10
    steps = [json.loads(x)["step"] for x in (out / "history.jsonl").read_text().splitlines()
             if "val" in json.loads(x)]
    assert steps == [10, 20, 30]  # the rows after step 10 were dropped, not repeated
    for p in ckpts.glob("step-*"):
        (p / "state.json").write_text("{")
    with pytest.raises(SynthError, match="every checkpoint under .* is damaged.*delete"):
        fit(tiny_config(steps=40, eval_every=10, checkpoint_every=10, warmup_steps=2), out, progress=False)


def test_a_resume_may_lower_the_learning_rate(tmp_path, tiny_config):
    from train.fit import fit

    out = tmp_path / "run"
    fit(tiny_config(steps=10, eval_every=10, checkpoint_every=10, warmup_steps=2), out, progress=False)
    lower = tiny_config(steps=12, eval_every=10, checkpoint_every=10, warmup_steps=2, learning_rate=1e-4)
    assert fit(lower, out, progress=False).step == 12  # as a NaN loss's message says to


def test_one_run_per_model_dir(tmp_path, tiny_config):
    from synth.files import writing
    from train.fit import fit

    with writing(tmp_path / "run", "train fit"), pytest.raises(SynthError, match="another train fit"):
        fit(tiny_config(steps=5), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
