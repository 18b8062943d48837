"""What every stage shares (cli.run): bad input is one line naming the problem; a bug keeps
its traceback."""

from __future__ import annotations

import subprocess
import sys


def _stage(body: str) -> subprocess.CompletedProcess:
    """A stage script whose main runs ``body``."""
    script = ("from gan_pipeline import cli\n"
              "from gan_pipeline.errors import InputError\n"
              "import numpy as np\n"
              "def main(args, params):\n"
              f"    {body}\n"
              "cli.run(main, cli.parser('a stage', params=False).parse_args([]))\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)


def test_bad_input_exits_with_one_line_naming_it():
    done = _stage("raise InputError(\"data/raw/dataset.npz: missing array 'x_train'\")")
    assert done.returncode == 1
    assert done.stderr == "error: data/raw/dataset.npz: missing array 'x_train'\n"


def test_a_bug_keeps_its_traceback():
    done = _stage("np.zeros(3).reshape(2, 2)")  # a ValueError that no check of ours raised
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "ValueError: cannot reshape array of size 3 into shape (2,2)" in done.stderr
