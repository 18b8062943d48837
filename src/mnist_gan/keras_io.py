"""Saving Keras models atomically and byte-for-byte reproducibly."""

from __future__ import annotations

import json
from pathlib import Path

import keras

from mnist_gan.files import atomic_path, normalize_zip


def _drop_save_date(metadata: bytes) -> bytes:
    meta = json.loads(metadata)
    meta.pop("date_saved", None)
    return json.dumps(meta, sort_keys=True).encode()


def save_model(model: keras.Model, path: str | Path) -> None:
    """``model.save`` into a temporary file, strip its timestamps, then rename into place."""
    with atomic_path(path) as tmp:
        tmp.unlink()  # Keras refuses to overwrite without asking
        model.save(tmp)
        normalize_zip(tmp, rewrite={"metadata.json": _drop_save_date})


def load_model(path: str | Path) -> keras.Model:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a corrupt archive
        raise ValueError(f"{path}: not a loadable Keras model: {err}") from None
