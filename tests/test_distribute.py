"""tf.distribute: the same train step on 2 mirrored CPU replicas, and on 2 real workers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import free_ports, real_params, shrink, start_train_stage, train_workdir
from gan_pipeline.evaluation.classifier import build_classifier
from gan_pipeline.formats import quality_rows
from gan_pipeline.formats.history import read_csv
from gan_pipeline.formats.model_files import save_model

pytestmark = pytest.mark.slow


def _workdir(root: Path, strategy: str) -> Path:
    """With quality measured: the probe comes after the runtime, which must come first."""
    raw = shrink(real_params(), iterations=4, sample_interval=2, batch_size=4)
    raw["train"].update(eval_interval=2, eval_samples=16)
    raw["runtime"]["train"]["strategy"] = strategy
    workdir = train_workdir(root, raw)
    save_model(build_classifier((28, 28, 1)), workdir / "models" / "classifier.keras")
    return workdir


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    return out


def _check_outputs(workdir: Path) -> None:
    points = read_csv(workdir / "reports/history.csv")
    assert [p.iteration for p in points] == [2, 4]
    assert all(0.0 < p.d_loss < 10 and 0.0 < p.g_loss < 50 for p in points)
    assert (workdir / "models/generator.keras").is_file()
    assert len(list((workdir / "reports/progress").iterdir())) == 2
    assert [r.iteration for r in quality_rows.read_csv(workdir / "reports/quality.csv")] == [2, 4]


def test_mirrored_on_two_logical_cpus(tmp_path):
    work = _workdir(tmp_path / "mirrored", "mirrored")
    out = _finish(start_train_stage(work, {}))
    assert "MirroredStrategy, 2 replica(s), global batch 8" in out
    _check_outputs(work)


def test_multi_worker_on_two_processes_where_only_the_chief_writes(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    procs = []
    for index in range(2):
        work = _workdir(tmp_path / f"worker{index}", "multi_worker")
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        procs.append((work, start_train_stage(work, {"TF_CONFIG": json.dumps(tf_config)})))
    outs = [_finish(proc) for _, proc in procs]
    # MultiWorkerMirroredStrategy reports its implementation's class name.
    assert "CollectiveAllReduceStrategy, 2 replica(s), global batch 8" in outs[0]
    assert "4 [D loss:" in outs[0] and "[D loss:" not in outs[1]
    assert "worker (no outputs)" in outs[1] and "the chief writes the outputs" in outs[1]
    (chief_dir, _), (worker_dir, _) = procs
    _check_outputs(chief_dir)
    assert not (worker_dir / "reports").exists()
    assert sorted(p.name for p in (worker_dir / "models").iterdir()) == ["classifier.keras"]
