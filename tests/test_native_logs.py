"""TensorFlow's native start-up lines are dropped from a stage's stderr; everything else,
real errors, tracebacks and progress bars included, still gets through."""

from __future__ import annotations

import subprocess
import sys

from gan_pipeline.native_logs import drop_benign

# Lines TensorFlow 2.21 printed on every stage of a healthy CPU-only run.
STARTUP = (b"WARNING: All log messages before absl::InitializeLog() is called are written to "
           b"STDERR\nI0000 00:00:1795445138.793295     934 cudart_stub.cc:31] Could not find "
           b"cuda drivers on your machine, GPU will not be used.\nE0000 00:00:1795445146.599838"
           b"     934 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed "
           b"call to cuInit: UNKNOWN ERROR (303)\n")


def test_only_the_benign_lines_are_dropped_and_partial_text_passes_at_once():
    real = b"E0000 00:00:1.0 123 op_kernel.cc:1] OOM when allocating tensor\n"
    assert drop_benign(STARTUP + real + b"\rtrain:  50%|#####") == real + b"\rtrain:  50%|#####"
    # Another CUDA error than "no driver" is real.
    assert drop_benign(b"failed call to cuInit: CUDA_ERROR_OUT_OF_MEMORY (2)\n") != b""


def test_a_stage_prints_no_tensorflow_startup_lines_but_its_own_output_and_errors():
    script = ("from gan_pipeline import cli\n"
              "import sys, tensorflow as tf\n"
              "tf.constant(1.0).numpy()\n"
              "sys.stderr.write('\\rprogress 50%')\n"
              "print('W a real warning', file=sys.stderr)\n"
              "raise ValueError('a bug')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    stderr = done.stderr.decode()  # bytes: text mode would turn the "\r" into a newline
    assert done.returncode == 1
    for startup in ("InitializeLog", "cuda drivers", "cuInit"):
        assert startup not in stderr, stderr
    assert "\rprogress 50%W a real warning\n" in stderr
    # The traceback is printed at exit, after which the filter hands over what is left.
    assert stderr.rstrip().endswith("ValueError: a bug"), stderr
