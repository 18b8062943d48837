"""What every stage script shares: argument parsing, quieter TensorFlow, clean error exits."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable

from mnist_gan.config import ConfigError, Params, load_params


def parser(description: str, params: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    if params:
        p.add_argument("--params", default="params.yaml",
                       help="the params file (default: %(default)s)")
    return p


def run(main: Callable[[argparse.Namespace, Params | None], None],
        args: argparse.Namespace) -> None:
    """Validate the params (if the stage takes any), then run ``main``.

    Bad input exits 1 with one line that names the problem, instead of a traceback.
    """
    try:
        params = load_params(args.params) if hasattr(args, "params") else None
        main(args, params)
    except (ConfigError, ValueError, FileNotFoundError, RuntimeError,
            FloatingPointError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as err:
        print(f"interrupted: {err or 'SIGINT'}. Checkpoints are kept: run the stage again "
              f"(dvc repro) to resume.", file=sys.stderr)
        sys.exit(128 + getattr(err, "signum", signal.SIGINT))


# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) hides the stage's own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
