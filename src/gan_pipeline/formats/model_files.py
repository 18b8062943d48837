"""Saving Keras models atomically and byte-for-byte reproducibly."""

from __future__ import annotations

import json
from pathlib import Path

import keras

from gan_pipeline.errors import InputError
from gan_pipeline.formats.files import atomic_path, normalize_zip


def _drop_save_date(metadata: bytes) -> bytes:
    meta = json.loads(metadata)
    meta.pop("date_saved", None)
    return json.dumps(meta, sort_keys=True).encode()


def _renumber_shared_objects(config: bytes) -> bytes:
    """Keras names objects shared between layers (e.g. a dtype policy) by their Python
    ``id()``, a memory address that changes from process to process. Number them 0, 1, ...
    in order of appearance instead; loading only needs them consistent within the file."""
    ids: dict[int, int] = {}

    def walk(node):
        if isinstance(node, dict):
            return {k: ids.setdefault(v, len(ids)) if k == "shared_object_id" else walk(v)
                    for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return json.dumps(walk(json.loads(config))).encode()


def save_model(model: keras.Model, path: str | Path) -> None:
    """``model.save`` into a temporary file, strip what changes from run to run (the save
    date, memory addresses, zip timestamps), then rename into place."""
    with atomic_path(path) as tmp:
        tmp.unlink()  # Keras refuses to overwrite without asking
        model.save(tmp)
        normalize_zip(tmp, rewrite={"metadata.json": _drop_save_date,
                                    "config.json": _renumber_shared_objects})


def load_model(path: str | Path) -> keras.Model:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a corrupt archive
        raise InputError(f"{path}: not a loadable Keras model: {err}") from None
