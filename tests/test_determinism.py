"""Same params, same data, same machine: two training processes give the same bytes.

At the real batch size and on data of MNIST's size, with TensorFlow's default thread pools,
so that any ops of the train step that TensorFlow may run at the same time do run at the
same time. The processes run side by side, which makes the timing of each less regular.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import (measured, output_digests, real_params, real_size, start_train_stage,
                     train_outputs, train_workdir)

pytestmark = pytest.mark.slow

ITERATIONS, SAMPLE_INTERVAL = 100, 50
THREAD_ITERATIONS = 20


def test_two_processes_train_the_same_bytes(straight_pair):
    """The session's pair (conftest.straight_pair): lazy R1, quality measured and a
    checkpoint every 10 iterations, side by side."""
    first, second = straight_pair
    outputs = train_outputs(10, 100)
    assert output_digests(first, outputs) == output_digests(second, outputs)
    assert measured(first) == measured(second)


def test_two_mirrored_processes_train_the_same_bytes(tmp_path: Path, mnist_shaped_data):
    procs = []
    for name in ("first", "second"):
        raw = real_size(real_params(), ITERATIONS, SAMPLE_INTERVAL)
        raw["runtime"]["train"]["strategy"] = "mirrored"
        work = train_workdir(tmp_path / name, raw, mnist_shaped_data)
        procs.append((work, start_train_stage(work, {})))
    for _, proc in procs:
        out = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, out
    outputs = train_outputs(SAMPLE_INTERVAL, ITERATIONS)
    first, second = (output_digests(work, outputs) for work, _ in procs)
    assert first == second


def test_the_thread_count_decides_the_bits_and_the_visible_cores_do_not(tmp_path,
                                                                        mnist_shaped_data):
    """The facts the bits classes rest on (docs/reproducibility.md: What decides the bits):
    at the real batch size, one intra-op thread trains other bits than two, and two threads
    on one visible core (taskset) train the bits of two threads on every core."""
    runs = {}
    for name, threads, cpus in [("1 thread", 1, None), ("2 threads", 2, None),
                                ("2 threads on core 0", 2, "0")]:
        raw = real_size(real_params(), THREAD_ITERATIONS, THREAD_ITERATIONS)
        raw["runtime"]["train"]["intra_op_threads"] = threads
        work = train_workdir(tmp_path / name.replace(" ", "-"), raw, mnist_shaped_data)
        proc = start_train_stage(work, {}, cpus)
        out = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, out
        runs[name] = output_digests(work, ["models/generator.keras",
                                           "reports/state_digests.json"])
    assert runs["2 threads on core 0"] == runs["2 threads"]
    assert runs["1 thread"]["models/generator.keras"] != runs["2 threads"][
        "models/generator.keras"]
