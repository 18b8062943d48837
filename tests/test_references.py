"""make verify's references and bits classes (gan_pipeline.verification.references): what
decides a run's bits, and the committed references named by it."""

from __future__ import annotations

from helpers import REPO
from gan_pipeline.verification.references import (all_references, bits_class, bits_id,
                                                   path_for, read, without_threads)

PLATFORM = {"id": "avx2-float32-2cpu-dfe59fdc", "machine": "x86_64", "onednn_isa": "avx2",
            "gpus": [], "precision": "float32", "cores": 2,
            "threads": {"intra_op": 0, "inter_op": 0}, "onednn_opts": "default",
            "versions": {"tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6"}}


def test_the_bits_class_resolves_the_threads_and_drops_the_cores_and_inter_op():
    bits = bits_class(PLATFORM)
    assert bits["intra_op_threads"] == 2  # TensorFlow's choice: one per visible core
    assert "cores" not in bits and "threads" not in bits and "id" not in bits
    # Four visible cores at 2 threads, or another inter-op count: the same bits.
    same = {**PLATFORM, "cores": 4, "threads": {"intra_op": 2, "inter_op": 4}}
    assert bits_class(same) == bits
    one = {**PLATFORM, "threads": {"intra_op": 1, "inter_op": 0}}
    assert bits_class(one)["intra_op_threads"] == 1
    assert without_threads(bits_class(one)) == without_threads(bits)
    assert bits_id(bits).startswith("avx2-float32-2threads-") and bits_id(bits) != bits_id(
        bits_class(one))
    unknown = {k: v for k, v in PLATFORM.items() if k != "cores"}
    assert bits_class(unknown)["intra_op_threads"] is None


def test_each_committed_reference_is_named_by_its_bits_class():
    paths = all_references(REPO)
    assert len(paths) >= 3
    for path in paths:
        assert path == path_for(REPO, read(path).platform)
    assert len({path.stem for path in paths}) == len(paths)
