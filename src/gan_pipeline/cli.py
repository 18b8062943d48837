"""What every stage script shares: argument parsing, quieter TensorFlow, NumPy's BLAS kernels
chosen by instruction set (gan_pipeline.blas), clean error exits.

Stage scripts import it first, so that TensorFlow's start-up lines are filtered, and the
BLAS kernels chosen, before any module imports TensorFlow or NumPy.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable

from gan_pipeline import blas, native_logs
from gan_pipeline.config.schema import Section, read_yaml, validate
from gan_pipeline.errors import InputError

# TensorFlow's own log level (its INFO and WARNING lines once absl's log is initialised);
# native_logs drops the lines it prints before that.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
native_logs.filter_stderr()
blas.pin_openblas_kernels()  # before NumPy loads


def parser(description: str, params: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    if params:
        p.add_argument("--params", default="params.yaml",
                       help="the params file (default: %(default)s)")
    return p


def run(main: Callable[[argparse.Namespace, Section | None], None],
        args: argparse.Namespace, params: type[Section] | None = None) -> None:
    """Validate the sections of ``args.params`` that the stage reads (its ``params`` model,
    e.g. ``config.train.TrainParams``), then run ``main``.

    Bad input (and a diverged training: a non-finite loss) exits 1 with one line that
    names the problem; anything else is a bug and keeps its traceback.
    """
    try:
        loaded = validate(params, read_yaml(args.params)) if params is not None else None
        main(args, loaded)
    except (InputError, FileNotFoundError, FloatingPointError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as err:
        print(f"interrupted: {err or 'SIGINT'}. Checkpoints are kept: run the stage again "
              f"(dvc repro) to resume.", file=sys.stderr)
        sys.exit(128 + getattr(err, "signum", signal.SIGINT))
