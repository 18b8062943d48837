"""Everything MLflow: the tracking store, the training run, and the model registry.

The store is ``MLFLOW_TRACKING_URI`` when set (a team's ``mlflow server``), else an embedded
SQLite file ``mlflow.db`` in the repository root, with artifacts beside it in ``mlartifacts/``.
"The repository root" is DVC's ``DVC_ROOT``: under ``dvc exp run --temp`` or ``--queue`` the
stage runs in a temporary copy, and DVC points ``DVC_ROOT`` at the real repository, so every
experiment lands in the same store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import requests
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ParamSchema, ParamSpec, Schema, TensorSpec

from mnist_gan.config import Params, flatten
from mnist_gan.history import SamplePoint

# Ties a run to the generator file it produced, so later stages (sample, evaluate) find the
# run from their input alone, with no run-id file that would change every run.
GENERATOR_SHA256_TAG = "generator_sha256"
CHECKPOINT_DIR_TAG = "checkpoint_dir"
# What the track stage last recorded on a run (a digest of the files), so that running it
# again changes nothing.
RECORDED_TAG = "recorded_sha256"
RESTORED_NOTE = "outputs restored from DVC's cache: no training ran in this run"
# Run tags copied onto each registered generator version, with the run id: its lineage.
LINEAGE_TAGS = ("dataset", "git_commit", "data_sha256", "params_sha256", "dvc_exp_name")
# Evaluation metrics copied onto the version, for the registry UI and for `promote`.
VERSION_METRICS = ("fid", "mnist_score", "coverage")


SERVER_TIMEOUT_S = 5


class TrackingError(RuntimeError):
    """The tracking store cannot be used; raised before any training starts."""


def store_root() -> Path:
    """Where the embedded store lives: the DVC repository root (see the module docstring)."""
    return Path(os.environ.get("DVC_ROOT", ".")).resolve()


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{store_root() / 'mlflow.db'}"


def _check_server(uri: str) -> None:
    """Fail in seconds, not after MLflow's minutes of retries, if a server does not answer."""
    try:
        requests.get(f"{uri.rstrip('/')}/health", timeout=SERVER_TIMEOUT_S).raise_for_status()
    except requests.RequestException as err:
        raise TrackingError(f"MLflow tracking server {uri} does not answer: "
                            f"{type(err).__name__}: {err}") from None


def connect(experiment: str) -> str:
    """Point MLflow at the store and make sure it answers; returns the experiment id."""
    uri = tracking_uri()
    if uri.startswith(("http://", "https://")):
        _check_server(uri)
    mlflow.set_tracking_uri(uri)
    try:
        found = mlflow.get_experiment_by_name(experiment)
        if found is not None:
            return found.experiment_id
        artifacts = None
        if uri.startswith("sqlite:"):
            artifacts = (store_root() / "mlartifacts").as_uri()
        return mlflow.create_experiment(experiment, artifact_location=artifacts)
    except Exception as err:  # MLflow raises many types for an unreachable or broken store
        raise TrackingError(f"MLflow tracking store {uri} is not usable: "
                            f"{type(err).__name__}: {err}") from err


def git_commit() -> str | None:
    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def params_digest(params: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(dict(params), sort_keys=True, default=str).encode()
                          ).hexdigest()


@contextlib.contextmanager
def training_run(experiment: str, params: Mapping[str, Any], dataset: str, data_digest: str,
                 checkpoint_dir: str | Path | None = None, resuming: bool = False
                 ) -> Iterator[mlflow.ActiveRun]:
    """Open the training run, named after the DVC experiment when there is one.

    An interrupted run (KeyboardInterrupt, which SIGTERM becomes too) ends KILLED. Its
    resumption is a new run tagged ``resumed_from`` with the killed run's id: each attempt
    keeps its own status, and the new run re-logs the history it resumed with, so it holds
    the whole curve.
    """
    experiment_id = connect(experiment)
    exp_name = os.environ.get("DVC_EXP_NAME")
    tags = {"dataset": dataset, "git_commit": git_commit(), "dvc_exp_name": exp_name,
            "data_sha256": data_digest, "params_sha256": params_digest(params)}
    if checkpoint_dir is not None:
        tags[CHECKPOINT_DIR_TAG] = str(Path(checkpoint_dir).resolve())
        if resuming:
            killed = MlflowClient().search_runs(
                [experiment_id], f"tags.{CHECKPOINT_DIR_TAG} = '{tags[CHECKPOINT_DIR_TAG]}' "
                "and attributes.status = 'KILLED'", order_by=["attributes.start_time DESC"],
                max_results=1)
            tags["resumed_from"] = killed[0].info.run_id if killed else None
    run = mlflow.start_run(experiment_id=experiment_id, run_name=exp_name,
                           tags={k: v for k, v in tags.items() if v})
    try:
        mlflow.log_params(dict(params))
        yield run
    except KeyboardInterrupt:
        mlflow.end_run("KILLED")
        raise
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    mlflow.end_run("FINISHED")


def training_params(params: Params) -> dict[str, Any]:
    """The params a training run logs: the dataset and every model.* and train.* key."""
    return {"data.dataset": params.data.dataset, **flatten(params.model, "model"),
            **flatten(params.train, "train")}


