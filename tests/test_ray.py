"""Rendering on Ray (the ray extra), on a local instance of 2 CPUs: the same bytes as here, resumable, clear errors."""

import functools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import files_under, kill_when

import synth
from synth import SynthConfig, SynthError, cluster
from synth.batch import batches
from synth.dataset import records
from synth.streaming import numpy_batches

ray = pytest.importorskip("ray")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def head():
    """A local Ray instance for the module, as a cluster's head: its GCS address, which drivers join."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_a_ray_render_is_a_local_render_byte_for_byte(head, make_config, tmp_path):
    cfg = make_config()
    for fmt in ("png", "lmdb", "tfrecord"):
        here = synth.write(cfg, tmp_path / f"here-{fmt}", 90, seed=5, fmt=fmt, shard_size=20, workers=0,
                           progress=False)
        there = synth.write(cfg, tmp_path / f"ray-{fmt}", 90, seed=5, fmt=fmt, shard_size=20, progress=False,
                            ray=head)
        if fmt == "lmdb":  # an LMDB's file is not byte-stable (free pages), its records are
            assert [tuple(r) for r in records(here)] == [tuple(r) for r in records(there)]
        else:
            assert files_under(here) == files_under(there), fmt
        assert not list(there.glob(f"{cluster.MARKER}*")), "the run's marker is left behind"


def test_a_ray_stream_yields_the_local_streams_batches(head, make_config):
    cfg = make_config()
    local = list(batches(cfg, seed=2, batch_size=8, start=16, count=40, workers=0))
    remote = list(batches(cfg, seed=2, batch_size=8, start=16, count=40, ray=head))
    assert len(remote) == len(local) == 5
    for a, b in zip(local, remote, strict=True):
        assert a["text"] == b["text"] and np.array_equal(a["image"], b["image"]) and np.array_equal(a["index"],
                                                                                                    b["index"])
    tf_local = list(numpy_batches(synth.stream(cfg, seed=2, batch_size=8, count=24, workers=0)))
    tf_remote = list(numpy_batches(synth.stream(cfg, seed=2, batch_size=8, count=24, ray=head)))
    for a, b in zip(tf_local, tf_remote, strict=True):
        assert a["text"] == b["text"] and np.array_equal(a["image"], b["image"])


@pytest.mark.slow
def test_a_killed_ray_driver_resumes_to_the_same_bytes(head, make_config, tmp_path):
    """The driver killed mid-run on a cluster that lives on: the same command again makes only what is missing."""
    cfg = make_config()
    config = tmp_path / "config.json"
    cfg.save(config)
    out, count = tmp_path / "killed", 3000
    cmd = [sys.executable, "-m", "synth", "render", "--config", str(config), "--count", str(count), "--shard-size",
           "50", "--out", str(out), "--ray", head, "--quiet"]
    kill_when(cmd, lambda: (out / "images").is_dir() and len(os.listdir(out / "images")) >= 3, tmp_path, "shard")
    assert not (out / "manifest.json").exists(), "the run finished before it was killed: raise the count"
    made = {p.name for p in (out / "images").iterdir() if not p.name.startswith(".")}
    assert 1 <= len(made) < count // 50
    synth.write(cfg, out, count, shard_size=50, progress=False, ray=head)
    whole = synth.write(cfg, tmp_path / "whole", count, shard_size=50, workers=2, progress=False)
    assert files_under(out) == files_under(whole)


def test_a_worker_that_dies_mid_task_is_run_again(head, tmp_path):
    died = tmp_path / "died"

    def die_once(state: int, i: int) -> int:
        if i == 3 and not died.exists():
            died.touch()
            os._exit(1)  # the process gone mid-task, as on a lost node
        return state + i

    assert list(cluster.run_ordered(functools.partial(int, "10"), die_once, [(i,) for i in range(6)])) == \
        [10, 11, 12, 13, 14, 15]
    assert died.exists()

    def die(state: int, i: int) -> int:
        os._exit(1)

    with pytest.raises(SynthError, match="worker died while rendering, 2 times over.*run the same command again"):
        list(cluster.run_ordered(functools.partial(int, "10"), die, [(0,)], retries=1))


def test_an_out_the_nodes_do_not_share_is_a_clear_error(head, make_config, monkeypatch, tmp_path):
    """A node that cannot see the driver's --out (its own disk's folder of that name) is refused by the task."""
    monkeypatch.setattr(cluster, "mark", lambda out: f"{cluster.MARKER}on-another-disk")
    out = tmp_path / "local-only"
    with pytest.raises(SynthError, match="is not shared with node .* give a path every node mounts"):
        synth.write(make_config(), out, 40, shard_size=20, progress=False, ray=head)
    assert not out.exists(), "a refused run leaves its folder behind"


def test_bad_ray_addresses_fail_in_seconds_naming_the_fix(capsys, tmp_path):
    from synth.cli import main

    for address, message in (("127.0.0.1:1", "no Ray cluster answers at 127.0.0.1:1"),
                             ("nonsense", "is not a Ray address; give HOST:PORT")):
        began = time.monotonic()
        assert main(["render", "--out", str(tmp_path / "x"), "--count", "5", "--ray", address]) == 2
        assert message in capsys.readouterr().err
        assert time.monotonic() - began < 3 * cluster.CONNECT_SECONDS
        assert not (tmp_path / "x").exists()


def test_without_ray_installed_the_message_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(SynthError, match=r"pip install 'synthocr\[ray\]'"):
        synth.write(SynthConfig(), tmp_path / "x", 5, ray="local", progress=False)
    with pytest.raises(SynthError, match=r"synthocr\[ray\]"):
        batches(SynthConfig(), count=5, ray="local")


@pytest.mark.slow
def test_train_fit_on_a_ray_fed_stream_is_the_local_run(head, tmp_path, tiny_config):
    """--ray feeds the step from the cluster: the same batches, so the same losses as the local feed."""
    from train.fit import fit

    logs = {}
    for name, ray_address in (("local", None), ("ray", head)):
        cfg = tiny_config(steps=100, ray=ray_address, eval_every=100, checkpoint_every=100, val_count=32)
        assert fit(cfg, tmp_path / name, progress=False).step == 100
        rows = (tmp_path / name / "history.jsonl").read_text().splitlines()
        logs[name] = [json.loads(r)["loss"] for r in rows if '"loss"' in r]
    assert logs["ray"] == logs["local"] and len(logs["ray"]) == 2
