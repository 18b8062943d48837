"""A throw-away git + DVC repository made from this one, and the commands run in it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

from helpers import REPO

# This repo's pipelines: the default one, and the comparison that runs only when asked for;
# each with the prefix DVC gives its stage names.
PIPELINES = {"dvc.yaml": "", "compare/dvc.yaml": "compare/dvc.yaml:"}


def run(cmd: list[str], cwd: Path, check: bool = True, env: dict | None = None
        ) -> subprocess.CompletedProcess:
    """A command of the venv (dvc, git, ...) in ``cwd``; MLflow on the embedded default
    unless ``env`` says otherwise."""
    full_env = {**os.environ,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "DVC_NO_ANALYTICS": "1"}
    full_env.pop("MLFLOW_TRACKING_URI", None)  # the embedded default: mlflow.db in the repo
    full_env.update(env or {})
    done = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def ran_stages(output: str) -> list[str]:
    """The stages a `dvc repro` or `dvc exp run` ran, as its output names them."""
    return re.findall(r"Running stage '([^']+)'", output)


def copy_repo(dest: Path) -> None:
    """The files a fresh clone has (tracked and not ignored), without the dvc.lock files."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if Path(rel).name == "dvc.lock" or not src.is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)


def git_commit_all(repo: Path) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "commit",
         "--allow-empty"], repo)


@contextlib.contextmanager
def served_pipeline_repo(repo: Path) -> Iterator[tuple[Path, str]]:
    """A throw-away repo made from this one, on the real params shrunk down, with every
    dataset's mirror served from 127.0.0.1, after one `dvc repro`: (path, its output)."""
    from helpers import FileServer, real_params, serve_every_dataset, shrink, write_sources

    copy_repo(repo)
    server = FileServer()
    server.thread.start()
    try:
        write_sources(repo, serve_every_dataset(server, n_train=96, n_test=32))
        raw = shrink(real_params())
        (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        run(["git", "init", "-q"], repo)
        git_commit_all(repo)
        done = run(["dvc", "repro"], repo)
        yield repo, done.stdout + done.stderr
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
