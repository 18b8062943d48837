"""A SIGTERM to pytest stops what its fixtures started (sigterm_teardown.py): a process in
its own session, as the team stack's are, is gone once pytest has exited, with one process
and under pytest-xdist, as `make test` runs, whether the signal goes to pytest alone or to
its whole process group, and however long the teardown takes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# A session fixture starts a process in a session of its own and stops it in its teardown,
# which takes longer than xdist's 10 s EXIT_TIMEOUT, as stopping a stack on a loaded host
# can; the test writes down that process's pid once the fixture is up, then waits.
INNER = '''
import os, subprocess, time
from pathlib import Path
import pytest

@pytest.fixture(scope="session")
def daemon():
    proc = subprocess.Popen(["sleep", "300"], start_new_session=True)
    yield proc.pid
    time.sleep(12)
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


def _terminate_pytest(tmp_path: Path, args: list[str], group: bool) -> int:
    """Runs INNER under pytest, SIGTERMs pytest (or with ``group``, its process group, as GNU
    timeout and CI runners do) once its test runs; the daemon's pid."""
    (tmp_path / "test_inner.py").write_text(INNER)
    pid_file = tmp_path / "daemon.pid"
    env = {**os.environ, "DAEMON_PID": str(pid_file),
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    log = tmp_path / "pytest.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 *args, str(tmp_path / "test_inner.py")],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        try:  # the inner pytest and its workers, whatever state they are left in
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
    return int(pid_file.read_text())


@pytest.mark.parametrize("args, group, survives", [
    (["-p", "sigterm_teardown"], False, False),
    (["-p", "sigterm_teardown", "-n", "1"], False, False),
    (["-p", "sigterm_teardown", "-n", "1"], True, False),
    ([], False, True),
], ids=["with the plugin", "with the plugin, under xdist", "to the group, under xdist",
        "without it"])
def test_a_sigterm_to_pytest_stops_what_its_fixtures_started(tmp_path, args, group, survives):
    pid = _terminate_pytest(tmp_path, args, group)
    try:
        deadline = time.monotonic() + 30
        while _alive(pid) and not survives and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive(pid) == survives, (tmp_path / "pytest.log").read_text()
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
