"""Atomic, byte-deterministic file writing.

Every output is written to a temporary file in its target folder and renamed into place only
when complete, so a failure never leaves a half-written file that DVC or the next stage would
take for a real one. Zip-based formats get fixed timestamps so that the same content always
gives the same bytes (and the same hash in ``dvc.lock``).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gan_pipeline.errors import InputError

_UMASK = os.umask(0)
os.umask(_UMASK)

# The earliest time a zip entry can carry; fixed so archives do not record when they were made.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix,
                               dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs should be like any file
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def json_bytes(obj: Any) -> bytes:
    """The bytes of ``obj`` as every JSON output holds it: sorted keys, indented."""
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def write_json(path: str | Path, obj: Any) -> None:
    write_bytes(path, json_bytes(obj))


def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``np.savez``, but atomic and with fixed zip timestamps (``np.savez`` stamps now)."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_EPOCH)
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)


def check_arrays(arrays: Mapping[str, np.ndarray],
                 expected: Mapping[str, tuple[str, tuple[int | None, ...]]], source: str) -> None:
    """Raise ValueError naming ``source`` unless each expected array has its dtype and shape.

    ``None`` in a shape matches any length.
    """
    for name, (dtype, shape) in expected.items():
        if name not in arrays:
            raise InputError(f"{source}: missing array {name!r} (has {sorted(arrays)})")
        a = arrays[name]
        if a.dtype != np.dtype(dtype):
            raise InputError(f"{source}: {name} must have dtype {dtype}, got {a.dtype}")
        if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape)):
            want = "×".join("N" if s is None else str(s) for s in shape)
            raise InputError(f"{source}: {name} must have shape {want}, got {a.shape}")


def load_npz(path: str | Path, expected: Mapping[str, tuple[str, tuple[int | None, ...]]]
             ) -> dict[str, np.ndarray]:
    """Load the ``expected`` arrays from ``path`` and check them with :func:`check_arrays`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in expected if name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(f"{path}: not a readable .npz file: {err}") from None
    check_arrays(arrays, expected, str(path))
    return arrays


def normalize_zip(path: str | Path, rewrite: Mapping[str, Any] | None = None) -> None:
    """Rewrite a zip archive in place with fixed timestamps and entry order.

    ``rewrite`` maps an entry name to a function ``bytes -> bytes`` applied to that entry,
    e.g. to drop a save date from a metadata file.
    """
    path = Path(path)
    with zipfile.ZipFile(path) as src:
        entries = {info.filename: src.read(info) for info in src.infolist()}
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(entries):
            data = entries[name]
            if rewrite and name in rewrite:
                data = rewrite[name](data)
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