def log_sample_point(point: SamplePoint) -> None:
    mlflow.log_metrics({"d_loss": point.d_loss, "d_acc": point.d_acc, "g_loss": point.g_loss},
                       step=point.iteration)


def log_artifact(path: str | Path, artifact_path: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path=artifact_path)


def generator_signature(z_dim: int, image_shape: tuple[int, ...]) -> ModelSignature:
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, z_dim))]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, *image_shape))]),
        params=ParamSchema([ParamSpec("scale", "string", "tanh")]),
    )


def log_generator(generator_path: str | Path, z_dim: int, image_shape: tuple[int, ...],
                  registered_model: str) -> str:
    """Log the saved generator as a pyfunc model and register it, with its lineage as tags
    of the new version; returns the model URI."""
    import keras
    import tensorflow as tf

    from mnist_gan import serving

    info = mlflow.pyfunc.log_model(
        name="generator",
        # "Models from code": the file itself is stored with the model, so loading or serving
        # it needs neither this repository nor a pickled class.
        python_model=serving.__file__,
        artifacts={"generator": str(generator_path)},
        signature=generator_signature(z_dim, image_shape),
        input_example=np.zeros((2, z_dim), dtype=np.float32),
        registered_model_name=registered_model,
        pip_requirements=[f"mlflow=={mlflow.__version__}", f"keras=={keras.__version__}",
                          f"tensorflow=={tf.__version__}", f"numpy=={np.__version__}"],
    )
    mlflow.set_tag(GENERATOR_SHA256_TAG, file_sha256(generator_path))
    client = MlflowClient()
    run_id = mlflow.active_run().info.run_id
    tags = client.get_run(run_id).data.tags
    lineage = {"run_id": run_id, **{k: tags[k] for k in LINEAGE_TAGS if tags.get(k)}}
    for key, value in lineage.items():
        client.set_model_version_tag(registered_model, info.registered_model_version, key,
                                     value)
    return info.model_uri


def find_run_for_generator(experiment: str, generator_path: str | Path) -> str | None:
    """The id of the newest run that produced this exact generator file, if any."""
    experiment_id = connect(experiment)
    runs = MlflowClient().search_runs(
        [experiment_id], f"tags.{GENERATOR_SHA256_TAG} = '{file_sha256(generator_path)}'",
        order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0].info.run_id if runs else None


def log_training_outputs(history_csv: str | Path, plots: Mapping[str, bytes],
                         generator_path: str | Path, z_dim: int, image_shape: tuple[int, ...],
                         registered_model: str) -> str:
    """Into the active run: the history, the loss and accuracy plots, and the generator,
    logged and registered; returns the model URI."""
    log_artifact(history_csv)
    with tempfile.TemporaryDirectory() as tmp:
        for name, png in plots.items():
            (Path(tmp) / name).write_bytes(png)
            log_artifact(Path(tmp) / name, "plots")
    return log_generator(generator_path, z_dim, image_shape, registered_model)


def _flat_metrics(results: Mapping[str, Any]) -> dict[str, float]:
    flat = {k: float(v) for k, v in results.items() if isinstance(v, (int, float))}
    flat.update({f"class_share_{d}": float(s)
                 for d, s in results.get("class_histogram", {}).items()})
    return flat


def record_pipeline_run(experiment: str, generator_path: str | Path,
                        results: Mapping[str, Any], pictures: Sequence[str | Path],
                        restore: Callable[[], None]) -> tuple[str, str]:
    """Make the MLflow store hold what the pipeline's outputs say, whether DVC ran the
    stages or restored them from its cache; running it again changes nothing.

    The run is the one that trained this generator file. A generator no run knows (its
    train stage came from DVC's cache, or the store is new) gets one: ``restore()`` logs
    its params, history and generator into it. The run then gets the evaluation metrics and
    the pictures, and its model version the lineage and metric tags. Returns (run id, what
    was done).
    """
    experiment_id = connect(experiment)
    digest = file_sha256(generator_path)
    recorded = params_digest({"generator": digest, "results": dict(results),
                              "pictures": [file_sha256(p) for p in pictures]})
    run_id = find_run_for_generator(experiment, generator_path)
    client = MlflowClient()
    if run_id is not None and client.get_run(run_id).data.tags.get(RECORDED_TAG) == recorded:
        return run_id, "already recorded"
    action = "recorded"
    if run_id is None:
        name = os.environ.get("DVC_EXP_NAME")
        tags = {"git_commit": git_commit(), "dvc_exp_name": name, "note": RESTORED_NOTE}
        with mlflow.start_run(experiment_id=experiment_id, run_name=name,
                              tags={k: v for k, v in tags.items() if v}) as run:
            restore()
        run_id, action = run.info.run_id, "recorded a run for outputs restored from DVC's cache"
    client.log_batch(run_id, metrics=[
        mlflow.entities.Metric(k, v, int(time.time() * 1000), 0)
        for k, v in _flat_metrics(results).items()])
    for path in pictures:
        client.log_artifact(run_id, str(path), "pictures")
    for version in client.search_model_versions(f"run_id = '{run_id}'"):
        for key in VERSION_METRICS:
            client.set_model_version_tag(version.name, version.version, key, str(results[key]))
    client.set_tag(run_id, RECORDED_TAG, recorded)
    return run_id, action
