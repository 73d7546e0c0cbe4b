import itertools
import sys
import threading
import time

import numpy as np
import pytest

import synth
from synth import Renderer
from synth.alphabet import PAD
from synth.batch import MESSAGE_BYTES
from synth.image import background
from synth.pool import _main_module_hidden
from synth.streaming import numpy_batches

SEED = 11


@pytest.fixture(scope="module")
def cfg(make_config):
    return make_config()


@pytest.fixture(scope="module")
def renderer(cfg) -> Renderer:
    return Renderer(cfg)


def take(ds, n: int) -> list[dict]:
    return list(itertools.islice(numpy_batches(ds), n))


def assert_same_batches(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], np.ndarray):
                assert x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k]), k
            else:
                assert x[k] == y[k], k


def test_workers_do_not_change_the_samples(cfg):
    alone = take(synth.stream(cfg, SEED, batch_size=8, workers=0), 2)
    pooled = take(synth.stream(cfg, SEED, batch_size=8, workers=2), 2)
    assert_same_batches(alone, pooled)
    assert alone[0]["text"] != alone[1]["text"]


def test_batch_structure(cfg, renderer):
    ds = synth.stream(cfg, SEED, batch_size=8, workers=0)
    spec = ds.element_spec
    assert set(spec) == {"image", "width", "label", "label_length", "text", "font"}
    assert spec["image"].shape.as_list() == [None, 32, 128, 1]
    (b,) = take(ds, 1)
    max_len = cfg.text.max_len
    assert b["image"].dtype == np.float32 and b["image"].shape == (8, 32, 128, 1)
    assert 0.0 <= b["image"].min() and b["image"].max() <= 1.0
    assert b["label"].dtype == np.int32 and b["label"].shape == (8, max_len)
    assert b["label_length"].dtype == np.int32 and b["width"].dtype == np.int32
    assert list(b["width"]) == [128] * 8
    for i in range(8):
        text, n = b["text"][i], b["label_length"][i]
        assert n == len(text) > 0
        assert (b["label"][i, n:] == PAD).all() and (b["label"][i, :n] > 0).all()
        assert renderer.alphabet.decode(b["label"][i]) == text
        img, spec = renderer.render(SEED, i)
        assert (spec.text, spec.font) == (text, b["font"][i])
        np.testing.assert_allclose(b["image"][i, :, :, 0], img / 255.0, atol=1e-6)


def test_unbatched_elements(cfg):
    ds = synth.stream(cfg, SEED, workers=0)
    assert ds.element_spec["image"].shape.as_list() == [32, 128, 1]
    single = take(ds, 10)
    (batch,) = take(synth.stream(cfg, SEED, batch_size=10, workers=0), 1)
    for i, e in enumerate(single):
        assert e["image"].shape == (32, 128, 1) and e["label"].shape == (cfg.text.max_len,)
        assert e["label_length"].shape == () and e["width"] == 128
        assert e["text"] == batch["text"][i]
        assert np.array_equal(e["image"], batch["image"][i]) and np.array_equal(e["label"], batch["label"][i])


def test_start_is_skipping(cfg):
    first = take(synth.stream(cfg, SEED, batch_size=4, workers=0), 2)
    resumed = take(synth.stream(cfg, SEED, batch_size=4, start=4, workers=0), 1)
    assert_same_batches(resumed, first[1:])
    odd = take(synth.stream(cfg, SEED, start=3, workers=0), 2)
    assert [e["text"] for e in odd] == first[0]["text"][3:] + first[1]["text"][:1]
    assert np.array_equal(odd[1]["image"], first[1]["image"][0])


def test_count_makes_it_finite(cfg):
    batches = list(numpy_batches(synth.stream(cfg, SEED, batch_size=8, count=20, workers=0)))
    assert [len(b["text"]) for b in batches] == [8, 8, 4]
    (full,) = take(synth.stream(cfg, SEED, batch_size=20, workers=0), 1)
    assert sum((b["text"] for b in batches), []) == full["text"]
    singles = list(numpy_batches(synth.stream(cfg, SEED, start=5, count=7, workers=0)))
    assert [e["text"] for e in singles] == full["text"][5:12]


def test_batches_split_from_larger_messages(cfg):
    # workers send several batches in one message (fewer trips through tf.data's generator): the batches
    # are the same ones, message boundaries included, whether or not the count ends mid-message
    per_message = MESSAGE_BYTES // (cfg.render.height * cfg.render.width)
    n = per_message + 13
    for count in (None, n):
        ds = synth.stream(cfg, SEED, batch_size=5, workers=0, count=count)
        batches = take(ds, -(-n // 5))
        texts = sum((b["text"] for b in batches), [])
        assert all(len(b["text"]) == 5 for b in batches[:-1]) and len(texts) == (n if count else -(-n // 5) * 5)
        (whole,) = take(synth.stream(cfg, SEED, batch_size=len(texts), workers=0), 1)
        assert texts == whole["text"]
        images = np.concatenate([b["image"] for b in batches])
        assert np.array_equal(images, whole["image"])


def test_variable_width_batches(make_config):
    cfg = make_config()
    cfg.render.width = None
    r = Renderer(cfg)
    ds = synth.stream(cfg, SEED, batch_size=8, workers=0)
    assert ds.element_spec["image"].shape.as_list() == [None, 32, None, 1]
    (b,) = take(ds, 1)
    widths = [r.render(SEED, i)[0].shape[1] for i in range(8)]
    assert list(b["width"]) == widths and len(set(widths)) > 1
    assert b["image"].shape == (8, 32, max(widths), 1)
    for i, w in enumerate(widths):
        img = r.render(SEED, i)[0] / 255.0
        np.testing.assert_allclose(b["image"][i, :, :w, 0], img, atol=1e-6)
        # right-padded with the image's own background (the median of its border): more paper
        np.testing.assert_allclose(b["image"][i, :, w:, 0], background(r.render(SEED, i)[0]) / 255.0, atol=1e-6)
    singles = take(synth.stream(cfg, SEED, workers=0), 8)
    assert [e["image"].shape for e in singles] == [(32, w, 1) for w in widths]  # unbatched: no padding


def test_bad_config_fails_before_iterating(make_config):
    cfg = make_config()
    cfg.fonts.dirs = ["/no/such/fonts"]
    with pytest.raises(synth.SynthError, match="font folder not found"):
        take(synth.stream(cfg, workers=0), 1)  # a SynthError, raised by stream() or at the latest by next()


def test_streams_starting_together_hide_main_one_at_a_time():
    # tf.data starts each stream's generator on its own thread: two at once must not save each other's hidden
    # __main__, or a worker could re-run the user's script (seen as a hang with two streams in one script)
    main = sys.modules["__main__"]
    before = main.__dict__.get("__file__")
    entered, release, order = threading.Event(), threading.Event(), []

    def first():
        with _main_module_hidden():
            entered.set()
            release.wait(5)
            order.append("first")

    def second():
        with _main_module_hidden():
            order.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    entered.wait(5)
    threads[1].start()
    time.sleep(0.2)
    release.set()
    for t in threads:
        t.join(5)
    assert order == ["first", "second"] and main.__dict__.get("__file__") == before
