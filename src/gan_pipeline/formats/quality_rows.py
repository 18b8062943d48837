"""``reports/quality.csv``: fid and classifier_score measured while training, one row per
``train.eval_interval`` (see gan_pipeline.evaluation.probe)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gan_pipeline.formats import row_csv


@dataclass(frozen=True)
class QualityRow:
    iteration: int
    seconds: float  # training wall time so far, the measurements themselves left out
    fid: float
    classifier_score: float

    def log_line(self) -> str:
        return (f"{self.iteration} [fid: {self.fid:.3f}, classifier_score: "
                f"{self.classifier_score:.3f}] after {self.seconds / 60:.1f} min")


def to_csv(rows: Sequence[QualityRow]) -> str:
    """The CSV of ``rows``; with none (train.eval_interval unset), the header alone."""
    return row_csv.to_csv(rows, QualityRow)


def read_csv(path: str | Path) -> list[QualityRow]:
    """Read a quality file back (it may hold no rows), with a clear error if it is not one."""
    return row_csv.read_csv(path, QualityRow, "quality")
