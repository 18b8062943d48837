"""Every sha256 the project takes: of a file (streamed), of bytes, of a JSON-able value, of
an array's bytes, and of named arrays (names, dtypes and shapes included)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_sha256(value: Any) -> str:
    """Of ``value`` as JSON with sorted keys (anything JSON lacks as its ``str``)."""
    return bytes_sha256(json.dumps(value, sort_keys=True, default=str).encode())


def array_sha256(array: np.ndarray) -> str:
    """Of the array's bytes in C order."""
    return bytes_sha256(np.ascontiguousarray(array).tobytes())


def arrays_sha256(arrays: Mapping[str, np.ndarray], names: Iterable[str]) -> str:
    """Of each of ``names``'s arrays in turn: its name, dtype, shape and bytes."""
    h = hashlib.sha256()
    for name in names:
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()
