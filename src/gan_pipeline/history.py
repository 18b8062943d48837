"""``reports/history.csv``: one row per sample interval (iteration, d_loss, d_acc, g_loss)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from gan_pipeline.errors import InputError


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

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


COLUMNS = ["iteration", "d_loss", "d_acc", "g_loss"]


def to_csv(history: Sequence[HistoryRow]) -> str:
    frame = pd.DataFrame([p.as_dict() for p in history], columns=COLUMNS)
    return frame.to_csv(index=False, float_format="%.6f")


def read_csv(path: str | Path) -> list[HistoryRow]:
    """Read a history file back, with a clear error if it is not one."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: not a readable history CSV: {err}") from None
    if list(frame.columns) != COLUMNS:
        raise InputError(f"{path}: columns must be {COLUMNS}, got {list(frame.columns)}")
    if frame.empty:
        raise InputError(f"{path}: has no rows")
    return [HistoryRow(int(r.iteration), float(r.d_loss), float(r.d_acc), float(r.g_loss))
            for r in frame.itertuples()]
