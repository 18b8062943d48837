"""The training CSVs (``reports/history.csv``, ``reports/quality.csv``): one row per frozen
dataclass instance, whose first field is the iteration and the others floats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, fields
from pathlib import Path

import pandas as pd

from gan_pipeline.errors import InputError


def to_csv(rows: Sequence, row_type: type) -> str:
    """The CSV of ``rows`` (the header alone for none), six decimals a float."""
    columns = [f.name for f in fields(row_type)]
    frame = pd.DataFrame([astuple(r) for r in rows], columns=columns)
    return frame.to_csv(index=False, float_format="%.6f")


def read_csv(path: str | Path, row_type: type, what: str) -> list:
    """The ``row_type`` rows of ``what`` CSV at ``path``, with a clear error if it is none."""
    columns = [f.name for f in fields(row_type)]
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: not a readable {what} CSV: {err}") from None
    if list(frame.columns) != columns:
        raise InputError(f"{path}: columns must be {columns}, got {list(frame.columns)}")
    return [row_type(int(row[0]), *map(float, row[1:]))
            for row in frame.itertuples(index=False)]
