"""Several TensorFlow worker processes on this machine, started and stopped with a time limit.

:func:`run_workers` starts ``n_workers`` Python processes, each running :func:`worker_main`
with its own ``TF_CONFIG`` (the cluster's addresses on 127.0.0.1 and the worker's index), so
that ``tf.distribute.MultiWorkerMirroredStrategy`` joins them into one training job. Every
process is killed (with its process group) when the job ends, fails or runs out of time: none
is left behind. :func:`run_jobs` starts several such jobs side by side (say, two workers and
one, to compare them), so that their processes share the wait for Python and TensorFlow to start.

Each worker trains a softmax classifier on scikit-learn's digits for a few steps with a custom
training loop under the strategy (Keras 3 ``fit`` fails under this strategy on TensorFlow 2.21,
see *Scaling up*), and prints one JSON line with its result.

Taught in: *Scaling up*.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

from tutorial_lib.checks import check_int

HOST = "127.0.0.1"


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports on 127.0.0.1 that are free now (the system picks them)."""
    n = check_int("n", n)
    sockets = []
    try:
        for _ in range(n):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            handle.bind((HOST, 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def check_port_free(port: int) -> int:
    """Return ``port`` if a worker can listen on it at 127.0.0.1, else raise.

    Raises
    ------
    OSError
        If another process already uses the port (with the port in the message).
    """
    port = check_int("port", port, minimum=1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as handle:
        try:
            handle.bind((HOST, port))
        except OSError as error:
            raise OSError(f"port {port} on {HOST} is taken ({error.strerror}); "
                          "pass other ports or ports=None to pick free ones") from error
    return port


def tf_config(ports: Sequence[int], index: int) -> dict:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of workers listening on ``ports``."""
    if not 0 <= index < len(ports):
        raise ValueError(f"index must be between 0 and {len(ports) - 1}, got {index}")
    return {"cluster": {"worker": [f"{HOST}:{port}" for port in ports]},
            "task": {"type": "worker", "index": index}}


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def _check_job(steps: int, global_batch: int, timeout: float, method: str) -> None:
    check_int("steps", steps)
    check_int("global_batch", global_batch)
    if method not in ("loop", "fit"):
        raise ValueError(f"method must be 'loop' or 'fit', got {method!r}")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")


def _start_job(ports: Sequence[int], steps: int, global_batch: int, seed: int,
               method: str) -> list[subprocess.Popen]:
    """One process per port, each with its ``TF_CONFIG`` (none for a one-worker job)."""
    processes = []
    for index in range(len(ports)):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        env.pop("TF_CONFIG", None)  # one worker: a local job
        if len(ports) > 1:
            env["TF_CONFIG"] = json.dumps(tf_config(ports, index))
        command = [sys.executable, "-m", "tutorial_lib.workers", "--steps", str(steps),
                   "--global-batch", str(global_batch), "--seed", str(seed), "--method", method]
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True,
                                          start_new_session=True))
    return processes


def _collect(processes: Sequence[subprocess.Popen], deadline: float, timeout: float) -> list[dict]:
    """Every process' JSON result, or an error once the deadline has passed or one failed."""
    results = []
    for index, process in enumerate(processes):
        try:
            out, err = process.communicate(timeout=max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired as error:
            raise TimeoutError(f"the {len(processes)} workers did not finish within {timeout} s; "
                               "all were stopped") from error
        if process.returncode != 0:
            raise RuntimeError(f"worker {index} failed (exit code {process.returncode}):\n"
                               + err[-2000:])
        results.append({**json.loads(out.strip().splitlines()[-1]), "pid": process.pid})
    return results


def run_workers(
    n_workers: int = 2, *, steps: int = 10, global_batch: int = 64, ports: Sequence[int] | None = None,
    timeout: float = 120.0, seed: int = 0, method: str = "loop",
) -> list[dict]:
    """Train on digits with ``n_workers`` processes under ``MultiWorkerMirroredStrategy``.

    Parameters
    ----------
    n_workers
        Number of worker processes (1 runs the same code as a one-worker job).
    steps, global_batch, seed
        Training steps, images per step over all workers, seed of the weights and batch order.
    ports
        One port per worker on 127.0.0.1; default: free ports picked by the system.
    timeout
        Seconds the whole job may take; then every worker is killed.
    method
        ``"loop"``: a custom training loop under the strategy; ``"fit"``: Keras ``fit`` (which
        fails under this strategy on TensorFlow 2.21 with Keras 3, see the tests).

    Returns
    -------
    list of dict
        One result per worker: ``index``, ``replicas``, ``losses`` (one per step),
        ``weights_sum``, ``accuracy`` (on all digits), ``seconds``, ``pid``.

    Raises
    ------
    OSError
        If a port is taken.
    TimeoutError
        If the job does not finish within ``timeout`` seconds.
    RuntimeError
        If a worker fails (its standard error is in the message).
    """
    n_workers = check_int("n_workers", n_workers)
    _check_job(steps, global_batch, timeout, method)
    ports = free_ports(n_workers) if ports is None else [check_port_free(p) for p in ports]
    if len(ports) != n_workers or len(set(ports)) != n_workers:
        raise ValueError(f"need {n_workers} distinct ports, got {list(ports)}")
    processes: list[subprocess.Popen] = []
    deadline = time.monotonic() + timeout
    try:
        processes = _start_job(ports, steps, global_batch, seed, method)
        return _collect(processes, deadline, timeout)
    finally:
        for process in processes:
            _kill(process)


def run_jobs(
    job_sizes: Sequence[int], *, steps: int = 10, global_batch: int = 64, timeout: float = 120.0,
    seed: int = 0, method: str = "loop",
) -> list[list[dict]]:
    """Several independent jobs of :func:`run_workers` at once, e.g. ``[2, 1]``: a two-worker
    job and a one-worker job with the same arguments, side by side.

    Starting Python and TensorFlow is most of a short job's time; started together, the jobs'
    processes share that wait. Every process of every job is killed when the call ends, fails
    or runs out of time (``timeout`` is for all the jobs together); ports are picked free.

    Returns
    -------
    list of list of dict
        For each job, in order, its workers' results as :func:`run_workers` returns them.

    Raises
    ------
    TimeoutError, RuntimeError
        As :func:`run_workers`.
    TypeError, ValueError
        If ``job_sizes`` is empty or holds a size that is not a positive int, or another
        argument is invalid (as in :func:`run_workers`).
    """
    sizes = [check_int("job size", size) for size in job_sizes]
    if not sizes:
        raise ValueError("job_sizes must name at least one job")
    _check_job(steps, global_batch, timeout, method)
    ports = free_ports(sum(sizes))
    deadline = time.monotonic() + timeout
    jobs: list[list[subprocess.Popen]] = []
    try:
        first = 0
        for size in sizes:
            jobs.append(_start_job(ports[first : first + size], steps, global_batch, seed, method))
            first += size
        return [_collect(processes, deadline, timeout) for processes in jobs]
    finally:
        for processes in jobs:
            for process in processes:
                _kill(process)


def train_digits(steps: int, global_batch: int, seed: int, method: str = "loop") -> dict:
    """One worker's job: a softmax classifier on digits, custom loop under the strategy."""
    import keras
    import numpy as np
    import tensorflow as tf
    from sklearn.datasets import load_digits

    start = time.perf_counter()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int64")
    with strategy.scope():  # variables created here are mirrored on every worker
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(
            10, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(seed=seed))])
        optimizer = keras.optimizers.SGD(learning_rate=0.5)
        optimizer.build(model.trainable_variables)
    order = np.random.default_rng(seed).permutation(len(x))
    data = tf.data.Dataset.from_tensor_slices((x[order], y[order])).repeat().batch(global_batch)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    data = data.with_options(options)
    if method == "fit":
        with strategy.scope():
            model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    batches = iter(strategy.experimental_distribute_dataset(data))

    def replica_step(images, labels):
        with tf.GradientTape() as tape:
            probabilities = model(images, training=True)
            # Divide by the GLOBAL batch: the all-reduce sums the replicas' gradients.
            loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(
                labels, probabilities)) / global_batch
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    @tf.function
    def train_step(iterator):
        losses = strategy.run(replica_step, args=next(iterator))
        return strategy.reduce("SUM", losses, axis=None)

    losses = [float(train_step(batches)) for _ in range(steps if method == "loop" else 0)]
    predicted = np.asarray(model(x, training=False)).argmax(axis=1)
    return {"replicas": int(strategy.num_replicas_in_sync), "losses": losses,
            "weights_sum": float(sum(np.abs(w).sum() for w in model.get_weights())),
            "accuracy": float(np.mean(predicted == y)),
            "seconds": time.perf_counter() - start,
            "index": json.loads(os.environ.get("TF_CONFIG") or '{"task": {"index": 0}}')["task"]["index"]}


def worker_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of a worker process: train, then print the result as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--method", choices=("loop", "fit"), default="loop")
    args = parser.parse_args(argv)
    import tutorial_lib  # noqa: F401  (quiets TensorFlow's start-up lines)

    print(json.dumps(train_digits(args.steps, args.global_batch, args.seed, args.method)), flush=True)


if __name__ == "__main__":
    worker_main()
