"""``reports/translate/history.csv``: the CycleGAN's losses, one row per
``train.log_interval`` of translate/params.yaml (see gan_pipeline.translation.train)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gan_pipeline.formats import row_csv


@dataclass(frozen=True)
class LossRow:
    iteration: int
    seconds: float  # training wall time so far
    adversarial: float  # both generators' least-squares GAN losses
    cycle: float  # the L1 cycle loss, both ways
    identity: float  # the L1 identity loss, both ways (0 where it is off)
    d_a: float
    d_b: float

    def log_line(self) -> str:
        return (f"{self.iteration} [cycle: {self.cycle:.4f}, adversarial: "
                f"{self.adversarial:.3f}, D_A: {self.d_a:.3f}, D_B: {self.d_b:.3f}]")


def to_csv(rows: Sequence[LossRow]) -> str:
    return row_csv.to_csv(rows, LossRow)


def read_csv(path: str | Path) -> list[LossRow]:
    return row_csv.read_csv(path, LossRow, "CycleGAN loss history")
