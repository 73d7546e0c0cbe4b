"""TensorFlow imported without its start-up log lines on the user's screen.

TensorFlow 2.20+ logs through absl before its log level is read, so TF_CPP_MIN_LOG_LEVEL no longer hides
the oneDNN, CUDA-probe and CPU-feature lines it prints on import, on the first device query and on the first
generator dataset. They are written straight to file descriptor 2, so they are held off there, once, while
TensorFlow does those three things. SYNTHOCR_TF_LOGS=1 shows them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType


@contextmanager
def stderr_held() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null meanwhile (unless SYNTHOCR_TF_LOGS is set): C++ log lines go."""
    if os.environ.get("SYNTHOCR_TF_LOGS"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def tensorflow() -> ModuleType:
    """The `tensorflow` module, imported (the first time) with its start-up lines held off the screen. Errors
    are Python exceptions and still reach the user."""
    if "tensorflow" in sys.modules or os.environ.get("SYNTHOCR_TF_LOGS"):
        import tensorflow as tf

        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with stderr_held():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
        if os.environ.get("TF_CONFIG"):  # a worker of a cluster: running anything would start TensorFlow's
            return tf  # context, before which MultiWorkerMirroredStrategy must set up its collectives
        one = tf.data.Dataset.from_generator(lambda: iter((0,)), output_signature=tf.TensorSpec((), tf.int32))
        for _ in one:
            pass
    return tf
