"""What a training ran on: the facts that decide whether another machine can reproduce its
bytes. Same CPU kind (ISA), same library versions, same precision and threads: the same
bytes; otherwise close metrics at best. ``reports/platform.json`` holds it for each run."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

# The instruction-set extensions that oneDNN (and so TensorFlow's CPU kernels) dispatches
# on, as /proc/cpuinfo names them.
ONEDNN_ISA_FLAGS = ("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
                    "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                    "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


def cpu_info(cpuinfo: str) -> dict[str, Any]:
    """Vendor, family, model, model name and the oneDNN ISA flags of the first CPU listed
    in the text of /proc/cpuinfo (x86 field names; absent fields are left out)."""
    first = cpuinfo.split("\n\n", 1)[0]
    fields = dict(line.split(":", 1) for line in first.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    names = {"vendor_id": "vendor", "cpu family": "family", "model": "model",
             "model name": "model_name"}
    info: dict[str, Any] = {ours: fields[theirs] for theirs, ours in names.items()
                            if theirs in fields}
    info["isa_flags"] = [f for f in ONEDNN_ISA_FLAGS if f in flags]
    return info


def describe(precision: str, intra_op_threads: int, inter_op_threads: int) -> dict[str, Any]:
    """This machine and this process's TensorFlow set-up, as ``reports/platform.json``."""
    import keras
    import numpy as np
    import tensorflow as tf

    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    return {
        "cpu": {**cpu_info(cpuinfo), "machine": platform.machine(), "cores": os.cpu_count()},
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__},
        "precision": precision,
        # 0 is TensorFlow's own choice, which depends on the cores.
        "threads": {"intra_op": intra_op_threads, "inter_op": inter_op_threads},
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
    }
