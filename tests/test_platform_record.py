"""reports/platform.json: the platform class a training ran on (what decides its bits), and
the exact host beside it for MLflow."""

from __future__ import annotations

import os
import subprocess
import sys

from gan_pipeline.platform_record import cpu_info, describe, onednn_isa, platform_class

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse4_1 sse4_2 avx avx2 fma avx512f avx512bw avx512_bf16 sha_ni

processor\t: 1
vendor_id\t: SomeoneElse
flags\t\t: fpu
"""


def test_cpu_info_reads_the_first_cpu_and_keeps_only_onednn_isa_flags():
    assert cpu_info(CPUINFO) == {
        "vendor": "AuthenticAMD", "family": "25", "model": "17", "model_name": "AMD EPYC 9R14",
        "isa_flags": ["sse4_1", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw",
                      "avx512_bf16"]}


def test_cpu_info_of_a_machine_without_cpuinfo_is_empty():
    assert cpu_info("") == {"isa_flags": []}


def test_onednn_isa_is_the_most_capable_level_whose_flags_the_cpu_has():
    avx512 = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]
    assert onednn_isa(avx512 + ["avx512_vnni", "avx512_bf16"]) == "avx512_core_bf16"
    # Zen 5 has AVX-VNNI too; oneDNN still dispatches its AVX-512 kernels.
    assert onednn_isa(avx512 + ["avx512_vnni", "avx512_bf16", "avx_vnni"]) == (
        "avx512_core_bf16")
    assert onednn_isa(avx512 + ["avx512_vnni"]) == "avx512_core_vnni"
    assert onednn_isa(["sse4_1", "avx", "avx2", "fma"]) == "avx2"
    assert onednn_isa(["avx512_bf16"]) == "none"  # bf16 without the AVX-512 core is no level


def test_the_platform_class_names_what_decides_the_bits_and_no_cpu_model():
    record = platform_class("float32", 0, 1)
    assert record["precision"] == "float32"
    assert record["threads"] == {"intra_op": 0, "inter_op": 1}
    assert set(record["versions"]) == {"tensorflow", "keras", "numpy"}
    assert record["cores"] == len(os.sched_getaffinity(0))
    assert record["id"].startswith(f"{record['onednn_isa']}-float32-{record['cores']}cpu-")
    assert "model_name" not in str(record) and "family" not in str(record)
    assert platform_class("float32", 0, 1) == record  # no timestamps: same class, same bytes
    assert platform_class("mixed_bfloat16", 0, 1)["id"] != record["id"]


def test_the_cores_are_those_the_process_may_run_on():
    """TensorFlow sizes its thread pools by the visible cores (taskset's, a container's),
    not the machine's: so does the record."""
    done = subprocess.run(["taskset", "-c", str(min(os.sched_getaffinity(0))), sys.executable,
                           "-c", "from gan_pipeline.platform_record import visible_cores; "
                                 "print(visible_cores())"],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "1", done.stderr


def test_describe_adds_the_exact_cpu_to_the_class():
    host = describe("float32", 0, 1)
    assert host["class"] == platform_class("float32", 0, 1)
    assert "isa_flags" in host["cpu"] and host["python"]
