"""compare/params.yaml: the comparison of compare/dvc.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gan_pipeline.config.schema import Count, Positive, Section, read_yaml, validate


class CompareConfig(Section):
    minutes: Positive  # every run's training wall-clock budget (train.max_minutes)
    eval_interval: Count  # every run's train.eval_interval, unless the run changes it
    # Each run: params.yaml with these dotted keys changed, as `dvc exp run -S` changes them.
    runs: dict[str, dict[str, Any]]


def load_compare(path: str | Path) -> CompareConfig:
    """Read and validate the comparison's params file; raises ConfigError naming the bad
    key."""
    return validate(CompareConfig, read_yaml(path), where=f"{path}: ")
