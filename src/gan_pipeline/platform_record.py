"""What a training ran on.

* ``platform_class``: the facts that decide the bits, and so whether another machine can
  reproduce a run's bytes: the instruction set that oneDNN dispatches (not the CPU model: a
  Zen 5 host reproduced a Zen 4 host's run bit for bit), the precision, the threads (with
  the visible cores, which set them where the params leave them to TensorFlow), the library
  versions, and on a GPU its model, CUDA and cuDNN. ``reports/platform.json`` holds it, so
  a run reproduced on another host of the same class leaves ``dvc.lock`` unchanged.
  (docs/reproducibility.md: What decides the bits.)
* ``describe``: that and the exact CPU, which MLflow and the verification reports record.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any

from gan_pipeline.formats.digests import json_sha256

# The instruction-set extensions that oneDNN (and so TensorFlow's CPU kernels) dispatches
# on, as /proc/cpuinfo names them.
ONEDNN_ISA_FLAGS = ("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
                    "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                    "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


# oneDNN's CPU ISAs, the most capable first, each with the /proc/cpuinfo flags it needs: the
# first whose flags a CPU has is the one oneDNN dispatches to (without ONEDNN_MAX_CPU_ISA).
_AVX512_CORE = {"avx512f", "avx512bw", "avx512vl", "avx512dq"}
ONEDNN_ISAS = (
    ("avx512_core_amx", _AVX512_CORE | {"avx512_vnni", "avx512_bf16", "amx_tile",
                                        "amx_int8", "amx_bf16"}),
    ("avx512_core_fp16", _AVX512_CORE | {"avx512_vnni", "avx512_bf16", "avx512_fp16"}),
    ("avx512_core_bf16", _AVX512_CORE | {"avx512_vnni", "avx512_bf16"}),
    ("avx512_core_vnni", _AVX512_CORE | {"avx512_vnni"}),
    ("avx512_core", _AVX512_CORE),
    ("avx2_vnni", {"avx2", "fma", "avx_vnni"}),
    ("avx2", {"avx2", "fma"}),
    ("avx", {"avx"}),
    ("sse41", {"sse4_1"}),
)


def onednn_isa(isa_flags: list[str]) -> str:
    """The ISA oneDNN dispatches to on a CPU with ``isa_flags``."""
    flags = set(isa_flags)
    return next((name for name, needs in ONEDNN_ISAS if needs <= flags), "none")


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


def platform_class(precision: str, intra_op_threads: int, inter_op_threads: int
                   ) -> dict[str, Any]:
    """What decides a training's bits on this machine, with ``id``, a name for the class
    (``avx512_core_bf16-mixed_bfloat16-2cpu-<digest>``; the digest covers every field)."""
    import keras
    import numpy as np
    import tensorflow as tf

    isa = onednn_isa(cpu_info(_cpuinfo())["isa_flags"])
    gpus = tf.config.list_physical_devices("GPU")
    record = {
        "machine": platform.machine(),
        "onednn_isa": isa,
        "gpus": [gpu_model(d) for d in gpus],
        "precision": precision,
        # Threads 0 are TensorFlow's choice: one per core this process may run on.
        "cores": visible_cores(),
        "threads": {"intra_op": intra_op_threads, "inter_op": inter_op_threads},
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__},
    }
    if gpus:
        record["cuda"] = cuda_versions()
        name = f"{record['gpus'][0]}-{precision}-cuda{record['cuda']['driver']}"
    else:
        name = f"{isa}-{precision}-{record['cores']}cpu"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    return {"id": f"{name}-{json_sha256(record)[:8]}", **record}


def visible_cores() -> int:
    """The cores this process may run on (taskset's, a container's), which is what
    TensorFlow sizes its thread pools by."""
    return len(os.sched_getaffinity(0))


def gpu_model(device) -> str:
    import tensorflow as tf

    return tf.config.experimental.get_device_details(device).get("device_name", device.name)


def cuda_versions() -> dict[str, str]:
    """The driver's CUDA version (as nvidia-smi reports it), and the CUDA and cuDNN that
    TensorFlow was built with."""
    import subprocess

    import tensorflow as tf

    try:
        smi = subprocess.run(["nvidia-smi"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        smi = ""
    driver = re.search(r"CUDA Version:\s*([0-9.]+)", smi)
    build = tf.sysconfig.get_build_info()
    return {"driver": driver[1] if driver else "unknown",
            "build": str(build.get("cuda_version", "?")),
            "cudnn": str(build.get("cudnn_version", "?"))}


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def describe(precision: str, intra_op_threads: int, inter_op_threads: int) -> dict[str, Any]:
    """This machine and this process's TensorFlow set-up: the class, and the exact CPU."""
    return {"class": platform_class(precision, intra_op_threads, inter_op_threads),
            "cpu": cpu_info(_cpuinfo()), "python": platform.python_version()}
