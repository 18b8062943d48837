"""A SIGTERM to pytest stops what its fixtures started (sigterm_teardown.py): a process in
its own session, as the team stack's are, is gone once pytest has exited."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# Its fixture starts a process in a session of its own, writes down its pid, and stops it
# in its teardown; the test then waits to be interrupted.
INNER = '''
import os, subprocess, time
from pathlib import Path
import pytest

@pytest.fixture
def daemon():
    proc = subprocess.Popen(["sleep", "300"], start_new_session=True)
    Path(os.environ["DAEMON_PID"]).write_text(str(proc.pid))
    yield
    proc.kill()
    proc.wait(timeout=10)

def test_waits(daemon):
    time.sleep(300)
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its new parent) is gone for this purpose.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _terminate_pytest(tmp_path: Path, plugins: list[str]) -> int:
    """Runs INNER under pytest, SIGTERMs pytest once the fixture is up; the daemon's pid."""
    (tmp_path / "test_inner.py").write_text(INNER)
    pid_file = tmp_path / "daemon.pid"
    env = {**os.environ, "DAEMON_PID": str(pid_file),
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    with open(tmp_path / "pytest.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 *plugins, str(tmp_path / "test_inner.py")],
                                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "pytest.log").read_text()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return int(pid_file.read_text())


@pytest.mark.parametrize("plugins, survives", [(["-p", "sigterm_teardown"], False), ([], True)],
                         ids=["with the plugin", "without it"])
def test_a_sigterm_to_pytest_stops_what_its_fixtures_started(tmp_path, plugins, survives):
    pid = _terminate_pytest(tmp_path, plugins)
    try:
        deadline = time.monotonic() + 10
        while _alive(pid) and not survives and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive(pid) == survives
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
