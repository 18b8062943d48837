"""A pytest plugin: a SIGTERM (a CI job's timeout, `kill`) stops the run as Ctrl-C does, so
that the fixtures' teardown still stops what they started. The team stack runs in its own
session, which a signal to pytest does not reach: on pytest's default exit by SIGTERM its
PostgreSQL, SeaweedFS and MLflow server would live on."""

import signal


def _interrupt(signum, _frame) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def pytest_configure(config) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
