"""What the track stage records on the generator's MLflow run, from the pipeline's outputs.

* the evaluation metrics, named as ``reports/metrics.json`` nests them (``quality.fid`` in
  `dvc metrics show` is ``quality/fid`` here, a section of MLflow's chart view), and linked
  to the generator's logged model so that ``mlflow.search_logged_models`` orders by them;
* the real-data references (``real/fid`` is the floor of ``quality/fid``) as run tags: they
  are the same for every generator of a dataset, so they are no charts;
* the dataset as the run's input (MLflow's Dataset column): name, content digest, the mirror
  that served it and its shape;
* the curves and pictures, and the metric tags of the model version (what ``promote``
  reads).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.data.http_dataset_source import HTTPDatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import DatasetInput, InputTag, Metric, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.types import Schema, TensorSpec
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from gan_pipeline.data.datasets import raw_layout
from gan_pipeline.formats.digests import file_sha256, json_sha256
from gan_pipeline.tracking.logged_model import find_run_for_generator, logged_model_id
from gan_pipeline.tracking.store import connect, start_run

METRIC_SECTIONS = ("quality", "share_of_class")
# Evaluation metrics copied onto the model version, for the registry UI and for `promote`.
VERSION_METRICS = ("fid", "classifier_score", "coverage")
# What the track stage last recorded on a run (a digest of the files), so that running it
# again changes nothing.
RECORDED_TAG = "recorded_sha256"
# MLflow stores a dataset digest in at most 36 characters.
DATASET_DIGEST_CHARS = 16


# Digits of a logged metric: MLflow's table shows every digit it gets, and a seed moves fid by
# about 1 and coverage by 0.02 (docs/reproducibility.md); metrics.json keeps them all.
METRIC_DECIMALS = 4


def evaluation_metrics(results: Mapping[str, Any]) -> dict[str, float]:
    """The generator's metrics of ``reports/metrics.json``, with MLflow's names, to the
    digits a reader needs."""
    return {f"{section}/{key}": round(float(value), METRIC_DECIMALS)
            for section in METRIC_SECTIONS for key, value in results[section].items()}


def reference_tags(results: Mapping[str, Any]) -> dict[str, str]:
    """What real images score, and on how many samples the metrics were measured."""
    return {**{f"real/{key}": repr(float(value)) for key, value in results["real"].items()},
            "evaluate.samples": str(results["samples"])}


def dataset_input(summary: Mapping[str, Any]) -> MetaDataset:
    """The raw dataset as the download stage summarised it (``reports/dataset.json``)."""
    layout = raw_layout(summary["dataset"])
    schema = Schema([TensorSpec(np.dtype(layout[f"x_{split}"][0]),
                                (summary[f"{split}_images"], *layout[f"x_{split}"][1][1:]),
                                f"x_{split}") for split in ("train", "test")])
    return MetaDataset(HTTPDatasetSource(summary["source"]), name=summary["dataset"],
                       digest=summary["content_digest"][:DATASET_DIGEST_CHARS], schema=schema)


def log_dataset(client: MlflowClient, run_id: str, dataset: MetaDataset) -> None:
    """Make ``dataset`` the run's training input.

    MLflow looks the dataset up in the experiment and inserts it if missing, two steps that
    another run can come between: two runs that log the same dataset at once (parallel
    `dvc queue` workers) both find none, and the second insert breaks the table's unique
    key. That write was rolled back and the dataset now exists, so logging again links it.
    """
    inputs = [DatasetInput(dataset._to_mlflow_entity(),
                           [InputTag(MLFLOW_DATASET_CONTEXT, "training")])]
    try:
        client.log_inputs(run_id, inputs)
    except MlflowException as err:
        if "unique constraint" not in str(err).lower():  # SQLite's and PostgreSQL's words
            raise
        client.log_inputs(run_id, inputs)


def record_pipeline_run(experiment: str, generator_path: str | Path,
                        results: Mapping[str, Any], data_summary: Mapping[str, Any],
                        artifacts: Mapping[str, Sequence[str | Path]],
                        log_training: Callable[[], None]) -> tuple[str, str]:
    """Make the MLflow store hold what the pipeline's outputs say, whether DVC ran the
    stages or restored them from its cache; running it again changes nothing.

    The run is the one of this generator file. A generator no run knows yet (just trained,
    restored from DVC's cache, or the store is new) gets one: ``log_training()`` logs its
    params, history and generator into it. ``artifacts`` maps a folder of the run to the
    files to log there. Returns (run id, what was done).
    """
    experiment_id = connect(experiment)
    recorded = json_sha256({"generator": file_sha256(generator_path),
                            "results": dict(results), "dataset": dict(data_summary),
                            "artifacts": {folder: [file_sha256(p) for p in paths]
                                          for folder, paths in artifacts.items()}})
    run_id = find_run_for_generator(experiment, generator_path)
    client = MlflowClient()
    if run_id is not None and client.get_run(run_id).data.tags.get(RECORDED_TAG) == recorded:
        return run_id, "already recorded"
    action = "recorded"
    if run_id is None:
        with start_run(experiment_id, {}) as run:
            log_training()
        run_id, action = run.info.run_id, "recorded a new run of this generator"
    model_id = logged_model_id(experiment_id, run_id)
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(key, value, now, 0, model_id=model_id)
                                      for key, value in evaluation_metrics(results).items()],
                     tags=[RunTag(key, value) for key, value in reference_tags(results).items()])
    log_dataset(client, run_id, dataset_input(data_summary))
    for folder, paths in artifacts.items():
        for path in paths:
            client.log_artifact(run_id, str(path), folder)
    for version in client.search_model_versions(f"run_id = '{run_id}'"):
        for key in VERSION_METRICS:
            client.set_model_version_tag(version.name, version.version, key,
                                         str(results["quality"][key]))
    client.set_tag(run_id, RECORDED_TAG, recorded)
    return run_id, action
