"""tf.distribute: two workers on localhost train one model and resume after a kill; replicas take their own
slices of the stream; a missing or malformed TF_CONFIG is a clear error."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from synth.batch import batches
from synth.errors import SynthError

REPO = Path(__file__).resolve().parent.parent
#: two processes import TensorFlow and meet on a loaded 2-core machine
TIMEOUT = 400


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_shards_of_the_stream_are_the_global_batches_split_in_replica_order(make_config):
    """Replica r of R at step s takes samples (s*R + r)*B ..: two shards of batches of 4 interleave into the
    unsharded batches of 8, and no sample is drawn twice."""
    cfg = make_config()
    whole = list(batches(cfg, seed=1, batch_size=8, start=16, count=24, workers=0))
    parts = [list(batches(cfg, seed=1, batch_size=4, start=16, count=24, workers=0, shard=(i, 2))) for i in range(2)]
    assert [len(p) for p in parts] == [3, 3]
    for s, batch in enumerate(whole):
        for r in range(2):
            assert parts[r][s]["text"] == batch["text"][4 * r : 4 * r + 4]
            assert np.array_equal(parts[r][s]["index"], batch["index"][4 * r : 4 * r + 4])
            assert np.array_equal(parts[r][s]["image"][:, :, :], batch["image"][4 * r : 4 * r + 4])
    with pytest.raises(SynthError, match="shard=.*0 <= index < shards"):
        batches(cfg, batch_size=4, shard=(2, 2))


@pytest.mark.parametrize("tf_config, message", [
    (None, "reads the cluster from TF_CONFIG, which is not set"),
    ('{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}}', "does not place this worker"),
    ("not json", "does not place this worker"),
])
def test_a_missing_or_malformed_tf_config_names_the_fix(monkeypatch, tf_config, message):
    from train.distribute import replicas

    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(SynthError, match=message + ".*docs/scale.md"):
        replicas("multiworker")


def fit_command(out: Path, steps: int) -> list[str]:
    return [
        sys.executable, "-m", "train", "fit", "--out", str(out), "--steps", str(steps), "--distribute", "multiworker",
        "--model", "default", "--alphabet", "0123456789", "--text", "random=1", "--min-len", "4", "--max-len", "4",
        "--height", "32", "--width", "64", "--no-effects", "--set", 'fonts.include=["LiberationSans-Regular"]',
        "--batch", "8", "--workers", "0", "--val-count", "32", "--checkpoint-every", "20", "--eval-every", "1000",
        "--quiet",
    ]  # fmt: skip


def start_workers(out: Path, steps: int, ports: list[int], logs: Path, tag: str) -> list[subprocess.Popen]:
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for i in range(len(ports)):
        # TMPDIR: a killed worker leaves its log folder (a temporary directory) in the test's, not in /tmp
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "TMPDIR": str(logs),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        log = open(logs / f"{tag}-{i}.log", "w")  # noqa: SIM115 (closed with the process)
        procs.append(subprocess.Popen(fit_command(out, steps), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
        log.close()
    return procs


@pytest.mark.slow
def test_two_workers_train_one_model_and_resume_after_a_kill(tmp_path):
    """MultiWorkerMirroredStrategy over two processes on localhost: the chief keeps the run; both killed mid-run
    (a preempted job), both started again with the same command, they go on from the chief's checkpoint."""
    steps, out, ports = 120, tmp_path / "run", free_ports(2)
    latest = out / "checkpoints" / "latest"
    procs = start_workers(out, steps, ports, tmp_path, "first")
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (latest.exists() and int(latest.read_text().strip()[5:]) >= 40):
            for i, p in enumerate(procs):
                assert p.poll() is None, (tmp_path / f"first-{i}.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint in time"
            time.sleep(0.1)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    ckpt = int(latest.read_text().strip()[5:])
    assert ckpt < steps, "the run finished before it was killed"
    assert json.loads((out / "meta.json").read_text())["replicas"] == 2
    assert not [p for p in out.iterdir() if p.name.startswith("synthocr-worker")], "a worker wrote into the run"

    procs = start_workers(out, steps, free_ports(2), tmp_path, "second")
    for i, p in enumerate(procs):
        assert p.wait(timeout=TIMEOUT) == 0, (tmp_path / f"second-{i}.log").read_text()[-3000:]
        assert f"trained to step {steps}" in (tmp_path / f"second-{i}.log").read_text()
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    losses = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    resumed = [s for s, _ in losses if s > ckpt]
    assert resumed and resumed[-1] == steps
    assert losses[-1][1] < 0.7 * losses[0][1], losses  # it learned, through the kill (~11 -> ~6 at 120 steps)
    assert rows[-1]["step"] == steps and "val" in rows[-1]
    assert (out / "model.keras").exists()


MIRRORED_ON_TWO_CPUS = """
import sys
import tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
from train import distribute
distribute._strategy = lambda name: tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # as two local GPUs
from train.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_mirrored_replicas_of_one_process_each_take_their_slice(tmp_path):
    """MirroredStrategy over two logical CPUs (as over two GPUs): one process, two replicas, each its rows of the
    worker's batch of 2 x --batch."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-c", MIRRORED_ON_TWO_CPUS, *fit_command(out, 60)[3:]]
    cmd[cmd.index("multiworker")] = "mirrored"
    done = subprocess.run(cmd, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trained to step 60" in done.stdout
    assert json.loads((out / "meta.json").read_text())["replicas"] == 2
    losses = [json.loads(line)["loss"] for line in (out / "history.jsonl").read_text().splitlines() if '"loss"' in line]
    assert losses[-1] < losses[0], losses


CLIPPED_ON_ONE_AND_TWO_CPUS = """
import json
import numpy as np
import tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from train.distribute import Replicas, make_replicated_step

def terms(images, labels, label_length, widths):
    return tf.reduce_sum((model(images)[:, 0] - labels) ** 2), tf.ones_like(labels)

x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
y = 100.0 + np.arange(8, dtype="float32")  # far off: gradients far above the clip
moved = {}
for n in (1, 2):
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(n)])
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
        optimizer = keras.optimizers.SGD(1.0, clipnorm=0.01)
        optimizer.build(model.trainable_variables)
    before = [w.copy() for w in model.get_weights()]
    step = make_replicated_step(model, optimizer, Replicas(strategy, 0, 1, n), terms)
    step(tf.constant(x), tf.constant(y), tf.ones(8, tf.int32), tf.ones(8, tf.int32))
    moved[n] = [float(np.linalg.norm(a - b)) for a, b in zip(model.get_weights(), before)]
print(json.dumps(moved))
"""


@pytest.mark.slow
def test_replicas_clip_the_summed_gradient_as_one_process_does():
    """Keras clips each replica's part of a gradient before summing: two replicas would step twice as far as one
    process under --clipnorm. The replicated step clips the sum."""
    done = subprocess.run([sys.executable, "-c", CLIPPED_ON_ONE_AND_TWO_CPUS], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    moved = json.loads(done.stdout.strip().splitlines()[-1])
    assert moved["1"] == pytest.approx([0.01, 0.01], rel=1e-3)  # each variable's gradient clipped to 0.01
    assert moved["2"] == pytest.approx(moved["1"], rel=1e-3)


@pytest.mark.slow
def test_workers_started_with_different_configs_all_stop_saying_so(tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "TMPDIR": str(tmp_path),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        cmd = fit_command(tmp_path / "run", 40) + ["--seed", str(i)]  # a seed each: another stream
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    for p in procs:
        _, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 2, err[-3000:]
        assert "error: the workers were started with different configs" in err
    assert not (tmp_path / "run" / "checkpoints").exists()
