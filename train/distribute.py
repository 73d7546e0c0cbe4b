"""tf.distribute for train fit: the strategy, this worker's place in it, and what its workers must agree on.

Replica r of R takes, at step s, samples (s*R + r)*B .. (s*R + r + 1)*B - 1 of the stream: the global batch of
step s is the single-process batch of s at a batch size of R*B, split in replica order, so every replica has its
own slice of (seed, index) and no sample is drawn twice. A worker process renders its replicas' slices as one
shard of the stream (`synth.batches(shard=...)`). Worker 0 is the chief: it alone reads and writes the model
dir (checkpoints, logs, the kept model) and evaluates; the others start from its weights and state, sent through
the strategy's collectives, so no path need be shared between hosts.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import keras
import tensorflow as tf

from synth.bounded import bounded
from synth.errors import SynthError

#: how long a worker waits for the others of its cluster to start (MultiWorkerMirroredStrategy waits for ever)
JOIN_SECONDS = 600


@dataclass
class Replicas:
    """How one training process takes part: its strategy (None: TensorFlow's default, one replica), its index
    among the `workers` processes, and the replicas it runs (`local`: devices of this process)."""

    strategy: tf.distribute.Strategy | None = None
    worker: int = 0
    workers: int = 1
    local: int = 1
    _summed: Any = field(default=None, init=False, repr=False)

    @property
    def chief(self) -> bool:
        return self.worker == 0

    @property
    def total(self) -> int:
        return self.workers * self.local

    @property
    def shard(self) -> tuple[int, int]:
        """This worker's shard of the stream's batches of `local` * batch_size samples: (index, shards)."""
        return self.worker, self.workers

    @contextmanager
    def scope(self) -> Iterator[None]:
        if self.strategy is None:
            yield
            return
        with self.strategy.scope():
            yield

    def agree(self, flag: bool) -> bool:
        """Whether any worker's `flag` holds: a decision (stop now) every worker must take at the same step, or
        the others would wait in the next step's collective for ever."""
        if self.workers == 1:
            return flag
        return bool(self._sum([tf.constant(float(flag))], everyone=True)[0] > 0)

    def from_chief(self, values: list[Any]) -> list[tf.Tensor]:
        """The chief's `values` (tensors or numbers), on every worker."""
        if self.workers == 1:
            return [tf.convert_to_tensor(v) for v in values]
        return self._sum([tf.convert_to_tensor(v) for v in values], everyone=False)

    def sync_variables(self, variables: list[tf.Variable]) -> None:
        """Set every worker's `variables` to the chief's (its restored checkpoint)."""
        if self.workers == 1:
            return
        for var, value in zip(variables, self.from_chief([v.value for v in variables]), strict=True):
            var.assign(value)

    def _sum(self, tensors: list[tf.Tensor], everyone: bool) -> list[tf.Tensor]:
        """The sum over workers of `tensors`, each worker's counted once (on its first replica); only the chief's
        where not `everyone`."""
        if self._summed is None:  # one function, traced once per kind of call (not once per call)
            self._summed = tf.function(self._replica_sum)
        counted = tf.constant(everyone or self.chief)
        return list(self.strategy.experimental_local_results(
            self.strategy.run(self._summed, args=(tensors, counted)))[0])

    def _replica_sum(self, tensors: list[tf.Tensor], counted: tf.Tensor) -> list[tf.Tensor]:
        ctx = tf.distribute.get_replica_context()
        first = tf.equal(ctx.replica_id_in_sync_group % self.local, 0) & counted
        out = list(tensors)
        for dtype in {t.dtype for t in tensors}:  # one collective per dtype: it packs its tensors into one
            at = [i for i, t in enumerate(tensors) if t.dtype == dtype]
            summed = ctx.all_reduce("sum", [tf.where(first, tensors[i], tf.zeros_like(tensors[i])) for i in at])
            for i, s in zip(at, summed, strict=True):
                out[i] = s
        return out

    def split(self, inputs: tuple[tf.Tensor, ...]) -> Any:
        """A worker's batch (its `local` replicas' slices, in replica order) as the strategy's per-replica
        values: replica r's slice is rows (r - first) * B .. of it."""
        strategy = self.strategy
        first = self.worker * self.local
        size = int(inputs[0].shape[0]) // self.local

        def part(ctx: tf.distribute.experimental.ValueContext) -> tuple[tf.Tensor, ...]:
            k = ctx.replica_id_in_sync_group - first
            return tuple(x[k * size : (k + 1) * size] for x in inputs)

        return strategy.experimental_distribute_values_from_function(part)


def replicas(name: str, make_strategy: Callable[[str], tf.distribute.Strategy] | None = None) -> Replicas:
    """This process's `Replicas` for --distribute `name` (one of `train.config.DISTRIBUTES`): "none",
    "mirrored" (every local GPU; one replica on a CPU) or "multiworker" (the cluster that TF_CONFIG describes, as
    each worker's launcher sets it: by hand, by a scheduler, or by Ray Train). Made before TensorFlow runs
    anything else, as MultiWorkerMirroredStrategy requires. `make_strategy(name)` stands in for the strategy's
    construction (a test's MirroredStrategy over logical CPUs)."""
    if name == "none":
        return Replicas()
    worker, workers = (0, 1) if name == "mirrored" else _tf_config_place()
    if workers > 1:
        print(f"worker {worker} of {workers}: waiting for the others of TF_CONFIG to start", file=sys.stderr,
              flush=True)
    strategy = bounded(lambda: (make_strategy or _strategy)(name), JOIN_SECONDS,
                       f"the other workers of TF_CONFIG did not all start within {JOIN_SECONDS // 60} minutes; start "
                       "every worker with the same command (only TF_CONFIG differing)")
    local = strategy.num_replicas_in_sync // workers
    return Replicas(strategy, worker, workers, local)


def _strategy(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    # its health checks end the others' waits with an error when a worker dies (then all are restarted and resume)
    return tf.distribute.MultiWorkerMirroredStrategy()


def _tf_config_place() -> tuple[int, int]:
    """(this worker's index, the number of workers) from TF_CONFIG, with a clear error for a missing or
    malformed one. A "chief" task, where the cluster names one, is worker 0."""
    fix = ("set TF_CONFIG on each worker to {\"cluster\": {\"worker\": [\"host1:port\", \"host2:port\"]}, \"task\": "
           "{\"type\": \"worker\", \"index\": I}} (see docs/scale.md), or launch the workers with Ray Train")
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise SynthError(f"--distribute multiworker reads the cluster from TF_CONFIG, which is not set; {fix}")
    try:
        conf = json.loads(raw)
        cluster, task = conf["cluster"], conf["task"]
        hosts = [(kind, i) for kind in ("chief", "worker") for i in range(len(cluster.get(kind, [])))]
        place = hosts.index((task["type"], int(task["index"])))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SynthError(f"TF_CONFIG {raw[:200]!r} does not place this worker in its cluster; {fix}") from None
    return place, len(hosts)


def peer_lost(e: BaseException) -> SynthError | None:
    """A collective that failed because a worker went away, as the clear error that says what to do."""
    if isinstance(e, tf.errors.UnavailableError | tf.errors.DeadlineExceededError | tf.errors.CancelledError):
        return SynthError("a worker of the training cluster is gone (its host, process or network); start every "
                          "worker again with the same command: training resumes from the chief's last checkpoint")
    return None


def make_replicated_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, reps: Replicas,
                         terms: Callable[..., tuple[tf.Tensor, tf.Tensor]]) -> Callable[..., tuple[Any, Any]]:
    """The training step across replicas: (a worker's batch) -> (the global batch's mean loss, samples skipped).
    `terms(images, labels, label_length, widths)` gives a replica's (summed loss, feasible mask); the loss is
    divided by the feasible count of every replica together, so that the gradients the optimizer sums are those
    of the global mean, clipped as they would be in one process."""
    strategy = reps.strategy

    def replica_step(images: tf.Tensor, labels: tf.Tensor, label_length: tf.Tensor, widths: tf.Tensor):
        ctx = tf.distribute.get_replica_context()
        with tf.GradientTape() as tape:
            total, ok = terms(images, labels, label_length, widths)
            loss = total / tf.maximum(ctx.all_reduce("sum", tf.reduce_sum(ok)), 1.0)
        grads = tape.gradient(loss, model.trainable_variables)
        if optimizer.clipnorm:
            # Keras clips each replica's part of a gradient before it sums the parts: clip the sum, as one process
            # would, and hand each replica its share of it (the parts are then far within the optimizer's clip)
            share = 1.0 / ctx.num_replicas_in_sync
            grads = [tf.clip_by_norm(g, optimizer.clipnorm) * share for g in ctx.all_reduce("sum", grads)]
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss, tf.reduce_sum(1.0 - ok)

    @tf.function(reduce_retracing=True)
    def run(per_replica: Any) -> tuple[tf.Tensor, tf.Tensor]:
        loss, bad = strategy.run(replica_step, args=per_replica)
        return strategy.reduce("sum", loss, axis=None), strategy.reduce("sum", bad, axis=None)

    def step(*inputs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return run(reps.split(inputs))

    return step
