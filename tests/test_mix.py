"""Real labels in the stream (`train fit --mix DIR:SHARE`) and fine-tuning (`--init MODEL_DIR`)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import synth
from synth import Alphabet, SynthError
from train import mix

DIGITS = Alphabet("0123456789")


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory):
    """Twelve 'real' images: a dataset of ours in another font, with one label the alphabet cannot encode."""
    from conftest import tiny_data_config

    cfg = tiny_data_config()
    cfg.fonts.include = ["DejaVuSansMono-Bold"]
    out = tmp_path_factory.mktemp("real") / "set"
    synth.write(cfg, out, 12, seed=77, workers=0, progress=False)
    labels = (out / "labels.tsv").read_text(encoding="utf-8").splitlines()
    first = labels[0].split("\t")[0]
    (out / "labels.tsv").write_text("\n".join(labels + [f"{first}\tabc"]) + "\n", encoding="utf-8")
    return out


def synthetic(start: int, steps: int, batch: int = 16):
    from conftest import tiny_data_config

    return synth.batches(tiny_data_config(), seed=0, batch_size=batch, start=start * batch, count=steps * batch,
                         workers=0)


def test_slots_meet_the_share_however_it_rounds():
    counts = [mix.slots(s, 16, 0.1)[1] for s in range(100)]
    assert sum(counts) == 160 and set(counts) <= {1, 2}
    firsts = [mix.slots(s, 16, 0.1)[0] for s in range(100)]
    assert firsts == [sum(counts[:s]) for s in range(100)]  # consecutive, no sample twice


def test_the_mixed_stream_holds_the_share_in_a_fixed_order(real_dir):
    real = mix.load(f"{real_dir}:0.25", DIGITS, 32, 64, 4)
    assert len(real.images) == 12 and real.left_out == 1
    run = list(mix.mixed(synthetic(0, 12), [real], DIGITS, seed=3, start_step=0, batch_size=16))
    fonts = collections.Counter(f for b in run for f in b["font"])
    assert fonts["real"] == 12 * 16 // 4
    again = list(mix.mixed(synthetic(0, 12), [real], DIGITS, seed=3, start_step=0, batch_size=16))
    resumed = list(mix.mixed(synthetic(5, 7), [real], DIGITS, seed=3, start_step=5, batch_size=16))
    for a, b in zip(run, again, strict=True):
        assert np.array_equal(a["image"], b["image"]) and a["text"] == b["text"]
    for a, b in zip(run[5:], resumed, strict=True):  # a resumed run mixes the same samples in
        assert np.array_equal(a["image"], b["image"]) and a["text"] == b["text"]
    b = run[0]
    for img_label, n, text in zip(b["label"], b["label_length"], b["text"], strict=True):
        assert DIGITS.decode(img_label[:n]) == text
    seen = collections.Counter(t for b in run for t, f in zip(b["text"], b["font"], strict=True) if f == "real")
    assert sum(seen.values()) == 48 and len(seen) == 12  # each real image once per epoch: 4 epochs of 12
    assert set(seen.values()) == {4}


def test_mix_refuses_what_it_cannot_use(real_dir, tmp_path):
    for bad in ("nowhere:0.1", f"{real_dir}:1.5", f"{real_dir}", f"{real_dir}:x"):
        with pytest.raises(SynthError, match="--mix"):
            mix.parse_mix(bad)
    with pytest.raises(SynthError, match="none of its"):
        mix.load(f"{real_dir}:0.1", Alphabet("xyz"), 32, 64, 4)


def test_fit_mixes_and_fine_tunes(tmp_path, tiny_model, tiny_config, real_dir):
    from train.fit import fit
    from train.recognizer import load

    cfg = tiny_config(steps=20, eval_every=20, checkpoint_every=20, learning_rate=3e-4, warmup_steps=1)
    cfg.train.mix, cfg.train.init = [f"{real_dir}:0.25"], str(tiny_model.dir)
    result = fit(cfg, tmp_path / "tuned", progress=False)
    assert result.best["word_accuracy"] >= 0.9  # it started from the trained weights, not from scratch
    assert load(tmp_path / "tuned").alphabet == DIGITS
    other = tiny_config(steps=5)
    other.data.alphabet, other.train.init = "0123456789ab", str(tiny_model.dir)
    with pytest.raises(SynthError, match="its alphabet"):
        fit(other, tmp_path / "refused", progress=False)
    assert not (tmp_path / "refused").exists()


def test_several_named_validation_sets(tmp_path, tiny_model, tiny_config, real_dir):
    import json

    from train.fit import fit

    cfg = tiny_config(steps=10, eval_every=10, checkpoint_every=10, learning_rate=1e-4, warmup_steps=1)
    cfg.train.init = str(tiny_model.dir)
    cfg.train.val, cfg.train.val_best = ["synth", f"other={real_dir}"], "other"
    result = fit(cfg, tmp_path / "run", progress=False)
    rows = [json.loads(x) for x in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "val" in r]
    assert set(evals[-1]["val_sets"]) == {"synth", "other"}
    assert evals[-1]["val"] == evals[-1]["val_sets"]["other"] == {k: v for k, v in result.best.items() if k != "step"}
    bad = tiny_config(steps=5)
    bad.train.val, bad.train.val_best = ["synth"], "nope"
    with pytest.raises(SynthError, match="--val-best 'nope' names no validation set"):
        fit(bad, tmp_path / "bad", progress=False)
    assert not (tmp_path / "bad").exists()
