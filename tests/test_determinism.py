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


def test_two_processes_train_the_same_bytes(straight_pair):
    """The session's pair (conftest.straight_pair): a moving average, quality measured and a
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
