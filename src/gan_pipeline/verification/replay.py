"""The prefix replay: the train stage of a tree, run on its committed params for the first
``iterations`` only, as a separate process, optionally stopped halfway by SIGTERM and
resumed. A prefix of a run is that run's first iterations, bit for bit: the iterations
param only ends the loop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gan_pipeline.training.state_digests import StateDigest, read_json

# The train stage's outputs, relative to its working folder.
OUTPUTS = {"--generator": "models/generator.keras",
           "--discriminator": "models/discriminator.keras",
           "--history": "reports/history.csv", "--state-digests": "reports/state_digests.json",
           "--progress-dir": "reports/progress", "--platform": "reports/platform.json",
           "--checkpoint-dir": "checkpoints/train", "--classifier": "models/classifier.keras",
           "--quality": "reports/quality.csv"}
SIGTERM_EXIT = 128 + signal.SIGTERM


class ReplayError(RuntimeError):
    """The replay's training did not run as it must."""


@dataclass(frozen=True)
class Prefix:
    history: list[str]  # reports/history.csv's lines, header first
    state_digests: list[StateDigest]
    seconds: float


def prefix_params(raw_params: dict[str, Any], iterations: int,
                  checkpoint_interval: int | None = None) -> dict[str, Any]:
    """The committed params, cut to ``iterations``, resuming from nothing stale."""
    runtime = {**raw_params["runtime"],
               "train": {**raw_params["runtime"]["train"], "resume": True,
                         "checkpoint_interval": checkpoint_interval or iterations}}
    return {**raw_params, "train": {**raw_params["train"], "iterations": iterations},
            "runtime": runtime}


def pinned_threads(threads: int) -> dict[str, str]:
    """The environment that runs TensorFlow on ``threads`` intra-op threads where its params
    leave the count to it (0), whatever the cores: the thread count decides the bits."""
    return {"TF_NUM_INTRAOP_THREADS": str(threads)}


def _start(repo: Path, workdir: Path, threads: int) -> subprocess.Popen:
    args = [a for flag, path in OUTPUTS.items() for a in (flag, path)]
    return subprocess.Popen(
        [sys.executable, "-u", str(repo / "stages" / "train.py"), "--params", "params.yaml",
         "--data", "data/prepared/dataset.npz", *args],
        cwd=workdir, env={**os.environ, "PYTHONPATH": str(repo / "src"),
                          **pinned_threads(threads)},
        stdout=sys.stdout, stderr=subprocess.STDOUT)


def _wait(proc: subprocess.Popen, deadline: float, what: str) -> int:
    try:
        return proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise ReplayError(f"{what}: still running at the time limit; killed") from None


def replay(repo: Path, workdir: Path, raw_params: dict[str, Any], iterations: int,
           data: Path, classifier: Path, threads: int,
           interrupt_at: int | None = None, timeout_s: float = 3600) -> Prefix:
    """Train the first ``iterations`` of ``raw_params``'s run with ``repo``'s code in
    ``workdir``, on ``threads`` intra-op threads; with ``interrupt_at``, SIGTERM once the
    checkpoint of that iteration is written, then run the stage again, which resumes."""
    workdir.mkdir(parents=True)
    (workdir / "params.yaml").write_text(
        yaml.safe_dump(prefix_params(raw_params, iterations, interrupt_at)))
    for link, target in (("data/prepared/dataset.npz", data),
                         ("models/classifier.keras", classifier)):
        (workdir / link).parent.mkdir(parents=True, exist_ok=True)
        (workdir / link).symlink_to(target.resolve())
    start = time.monotonic()
    deadline = start + timeout_s
    proc = _start(repo, workdir, threads)
    if interrupt_at is not None:
        checkpoint = workdir / "checkpoints" / "train" / f"ckpt-{interrupt_at}.index"
        while not checkpoint.exists():
            if proc.poll() is not None:
                raise ReplayError(f"the run to interrupt exited ({proc.returncode}) before "
                                  f"its checkpoint of iteration {interrupt_at}")
            if time.monotonic() > deadline:
                _wait(proc, 0, "the run to interrupt")
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        code = _wait(proc, deadline, "the interrupted run")
        if code != SIGTERM_EXIT:
            raise ReplayError(f"the interrupted run exited {code}, not {SIGTERM_EXIT} "
                              f"(SIGTERM's checkpoint-and-exit)")
        proc = _start(repo, workdir, threads)
    code = _wait(proc, deadline, "the replay")
    if code != 0:
        raise ReplayError(f"the replay's train stage exited {code}")
    history = (workdir / OUTPUTS["--history"]).read_text().splitlines()
    return Prefix(history, read_json(workdir / OUTPUTS["--state-digests"]),
                  time.monotonic() - start)


def committed_prefix(repo: Path, iterations: int) -> Prefix:
    """The committed run's first ``iterations``: its history rows and state digests (None
    before a relock recorded them)."""
    history = (repo / "reports/history.csv").read_text().splitlines()
    rows = 1 + sum(1 for line in history[1:] if int(line.split(",")[0]) <= iterations)
    digests_file = repo / "reports/state_digests.json"
    digests = [d for d in read_json(digests_file) if d.iteration <= iterations] \
        if digests_file.exists() else None
    return Prefix(history[:rows], digests, 0)
