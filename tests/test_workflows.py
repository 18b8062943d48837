"""The GitHub Actions workflows, which cannot run here, checked by real tools pinned in
requirements.lock: actionlint (syntax, expressions, shell) and zizmor (security audit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "actionlint"), "-no-color", *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def test_the_workflows_call_the_make_targets():
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "reproduce.yml"]
    ci, reproduce = (p.read_text() for p in WORKFLOWS)
    assert "make test" in ci and "make verify" in ci and "dvc metrics diff" in ci
    assert "make reproduce" in reproduce and "workflow_dispatch" in reproduce


def test_actionlint_finds_nothing_in_the_workflows():
    done = actionlint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ github.no_such_context }}\n")
    done = actionlint(broken)
    assert done.returncode == 1 and "no_such_context" in done.stdout, done.stdout + done.stderr


def test_zizmor_finds_no_security_issue_in_the_workflows():
    done = subprocess.run([str(BIN / "zizmor"), "--offline", "--no-progress",
                           *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
