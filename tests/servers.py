"""Real services for the tests: a server process started and stopped as a group, and pages
rendered by a real browser (headless Chromium, Debian's `chromium` package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import requests


def wait_for(url: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args[:3]} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not come up in {timeout_s} s")


def start(cmd: list[str], health_url: str, log: Path, env: dict | None = None
          ) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    wait_for(health_url, proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, 15)  # the server and the workers it forked
    proc.wait(timeout=30)


def chromium(url: str, *, screenshot: Path | None = None, width: int = 1920,
             height: int = 1000) -> str:
    """The DOM of ``url`` once its scripts have settled (or, with ``screenshot``, a PNG of
    the page there), from headless Chromium."""
    binary = shutil.which("chromium")
    assert binary, "chromium not found: install Debian's chromium package (make test does)"
    # --no-sandbox: Chromium's sandbox refuses to run as root, as CI containers do.
    output = [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    done = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-dev-shm-usage", f"--window-size={width},{height}",
                           "--virtual-time-budget=60000", *output, url],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
