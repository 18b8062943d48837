"""The comparison of ``compare/dvc.yaml``: every run of ``compare/params.yaml`` trains for the same
wall-clock budget, measured while it trains, and is then evaluated; one table sums them up
(reference 000's GAN against DCGAN against real images, plus the recipe)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gan_pipeline.formats.quality_rows import QualityRow


def run_metrics(evaluation: dict, quality: Sequence[QualityRow]) -> dict:
    """A run's ``metrics.json``: ``evaluate``'s results and how long it trained (its last
    quality row: a budgeted run ends measured)."""
    last = quality[-1]
    return {**evaluation, "train": {"iterations": last.iteration, "minutes": last.seconds / 60}}


@dataclass(frozen=True)
class RunResult:
    name: str
    changes: Mapping[str, Any]  # its entry in compare/params.yaml: what it changes in params.yaml
    metrics: dict  # run_metrics(...)


def _changes(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in changes.items()) or "params.yaml as it is"


def table(runs: Sequence[RunResult], minutes: float, dataset: str) -> str:
    """``compare.md``: each run's quality after the same training wall time, then real
    images' (the floor of fid, the ceiling of classifier_score)."""
    first = runs[0].metrics
    lines = [f"Each run trains for {minutes:g} minutes of wall time (compare/params.yaml; "
             f"measuring left out), then `evaluate` measures {first['samples']} samples "
             f"against the {dataset} test set.", "",
             "| run | changes | iterations | minutes | fid | classifier_score | coverage |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for run in runs:
        q, t = run.metrics["quality"], run.metrics["train"]
        lines.append(f"| {run.name} | {_changes(run.changes)} | {t['iterations']} | "
                     f"{t['minutes']:.1f} | {q['fid']:.2f} | {q['classifier_score']:.2f} | "
                     f"{q['coverage']:.3f} |")
    real = first["real"]
    lines.append(f"| real {dataset} (train vs test) | | | | {real['fid']:.2f} | "
                 f"{real['classifier_score']:.2f} | {real['coverage']:.3f} |")
    return "\n".join(lines) + "\n"
