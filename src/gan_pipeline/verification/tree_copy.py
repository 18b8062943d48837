"""A fresh clone's files in a throw-away copy, and the environment its stages run in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def venv_env(**extra: str) -> dict[str, str]:
    """This environment with this interpreter's commands (dvc, python) first on PATH, as the
    stage commands expect."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                  f"{os.environ.get('PATH', '')}", **extra}


def copy_files(repo: Path, dest: Path, skip: tuple[str, ...] = ()) -> None:
    """The files a fresh clone has (tracked, and untracked but not ignored), but those named
    ``skip``, copied into ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=repo,
                            capture_output=True, text=True, check=True, timeout=60).stdout
    for rel in filter(None, listed.split("\0")):
        if (repo / rel).is_file() and Path(rel).name not in skip:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / rel, dest / rel)


def copy_tree(repo: Path, dest: Path) -> None:
    """The files a fresh clone has, as a new git repository."""
    copy_files(repo, dest)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=verify", "-c", "user.email=verify@localhost",
                 "commit", "-qm", "verify"]):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True, timeout=120)
