"""NumPy's and SciPy's OpenBLAS kernels, chosen by instruction set rather than CPU model.

OpenBLAS picks its kernels by CPU model: on a Zen 4 host it takes SkylakeX's AVX512 kernels,
on a Zen 5 host (a model the pinned OpenBLAS does not know) Haswell's AVX2 ones, and the last
bits of a matrix product differ: evaluate's real-vs-real fid was 0.8874132552165293 on the
first and 0.8874132552192577 on the second, from the same classifier bytes. Chosen by the
instruction set, as oneDNN chooses TensorFlow's, the platform class (platform_record)
decides evaluate's bits too. OpenBLAS reads the choice once, when NumPy loads: ``cli``
applies it before any stage imports NumPy.
"""

from __future__ import annotations

import os
from pathlib import Path

_AVX512 = {"avx512f", "avx512bw", "avx512vl", "avx512dq"}


def openblas_core(cpu_flags: set[str]) -> str | None:
    """The OpenBLAS core type for a CPU with these /proc/cpuinfo flags (None: its own
    choice)."""
    if _AVX512 <= cpu_flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= cpu_flags:
        return "Haswell"
    return None


def pin_openblas_kernels() -> None:
    """Set OPENBLAS_CORETYPE by this CPU's instruction set, unless it is set already."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines()
                  if line.startswith("flags")), [])
    core = openblas_core(set(flags))
    if core is not None:
        os.environ["OPENBLAS_CORETYPE"] = core
