"""Every digest the project takes (digests.py)."""

from __future__ import annotations

import hashlib

import numpy as np

from gan_pipeline.formats.digests import array_sha256, arrays_sha256, file_sha256, json_sha256


def test_a_file_digest_streams_to_the_same_sha256_as_its_bytes(tmp_path):
    data = np.random.default_rng(0).bytes(3 * 2**20 + 5)  # more than one read buffer
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_a_json_digest_ignores_key_order_but_not_values():
    assert json_sha256({"a": 1, "b": [2, 3]}) == json_sha256({"b": [2, 3], "a": 1})
    assert json_sha256({"a": 1}) != json_sha256({"a": 1.5})


def test_named_arrays_differ_by_name_dtype_shape_or_bytes_but_not_by_memory_layout():
    x = np.arange(12, dtype=np.uint8).reshape(3, 4)
    names = ["x"]
    base = arrays_sha256({"x": x}, names)
    assert arrays_sha256({"x": np.asfortranarray(x)}, names) == base
    for other in (x.astype(np.int16), x.reshape(4, 3), x + 1):
        assert arrays_sha256({"x": other}, names) != base
    assert arrays_sha256({"y": x}, ["y"]) != base
    assert array_sha256(np.asfortranarray(x)) == array_sha256(x)
