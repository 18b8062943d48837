"""A pytest plugin: a SIGTERM (a CI job's timeout, `kill`) stops the run as Ctrl-C does, so
that the fixtures' teardown still stops what they started. The team stack runs in its own
session, which a signal to pytest does not reach: on pytest's default exit by SIGTERM its
PostgreSQL, SeaweedFS and MLflow server would live on.

Under pytest-xdist the fixtures live in the workers, and a SIGTERM to the controller does
not reach them. Were the controller to stop at once, xdist would shut its workers down on a
timer: execnet interrupts a busy worker after 5 s, in its teardown if need be, and kills it
after 10 s, and a worker stopped mid-teardown leaves its daemons running (seen on a loaded
AVX2 host). So the controller passes the signal on to its workers instead; each tears down
and reports a keyboard interrupt, on which xdist ends the session as interrupted.

Only the first SIGTERM counts: a signal to the whole process group (GNU timeout, a CI
runner) reaches a worker twice, directly and passed on, and a second KeyboardInterrupt
would cut its teardown short. SIGKILL still stops everything."""

import os
import signal

import psutil


def _children() -> list[int]:
    """The pids of this process's live children: in xdist's controller, its workers."""
    pids = []
    for child in psutil.Process().children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                pids.append(child.pid)
        except psutil.NoSuchProcess:
            continue  # it exited meanwhile
    return pids


def pytest_configure(config) -> None:
    def interrupt(signum, _frame) -> None:
        signal.signal(signum, signal.SIG_IGN)
        workers = _children() if config.pluginmanager.has_plugin("dsession") else []
        if workers:  # xdist's controller, with workers running
            for pid in workers:
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass  # it exited since _children looked
            return
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
