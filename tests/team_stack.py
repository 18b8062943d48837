"""The README's team stack (`scripts/team_stack.sh`, as `make team-stack` starts it) on
127.0.0.1 for the tests, its users' credentials, and a pipeline repo a member pushed to it.
conftest.py makes the session fixtures of these."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from helpers import REPO, free_ports
from repo_helpers import git_commit_all, run
from gan_pipeline.team import secrets_file

BUCKET = "dcgan"
UP_TIMEOUT_S = 180


@dataclass
class Stack:
    dir: Path
    pg_port: int
    s3: str  # nginx, the users' way in
    gateway: str  # the S3 gateway itself, the MLflow server's way in
    mlflow: str
    output: list[str]  # what the script printed until it was up

    def credentials(self, user: str) -> dict[str, str]:
        """The variables of ``user``'s credentials file."""
        return secrets_file.read(self.dir / "credentials" / f"{user}.env")

    def secrets(self) -> dict[str, str]:
        return secrets_file.read(self.dir / "secrets.env")

    def add_member(self, name: str, promoter: bool = False) -> dict[str, str]:
        done = subprocess.run(
            ["make", "-s", "--no-print-directory", "-C", str(REPO), "team-member",
             f"NAME={name}", f"PROMOTER={int(promoter)}", f"STACK_DIR={self.dir}",
             f"MLFLOW_PORT={self.mlflow.rsplit(':', 1)[1]}"],
            capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        self.output += [done.stdout, done.stderr]
        return self.credentials(name)

    def revoke(self, name: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            ["make", "-s", "--no-print-directory", "-C", str(REPO), "team-revoke",
             f"NAME={name}", f"STACK_DIR={self.dir}",
             f"MLFLOW_PORT={self.mlflow.rsplit(':', 1)[1]}"],
            capture_output=True, text=True, timeout=120)
        self.output += [done.stdout, done.stderr]
        return done


@contextmanager
def running_stack(settings: dict[str, str] | None = None) -> Iterator[Stack]:
    """The stack, from the same script as `make team-stack` (with ``settings``, e.g.
    TEAM_STACK_HOST, in its environment), stopped by its process group."""
    # Not under pytest's tmp_path (mode 700): as root, PostgreSQL runs as its own user.
    root = Path(tempfile.mkdtemp(prefix="team-stack-"))
    root.chmod(0o755)
    pg, s3, server = free_ports(3)
    env = {**os.environ, "STACK_DIR": str(root / "stack"), "PG_PORT": str(pg),
           "S3_PORT": str(s3), "MLFLOW_PORT": str(server),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           **(settings or {})}
    log = root / "team-stack.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["bash", str(REPO / "scripts/team_stack.sh")], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + UP_TIMEOUT_S
        while "team-stack: up" not in log.read_text():
            assert proc.poll() is None, log.read_text()  # it exits if it cannot come up
            assert time.monotonic() < deadline, f"not up in {UP_TIMEOUT_S} s:\n{log.read_text()}"
            time.sleep(0.5)
        host = (settings or {}).get("TEAM_STACK_HOST", "127.0.0.1")
        yield Stack(root / "stack", pg, f"http://{host}:{s3}", f"http://127.0.0.1:{s3 + 4}",
                    f"http://{host}:{server}", [log.read_text()])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def use_s3_remote(repo: Path, stack: Stack, keys: dict[str, str], name: str = "team",
                  prefix: str = "dvc") -> None:
    """What the stack prints for each user: the remote and its keys in --local config (not
    committed), DVC re-hashing what it pulls."""
    run(["dvc", "remote", "add", "--local", *(["-d"] if name == "team" else []), name,
         f"s3://{BUCKET}/{prefix}"], repo)
    for key, value in [("endpointurl", stack.s3), ("verify", "true"),
                       ("access_key_id", keys["AWS_ACCESS_KEY_ID"]),
                       ("secret_access_key", keys["AWS_SECRET_ACCESS_KEY"])]:
        run(["dvc", "remote", "modify", "--local", name, key, value], repo)


def mlflow_env(keys: dict[str, str]) -> dict[str, str]:
    return {k: keys[k] for k in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME",
                                 "MLFLOW_TRACKING_PASSWORD")}


def member_pushed(stack: Stack, built_repo: tuple[Path, str], dest: Path) -> Path:
    """Clone A: the session's built repo, its comparison run too (both locked, as in this
    repo), recorded in the stack's MLflow server and pushed to its S3 by member alice; its
    run cache pushed by bob, a promoter (members' keys cannot write it)."""
    member = stack.add_member("alice")
    promoter = stack.add_member("bob", promoter=True)
    shutil.copytree(built_repo[0], dest, symlinks=True)
    use_s3_remote(dest, stack, member)
    done = run(["dvc", "repro", "--all-pipelines"], dest, env=mlflow_env(member))
    stack.output += [done.stdout, done.stderr]
    run(["dvc", "push"], dest)
    use_s3_remote(dest, stack, promoter, name="promoter")
    done = run(["dvc", "push", "--run-cache", "-r", "promoter"], dest)
    assert "ERROR" not in done.stdout + done.stderr, done.stdout + done.stderr
    git_commit_all(dest)  # the locks
    return dest
