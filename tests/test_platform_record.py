"""reports/platform.json: what a training ran on."""

from __future__ import annotations

from gan_pipeline.platform_record import cpu_info, describe

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


def test_describe_names_versions_precision_and_threads_and_is_stable():
    record = describe("float32", 0, 1)
    assert record["precision"] == "float32"
    assert record["threads"] == {"intra_op": 0, "inter_op": 1}
    assert set(record["versions"]) == {"python", "tensorflow", "keras", "numpy"}
    assert record["cpu"]["cores"] >= 1
    assert describe("float32", 0, 1) == record  # no timestamps: the same machine, same bytes
