"""The compare section: the comparison of compare/dvc.yaml."""

from __future__ import annotations

from typing import Any

from gan_pipeline.config.schema import Count, Positive, Section


class CompareConfig(Section):
    minutes: Positive  # every run's training wall-clock budget (train.max_minutes)
    eval_interval: Count  # every run's train.eval_interval, unless the run changes it
    # Each run: params.yaml with these dotted keys changed, as `dvc exp run -S` changes them.
    runs: dict[str, dict[str, Any]]
