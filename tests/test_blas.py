"""NumPy's OpenBLAS kernels follow the instruction set: every stage of one platform class
computes with the same kernels, whatever the CPU model."""

import os
import subprocess
import sys
from pathlib import Path

from gan_pipeline.blas import openblas_core

AVX512 = {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"}


def test_the_core_type_follows_the_instruction_set():
    assert openblas_core(AVX512 | {"avx512_bf16"}) == "SkylakeX"
    assert openblas_core({"avx", "avx2", "fma"}) == "Haswell"
    assert openblas_core({"sse4_1", "avx"}) is None  # OpenBLAS's own choice
    assert openblas_core({"avx2", "fma", "avx512f"}) == "Haswell"  # no full AVX512 core


def _kernels(env: dict) -> list[str]:
    """The OpenBLAS kernels NumPy and SciPy load in a process that imports the stages' cli
    first, as every stage does."""
    code = ("import gan_pipeline.cli, numpy, scipy.linalg\n"
            "from threadpoolctl import threadpool_info\n"
            "print(' '.join(sorted({i['architecture'] for i in threadpool_info()"
            " if i['internal_api'] == 'openblas'})))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True, timeout=120)
    return done.stdout.split()


def test_a_stage_loads_the_kernels_of_its_instruction_set():
    flags = next(line.split(":", 1)[1].split()
                 for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("flags"))
    expected = openblas_core(set(flags))
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    if expected is not None:
        assert _kernels(env) == [expected]
    # A choice of one's own is kept.
    assert _kernels({**env, "OPENBLAS_CORETYPE": "Sandybridge"}) == ["Sandybridge"]
