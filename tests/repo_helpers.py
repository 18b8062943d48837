"""A throw-away git + DVC repository made from this one, and the commands run in it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import yaml

from helpers import REPO
from gan_pipeline.verification.tree_copy import copy_files, venv_env



def _env(env: dict | None) -> dict:
    """The venv's commands first; MLflow on the embedded default unless ``env`` says
    otherwise."""
    full_env = venv_env(DVC_NO_ANALYTICS="1")
    full_env.pop("MLFLOW_TRACKING_URI", None)  # the embedded default: mlflow.db in the repo
    full_env.update(env or {})
    return full_env


def run(cmd: list[str], cwd: Path, check: bool = True, env: dict | None = None
        ) -> subprocess.CompletedProcess:
    """A command of the venv (dvc, git, ...) in ``cwd``, its output captured: never one that
    leaves processes behind (see start_queue)."""
    done = subprocess.run(cmd, cwd=cwd, env=_env(env), capture_output=True, text=True,
                          timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def start_queue(repo: Path, jobs: int, log: Path) -> None:
    """`dvc queue start -j jobs`, its output appended to ``log``.

    The command forks a launcher per worker that lives on until its worker stops, and a
    launcher inherits the command's stdout and stderr: captured into pipes, the command
    "ends" only when the last worker does, at whatever time the queue shuts down, and a
    worker that lingers hangs the caller. A file has no end to wait for."""
    with open(log, "a") as out:
        subprocess.run(["dvc", "queue", "start", "-j", str(jobs)], cwd=repo, env=_env(None),
                       stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       check=True, timeout=120)


def queue_processes(repo: Path) -> list[int]:
    """The live processes DVC's queue records in ``repo`` (workers and experiment runs,
    ``.dvc/tmp/exps/**/<name>.json``), by pid."""
    pids = set()
    for info in (repo / ".dvc" / "tmp" / "exps").rglob("*.json"):
        try:
            pid = json.loads(info.read_text()).get("pid")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(pid, int) and pid > 0 and _alive(pid):
            pids.add(pid)
    return sorted(pids)


def _alive(pid: int) -> bool:
    """Running, not a zombie that nothing has reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_queue(repo: Path) -> None:
    """Kill what DVC's queue left running in ``repo``: each recorded process with its
    process group (a worker's launcher leads its group), never this test's own."""
    for pid in queue_processes(repo):
        with contextlib.suppress(ProcessLookupError):
            group = os.getpgid(pid)
            if group != os.getpgrp():
                os.killpg(group, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while queue_processes(repo) and time.monotonic() < deadline:
        time.sleep(0.2)


def ran_stages(output: str) -> list[str]:
    """The stages a `dvc repro` or `dvc exp run` ran, as its output names them."""
    return re.findall(r"Running stage '([^']+)'", output)


def copy_repo(dest: Path) -> None:
    """The files a fresh clone has (tracked and not ignored), without the dvc.lock files."""
    copy_files(REPO, dest, skip=("dvc.lock",))


def git_commit_all(repo: Path) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "commit",
         "--allow-empty"], repo)


def build_served_repo(repo: Path, server) -> str:
    """A throw-away repo made from this one, on the real params shrunk down, with every
    dataset's mirror served by ``server``, after `dvc repro` of every stage but track (the
    MLflow store is each copy's own): the output of that run."""
    from helpers import real_params, serve_every_dataset, shrink, write_sources

    copy_repo(repo)
    write_sources(repo, serve_every_dataset(server, n_train=96, n_test=32))
    raw = shrink(real_params())
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    compare = yaml.safe_load((repo / "compare/params.yaml").read_text())
    compare["minutes"] = 0.001  # each comparison run stops after its first iteration
    (repo / "compare/params.yaml").write_text(yaml.safe_dump(compare, sort_keys=False))
    translate = yaml.safe_load((repo / "translate/params.yaml").read_text())
    translate["nets"].update(width=4, residual_blocks=1)  # two iterations of a tiny CycleGAN
    translate["train"].update(batch_size=4, iterations=2, max_minutes=None, log_interval=1)
    (repo / "translate/params.yaml").write_text(yaml.safe_dump(translate, sort_keys=False))
    run(["git", "init", "-q"], repo)
    git_commit_all(repo)
    done = run(["dvc", "repro", "evaluate", "sample", "plot"], repo)
    return done.stdout + done.stderr


def pipeline_repo_copy(base: tuple[Path, str], dest: Path) -> tuple[Path, str]:
    """A copy of the session's built repo (conftest.built_repo) after its own `dvc repro`,
    which runs only track: (path, the output of both runs)."""
    shutil.copytree(base[0], dest, symlinks=True)
    done = run(["dvc", "repro"], dest)
    return dest, base[1] + done.stdout + done.stderr
