"""A SIGTERM to pytest stops what its fixtures started (sigterm_teardown.py): a process in
its own session, as the team stack's are, is gone once pytest has exited, with one process
and under pytest-xdist, as `make test` runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# A session fixture starts a process in a session of its own and stops it in its teardown;
# the test writes down that process's pid once the fixture is up, then waits to be stopped.
INNER = '''
import os, subprocess, time
from pathlib import Path
import pytest

@pytest.fixture(scope="session")
def daemon():
    proc = subprocess.Popen(["sleep", "300"], start_new_session=True)
    yield proc.pid
    proc.kill()
    proc.wait(timeout=10)

def test_waits(daemon):
    Path(os.environ["DAEMON_PID"]).write_text(str(daemon))
    time.sleep(300)
'''


def _alive(pid: int) -> bool:
    """Whether the daemon still runs: a zombie (exited, not yet reaped) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and cmdline == b"sleep\x00300\x00"


def _terminate_pytest(tmp_path: Path, args: list[str]) -> int:
    """Runs INNER under pytest, SIGTERMs pytest once its test runs; the daemon's pid."""
    (tmp_path / "test_inner.py").write_text(INNER)
    pid_file = tmp_path / "daemon.pid"
    env = {**os.environ, "DAEMON_PID": str(pid_file),
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    log = tmp_path / "pytest.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 *args, str(tmp_path / "test_inner.py")],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return int(pid_file.read_text())


@pytest.mark.parametrize("args, survives", [
    (["-p", "sigterm_teardown"], False),
    (["-p", "sigterm_teardown", "-n", "1"], False),
    ([], True),
], ids=["with the plugin", "with the plugin, under xdist", "without it"])
def test_a_sigterm_to_pytest_stops_what_its_fixtures_started(tmp_path, args, survives):
    pid = _terminate_pytest(tmp_path, args)
    try:
        deadline = time.monotonic() + 20
        while _alive(pid) and not survives and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive(pid) == survives, (tmp_path / "pytest.log").read_text()
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
