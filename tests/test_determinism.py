"""Same params, same data, same machine: two training processes give the same bytes.

At the real batch size and on data of MNIST's size, with TensorFlow's default thread pools,
so that any ops of the train step that TensorFlow may run at the same time do run at the
same time. The processes run side by side, which makes the timing of each less regular.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from helpers import real_params, real_size, start_train_stage, train_workdir

pytestmark = pytest.mark.slow

ITERATIONS, SAMPLE_INTERVAL = 100, 50
TRAIN_OUTPUTS = ["models/generator.keras", "models/discriminator.keras", "reports/history.csv",
                 "reports/platform.json",
                 *(f"reports/progress/iteration_{i:06d}.png"
                   for i in range(SAMPLE_INTERVAL, ITERATIONS + 1, SAMPLE_INTERVAL))]


def output_digests(workdir: Path) -> dict[str, str]:
    return {rel: hashlib.sha256((workdir / rel).read_bytes()).hexdigest()
            for rel in TRAIN_OUTPUTS}


def train_twice(tmp_path: Path, data: Path, **train) -> list[dict[str, str]]:
    procs = []
    for name in ("first", "second"):
        raw = real_size(real_params(), ITERATIONS, SAMPLE_INTERVAL)
        raw["train"].update(train)
        work = train_workdir(tmp_path / name, raw, data)
        uri = f"sqlite:///{tmp_path / name / 'mlflow.db'}"
        procs.append((work, start_train_stage(work, {"MLFLOW_TRACKING_URI": uri})))
    for _, proc in procs:
        out = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, out
    return [output_digests(work) for work, _ in procs]


def test_two_processes_train_the_same_bytes(tmp_path, mnist_shaped_data):
    first, second = train_twice(tmp_path, mnist_shaped_data)
    assert first == second


def test_two_mirrored_processes_train_the_same_bytes(tmp_path, mnist_shaped_data):
    first, second = train_twice(tmp_path, mnist_shaped_data, strategy="mirrored")
    assert first == second
