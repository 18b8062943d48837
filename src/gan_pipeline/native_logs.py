"""TensorFlow's native start-up lines, filtered out of stderr.

TensorFlow logs through absl, and until absl's log is initialised every line goes to stderr
whatever ``TF_CPP_MIN_LOG_LEVEL`` says. So on a healthy CPU-only machine each stage printed
that no CUDA driver was found and an error, "failed call to cuInit ... (303)". The only
place to drop those lines is the file descriptor C++ writes to: ``filter_stderr()`` makes
file descriptor 2 a pipe that a thread copies to the real stderr, dropping only the lines
that ``BENIGN`` matches; everything else, warnings and errors included, passes unchanged.
Python's own ``sys.stderr`` (progress bars, warnings, tracebacks) keeps writing straight to
the real stderr, so it stays in order with stdout.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

BENIGN = re.compile(rb"|".join([
    rb"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    rb"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine",
    # 303: no CUDA driver at all, as on every CPU-only machine.
    rb"failed call to cuInit: .*\(303\)",
    rb"oneDNN custom operations are on",
    rb"This TensorFlow binary is optimized to use available CPU instructions",
    rb"rebuild TensorFlow with the appropriate compiler flags",
    # tf.data's graph names an attribute that this TensorFlow build's op lacks; ignored.
    rb"NodeDef mentions attribute use_unbounded_threadpool",
]))

_installed = False


def drop_benign(chunk: bytes) -> bytes:
    """``chunk`` without its complete lines that ``BENIGN`` matches. (C++ writes each log
    line whole, and a pipe keeps a write of up to 4 KiB in one piece.)"""
    *lines, rest = chunk.split(b"\n")
    return b"".join(line + b"\n" for line in lines if not BENIGN.search(line)) + rest


def _copy(read_fd: int, real_fd: int) -> None:
    while chunk := os.read(read_fd, 65536):
        if out := drop_benign(chunk):
            os.write(real_fd, out)
    os.close(read_fd)


def filter_stderr() -> None:
    """From now on, drop ``BENIGN`` lines from this process's stderr (and its children's).
    Call before TensorFlow is imported; calling again does nothing."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.stderr.flush()
    real_fd = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    # A progress bar clears its line on stderr before a log line goes to stdout: through the
    # pipe, the two would arrive out of order.
    sys.stderr = open(os.dup(real_fd), "w", buffering=1, encoding=sys.stderr.encoding,
                      errors="backslashreplace")
    copier = threading.Thread(target=_copy, args=(read_fd, real_fd), daemon=True,
                              name="stderr-filter")
    copier.start()

    def drain() -> None:
        """At exit (after any traceback is printed): hand stderr back, so that the pipe's
        last writer closes, and let the copier write out what is left."""
        sys.stderr.flush()
        os.dup2(real_fd, 2)
        copier.join(timeout=10)

    atexit.register(drain)
