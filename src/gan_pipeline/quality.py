"""``reports/quality.csv``: fid and classifier_score measured while training, one row per
``train.eval_interval`` (see gan_pipeline.evaluation.probe)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from gan_pipeline.errors import InputError


@dataclass(frozen=True)
class QualityRow:
    iteration: int
    seconds: float  # training wall time so far, the measurements themselves left out
    fid: float
    classifier_score: float

    def log_line(self) -> str:
        return (f"{self.iteration} [fid: {self.fid:.3f}, classifier_score: "
                f"{self.classifier_score:.3f}] after {self.seconds / 60:.1f} min")


COLUMNS = ["iteration", "seconds", "fid", "classifier_score"]


def to_csv(rows: Sequence[QualityRow]) -> str:
    """The CSV of ``rows``; with none (train.eval_interval unset), the header alone."""
    frame = pd.DataFrame([asdict(r) for r in rows], columns=COLUMNS)
    return frame.to_csv(index=False, float_format="%.6f")


def read_csv(path: str | Path) -> list[QualityRow]:
    """Read a quality file back (it may hold no rows), with a clear error if it is not one."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: not a readable quality CSV: {err}") from None
    if list(frame.columns) != COLUMNS:
        raise InputError(f"{path}: columns must be {COLUMNS}, got {list(frame.columns)}")
    return [QualityRow(int(r.iteration), float(r.seconds), float(r.fid),
                       float(r.classifier_score)) for r in frame.itertuples()]
