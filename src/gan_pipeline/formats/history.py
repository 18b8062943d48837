"""``reports/history.csv``: one row per sample interval (iteration, d_loss, d_acc, g_loss)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gan_pipeline.errors import InputError
from gan_pipeline.formats import row_csv


@dataclass(frozen=True)
class HistoryRow:
    """The losses of one iteration at a sample interval; a row of ``history.csv``."""

    iteration: int
    d_loss: float
    d_acc: float
    g_loss: float

    def log_line(self) -> str:
        """The book's log line: ``1000 [D loss: 0.235200, acc.: 92.58%] [G loss: 4.601653]``."""
        return (f"{self.iteration} [D loss: {self.d_loss:f}, acc.: {100.0 * self.d_acc:.2f}%] "
                f"[G loss: {self.g_loss:f}]")


def to_csv(history: Sequence[HistoryRow]) -> str:
    return row_csv.to_csv(history, HistoryRow)


def read_csv(path: str | Path) -> list[HistoryRow]:
    """Read a history file back, with a clear error if it is not one."""
    rows = row_csv.read_csv(path, HistoryRow, "history")
    if not rows:
        raise InputError(f"{path}: has no rows")
    return rows
