"""Interruptions and bad input: SIGTERM + resume reproduces the uninterrupted run byte for
byte; NaN losses stop at once; stages refuse malformed data with a clear message."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import (TRAIN_ARGS, REPO, LineReader, measured, output_digests, real_params,
                     real_size_workdir, shrink, start_train_stage, synthetic_images,
                     train_outputs, train_workdir)
from repo_helpers import git_commit_all, run
from gan_pipeline.config.params import parse_params
from gan_pipeline.data.prepare import prepare
from gan_pipeline.formats.files import save_npz
from gan_pipeline.training import state_digests
from gan_pipeline.training.loop import NonFiniteLossError, train

TRAIN_OUTPUTS = train_outputs(10, 100)


def _workdir(root: Path) -> Path:
    raw = shrink(real_params(), iterations=60, sample_interval=10, batch_size=8)
    raw["runtime"]["train"]["checkpoint_interval"] = 10
    return train_workdir(root, raw)


def _train(workdir: Path) -> subprocess.Popen:
    return start_train_stage(workdir, {})




# Two trainings at the real size, one after the other: on an AVX2 host, beside another
# worker's real-size trainings (test_determinism's), they outlasted the suite's 600 s.
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_sigterm_then_resume_ends_with_the_uninterrupted_runs_bytes(
        tmp_path, mnist_shaped_data, untrained_classifier, straight_pair):
    straight = straight_pair[0]
    interrupted = real_size_workdir(tmp_path / "interrupted", mnist_shaped_data,
                                    untrained_classifier)
    proc = _train(interrupted)
    out = LineReader(proc)
    out.wait_for("30 [D loss", timeout_s=600)  # past a checkpoint: stop it mid-run
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    output = out.rest(timeout_s=120)
    assert proc.returncode == 128 + signal.SIGTERM, output
    assert "interrupted: SIGTERM at iteration" in output
    assert time.monotonic() - started < 30  # it stops after the current iteration
    assert not (interrupted / "models/generator.keras").exists()
    assert any((interrupted / "checkpoints/train").iterdir())

    resumed = _train(interrupted)
    output = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0, output
    assert "resuming from the checkpoint of iteration" in output
    assert output_digests(interrupted, TRAIN_OUTPUTS) == output_digests(straight, TRAIN_OUTPUTS)
    assert [row[0] for row in measured(straight)] == [50, 100]
    assert measured(interrupted) == measured(straight)
    assert list((interrupted / "checkpoints/train").iterdir()) == []  # done: nothing to resume

    digests = state_digests.read_json(interrupted / "reports/state_digests.json")
    assert [d.iteration for d in digests] == list(range(10, 101, 10))


@pytest.mark.slow
def test_lazy_r1_resumes_to_the_uninterrupted_runs_state(tmp_path):
    """Lazy R1's schedule follows the iteration: a run checkpointed at iteration 3 and
    resumed ends in the state, digest for digest, of one that never stopped (in process, at
    a tiny size)."""
    images = prepare(synthetic_images(), 64)["x_train"]

    def digests(iterations: int, checkpoint_dir: Path | None) -> list:
        raw = shrink(real_params(), iterations=iterations, sample_interval=2)
        raw["train"].update(r1_gamma=0.01, r1_interval=3)
        raw["runtime"]["train"].update(checkpoint_interval=3, precision="float32")
        params = parse_params(raw)
        return train(params.model, params.train, params.runtime.train, images,
                     checkpoint_dir=checkpoint_dir).record.digests

    straight = digests(6, None)
    digests(3, tmp_path / "checkpoints")
    assert digests(6, tmp_path / "checkpoints") == straight
    assert [d.iteration for d in straight] == [2, 4, 6]


def test_mixed_float16_trains_checkpoints_and_resumes_to_the_same_bytes(tmp_path):
    """The GPU's precision (`precision: auto` picks it there), on the CPU: its loss scale is
    part of the state, saved in the checkpoint and restored on resuming."""
    def workdir(name: str) -> Path:
        # float16 is emulated on a CPU, and slow: a short run, a checkpoint every 5.
        raw = shrink(real_params(), iterations=20, sample_interval=5, batch_size=8)
        raw["runtime"]["train"].update(checkpoint_interval=5, precision="mixed_float16")
        return train_workdir(tmp_path / name, raw)

    straight, interrupted = workdir("straight"), workdir("interrupted")
    proc = _train(straight)
    output = LineReader(proc).rest(timeout_s=600)
    assert proc.returncode == 0, output
    assert '"precision": "mixed_float16"' in (straight / "reports/platform.json").read_text()
    proc = _train(interrupted)
    out = LineReader(proc)
    out.wait_for("10 [D loss", timeout_s=600)
    proc.send_signal(signal.SIGTERM)
    output = out.rest(timeout_s=120)
    assert proc.returncode == 128 + signal.SIGTERM, output
    proc = _train(interrupted)
    output = LineReader(proc).rest(timeout_s=600)
    assert proc.returncode == 0 and "resuming from the checkpoint of iteration" in output, \
        output
    outputs = train_outputs(5, 20)
    assert output_digests(interrupted, outputs) == output_digests(straight, outputs)


def test_a_checkpoint_of_other_params_is_refused_unless_starting_fresh(tmp_path):
    work = _workdir(tmp_path / "work")
    proc = _train(work)
    out = LineReader(proc)
    out.wait_for("20 [D loss", timeout_s=300)
    proc.send_signal(signal.SIGINT)
    out.rest(timeout_s=120)
    assert proc.returncode == 128 + signal.SIGINT
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["model"]["leaky_relu_alpha"]["dcgan"] = 0.2  # other activations
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    refused = _train(work)
    output = refused.communicate(timeout=600)[0]
    assert refused.returncode == 1
    assert "made with other params or data" in output and (
        "runtime.train.resume: false" in output)
    params["runtime"]["train"]["resume"] = False
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    fresh = _train(work)
    output = fresh.communicate(timeout=600)[0]
    assert fresh.returncode == 0, output
    assert "resuming" not in output


def test_a_non_finite_loss_stops_training_at_once_naming_the_iteration(tmp_path):
    params = parse_params(shrink(real_params()))
    cfg = params.train.model_copy(update={
        "iterations": 50, "sample_interval": 50,
        "adam": params.train.adam.model_copy(update={"learning_rate": 1e8})})
    runtime = params.runtime.train.model_copy(update={"checkpoint_interval": 1,
                                                      "precision": "float32"})
    images = prepare(synthetic_images(), 64)["x_train"]
    with pytest.raises(NonFiniteLossError, match=r"NaN or inf at iteration (\d+)") as err:
        train(params.model, cfg, runtime, images, checkpoint_dir=tmp_path / "ckpt")
    failed_at = int(err.value.args[0].split("iteration ")[1].split(";")[0])
    # A learning rate of 1e8 diverges within a few iterations (at 3 here), after at least one
    # good one whose checkpoint is kept.
    assert 2 <= failed_at <= 10
    assert f"last good checkpoint: iteration {failed_at - 1}" in str(err.value)
    saved = sorted(p.name for p in (tmp_path / "ckpt").glob("ckpt-*.index"))
    assert saved[-1] == f"ckpt-{failed_at - 1}.index"  # the last good iteration is kept


@pytest.mark.parametrize("stage, arrays, message", [
    ("prepare", {"x_train": np.zeros((4, 28, 28), np.float32)}, "x_train must have dtype uint8"),
    ("prepare", {"x_test": np.zeros((4, 32, 32), np.uint8)}, "x_test must have shape N×28×28"),
    ("train", {"x_train": np.full((16, 28, 28, 1), 2.0, np.float32)}, r"values must lie in"),
    ("train", {"x_train": np.zeros((16, 28, 28), np.float32)}, "x_train must have shape"),
])
def test_stages_refuse_malformed_data_with_a_clear_error(tmp_path, stage, arrays, message):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(shrink(real_params())))
    if stage == "prepare":
        base = synthetic_images()
        args = ["--raw", "in.npz", "--out", "out.npz"]
    else:
        base = prepare(synthetic_images(), 64)
        args = [a.replace("data/prepared/dataset.npz", "in.npz") for a in TRAIN_ARGS]
    save_npz(tmp_path / "in.npz", {**base, **arrays})
    done = subprocess.run([sys.executable, str(REPO / f"stages/{stage}.py"), "--params",
                           "params.yaml", *args], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/m.db"},
                          timeout=300)
    assert done.returncode == 1
    assert "error: " in done.stderr
    assert re.search(message, done.stderr), done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npz", "params.yaml"]


@pytest.mark.slow
def test_after_sigkill_the_next_dvc_repro_resumes_to_the_uninterrupted_runs_bytes(tmp_path,
                                                                                 built_repo):
    """No chance to checkpoint: the next `dvc repro` resumes from the last periodic
    checkpoint, which DVC leaves alone (it is no DVC output), and ends with the bytes of a
    run that was never interrupted."""
    repo = tmp_path / "repo"
    shutil.copytree(built_repo[0], repo, symlinks=True)
    raw = shrink(real_params(), iterations=60, sample_interval=10, batch_size=8)
    raw["runtime"]["train"]["checkpoint_interval"] = 10
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    git_commit_all(repo)
    proc = subprocess.Popen(["dvc", "repro", "train"], cwd=repo, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, env={
                                **os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{repo}/m.db",
                                "PYTHONUNBUFFERED": "1",  # the log line arrives at once
                                "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    out = LineReader(proc)
    out.wait_for("30 [D loss", timeout_s=600)
    os.killpg(proc.pid, signal.SIGKILL)  # DVC and the stage, at once
    out.rest(timeout_s=60)
    assert list((repo / "checkpoints/train").glob("ckpt-*.index"))

    resumed = run(["dvc", "repro", "train"], repo).stdout
    assert re.search(r"resuming from the checkpoint of iteration (20|30)", resumed), resumed
    after_kill = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["train"]["outs"]
    run(["dvc", "repro", "--force", "--single-item", "train"], repo)
    straight = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["train"]["outs"]
    assert after_kill == straight
