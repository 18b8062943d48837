"""Everything MLflow: the tracking store, the training run, and the model registry.

The store is ``MLFLOW_TRACKING_URI`` when set (a team's ``mlflow server``), else an embedded
SQLite file ``mlflow.db`` in the repository root, with artifacts beside it in ``mlartifacts/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import Schema, TensorSpec

from mnist_gan.history import SamplePoint

# Ties a run to the generator file it produced, so later stages (sample, evaluate) find the
# run from their input alone, with no run-id file that would change every run.
GENERATOR_SHA256_TAG = "generator_sha256"
CHECKPOINT_DIR_TAG = "checkpoint_dir"


class TrackingError(RuntimeError):
    """The tracking store cannot be used; raised before any training starts."""


def tracking_uri(repo_root: str | Path = ".") -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{Path(repo_root).resolve() / 'mlflow.db'}"


def connect(experiment: str, repo_root: str | Path = ".") -> str:
    """Point MLflow at the store and make sure it answers; returns the experiment id."""
    uri = tracking_uri(repo_root)
    mlflow.set_tracking_uri(uri)
    try:
        found = mlflow.get_experiment_by_name(experiment)
        if found is not None:
            return found.experiment_id
        artifacts = None
        if uri.startswith("sqlite:"):
            artifacts = (Path(repo_root).resolve() / "mlartifacts").as_uri()
        return mlflow.create_experiment(experiment, artifact_location=artifacts)
    except Exception as err:  # MLflow raises many types for an unreachable or broken store
        raise TrackingError(f"MLflow tracking store {uri} is not usable: "
                            f"{type(err).__name__}: {err}") from err


def git_commit(repo_root: str | Path = ".") -> str | None:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root, capture_output=True,
                          text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@contextlib.contextmanager
def training_run(experiment: str, params: Mapping[str, Any], repo_root: str | Path = ".",
                 checkpoint_dir: str | Path | None = None, resuming: bool = False
                 ) -> Iterator[mlflow.ActiveRun]:
    """Open the training run, named after the DVC experiment when there is one.

    An interrupted run (KeyboardInterrupt, which SIGTERM becomes too) ends KILLED. Its
    resumption is a new run tagged ``resumed_from`` with the killed run's id: each attempt
    keeps its own status, and the new run re-logs the history it resumed with, so it holds
    the whole curve.
    """
    experiment_id = connect(experiment, repo_root)
    exp_name = os.environ.get("DVC_EXP_NAME")
    tags = {"git_commit": git_commit(repo_root), "dvc_exp_name": exp_name}
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


def log_sample_point(point: SamplePoint) -> None:
    mlflow.log_metrics({"d_loss": point.d_loss, "d_acc": point.d_acc, "g_loss": point.g_loss},
                       step=point.iteration)


def log_artifact(path: str | Path, artifact_path: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path=artifact_path)


def generator_signature(z_dim: int) -> ModelSignature:
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, z_dim))]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 28, 28, 1))]),
    )


def log_generator(generator_path: str | Path, z_dim: int, registered_model: str) -> str:
    """Log the saved generator as a pyfunc model, register it; returns the model URI."""
    import keras
    import tensorflow as tf

    from mnist_gan import serving

    info = mlflow.pyfunc.log_model(
        name="generator",
        # "Models from code": the file itself is stored with the model, so loading or serving
        # it needs neither this repository nor a pickled class.
        python_model=serving.__file__,
        artifacts={"generator": str(generator_path)},
        signature=generator_signature(z_dim),
        input_example=np.zeros((2, z_dim), dtype=np.float32),
        registered_model_name=registered_model,
        pip_requirements=[f"mlflow=={mlflow.__version__}", f"keras=={keras.__version__}",
                          f"tensorflow=={tf.__version__}", f"numpy=={np.__version__}"],
    )
    mlflow.set_tag(GENERATOR_SHA256_TAG, file_sha256(generator_path))
    return info.model_uri


def find_run_for_generator(experiment: str, generator_path: str | Path,
                           repo_root: str | Path = ".") -> str | None:
    """The id of the newest run that produced this exact generator file, if any."""
    experiment_id = connect(experiment, repo_root)
    runs = MlflowClient().search_runs(
        [experiment_id], f"tags.{GENERATOR_SHA256_TAG} = '{file_sha256(generator_path)}'",
        order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0].info.run_id if runs else None


def log_evaluation(experiment: str, generator_path: str | Path, results: Mapping[str, Any],
                   repo_root: str | Path = ".") -> str:
    """Log evaluation metrics to the run that trained this generator; returns its id.

    A generator no run knows (trained elsewhere, or the store was reset) gets a new run,
    tagged with the generator's hash so that it stays linked to the file.
    """
    run_id = find_run_for_generator(experiment, generator_path, repo_root)
    flat = {k: float(v) for k, v in results.items() if isinstance(v, (int, float))}
    flat.update({f"class_share_{d}": float(s)
                 for d, s in results.get("class_histogram", {}).items()})
    if run_id is None:
        with mlflow.start_run(experiment_id=connect(experiment, repo_root),
                              run_name=os.environ.get("DVC_EXP_NAME"),
                              tags={GENERATOR_SHA256_TAG: file_sha256(generator_path),
                                    "note": "evaluation of a generator no training run "
                                            "in this store produced"}) as run:
            mlflow.log_metrics(flat)
            return run.info.run_id
    MlflowClient().log_batch(run_id, metrics=[
        mlflow.entities.Metric(k, v, int(time.time() * 1000), 0) for k, v in flat.items()])
    return run_id
