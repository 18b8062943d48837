"""The MLflow tracking store, and the training run in it.

The store is ``MLFLOW_TRACKING_URI`` when set (a team's ``mlflow server``), else an embedded
SQLite file ``mlflow.db`` in the repository root, with artifacts beside it in ``mlartifacts/``.
"The repository root" is DVC's ``DVC_ROOT``: under ``dvc exp run --temp`` or ``--queue`` the
stage runs in a temporary copy, and DVC points ``DVC_ROOT`` at the real repository, so every
experiment lands in the same store.

Metric names carry a section prefix, which MLflow's chart view groups by: ``train/`` for
what was measured while training, the losses and (with ``train.eval_interval``) fid and
classifier_score, each at its iteration (see ``run_record`` for ``quality/`` and
``share_of_class/``). The train stage itself logs nothing: the track stage logs what it
wrote.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gan_pipeline.config.mlflow import TrackParams
from gan_pipeline.errors import InputError
from gan_pipeline.formats.history import HistoryRow
from gan_pipeline.formats.quality_rows import QualityRow

# What the experiment is: model training, not a GenAI app (MLflow's API and older UIs read
# it; MLflow 3.17's UI takes the kind from its own GenAI / Model training switch instead,
# which the `workflowType` of experiment_page() sets).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"
# A view of the runs table that MLflow's UI opens from a link (its "shared view"): the
# quality columns first, best fid on top.
VIEW_KEY = "quality"
QUALITY_COLUMNS = ["metrics.`quality/fid`", "metrics.`quality/classifier_score`",
                   "metrics.`quality/coverage`"]
QUALITY_VIEW = {"orderByKey": QUALITY_COLUMNS[0], "orderByAsc": True,
                "selectedColumns": [*QUALITY_COLUMNS, "attributes.`Dataset`",
                                    "attributes.`Models`"],
                "columnOrder": QUALITY_COLUMNS,
                "columnWidths": {column: 150 for column in QUALITY_COLUMNS}}
EXPERIMENT_TAGS = {EXPERIMENT_KIND_TAG: MODEL_TRAINING,
                   f"mlflow.sharedViewState.{VIEW_KEY}": json.dumps(QUALITY_VIEW)}
# Where `mlflow ui` listens by default.
UI_DEFAULT = "http://127.0.0.1:5000"
# What `dvc repro` itself rewrites (the lock, the reports, the .gitignore entries of its
# outputs): a tree that differs from HEAD only there is not "dirty" for a run's name.
PIPELINE_WRITES = (":(exclude)dvc.lock", ":(exclude)reports", ":(exclude,glob)**/.gitignore")

SERVER_TIMEOUT_S = 5


class TrackingError(InputError):
    """The tracking store cannot be used; raised before any training starts."""


def refusal(err: BaseException) -> str | None:
    """One line for a server's refusal (401: no or wrong credentials, 403: not permitted),
    naming the user and the request; None for any other error."""
    seen = [err, err.__cause__, err.__context__]
    for cause in (e for e in seen if e is not None):
        if isinstance(cause, MlflowException):
            status = cause.get_http_status_code()
            match = re.search(r"endpoint (\S+) failed", cause.message)
            request = match[1] if match else cause.message.splitlines()[0][:200]
            # The team stack's own rules say why (gan_pipeline.team.auth_app).
            body = re.search(r"Response body: '(Permission denied: .*)'", cause.message)
            request += f": {body[1]}" if body else ""
        elif isinstance(cause, requests.HTTPError) and cause.response is not None:
            status = cause.response.status_code
            request = f"{cause.request.method} {urllib.parse.urlsplit(cause.request.url).path}"
        else:
            continue
        if status not in (401, 403):
            return None
        user = os.environ.get("MLFLOW_TRACKING_USERNAME")
        who = f"user '{user}'" if user else (
            "a request with no credentials (set MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD)")
        why = "wrong or missing credentials" if status == 401 else "not permitted"
        return f"MLflow server {tracking_uri()} refused {who}: {request} ({status}, {why})"
    return None


@contextlib.contextmanager
def refusals_reported() -> Iterator[None]:
    """A server's refusal becomes a one-line TrackingError instead of a traceback."""
    try:
        yield
    except TrackingError:
        raise
    except Exception as err:
        line = refusal(err)
        if line is None:
            raise
        raise TrackingError(line) from None


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


@contextlib.contextmanager
def _embedded_store_lock(uri: str) -> Iterator[None]:
    """Serialise the creation of the embedded store and its experiment across processes:
    parallel `dvc queue` workers would otherwise race to create the tables or the
    experiment. A server serialises this by itself."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    with open(uri.removeprefix("sqlite:///") + ".lock", "w") as lock:  # beside the file
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def open_store() -> str:
    """Point MLflow at the store, once a server answers; returns its URI."""
    uri = tracking_uri()
    if uri.startswith(("http://", "https://")):
        _check_server(uri)
    mlflow.set_tracking_uri(uri)
    return uri


def connect(experiment: str) -> str:
    """Point MLflow at the store and make sure it answers; returns the id of ``experiment``,
    created if need be, as a model-training experiment."""
    uri = open_store()
    try:
        with _embedded_store_lock(uri):
            client = MlflowClient()
            found = client.get_experiment_by_name(experiment)
            if found is None:
                artifacts = (store_root() / "mlartifacts").as_uri() if uri.startswith(
                    "sqlite:") else None
                try:
                    return client.create_experiment(experiment, artifact_location=artifacts,
                                                    tags=EXPERIMENT_TAGS)
                except MlflowException:
                    # Another client of the same server created it in between.
                    found = client.get_experiment_by_name(experiment)
                    if found is None:
                        raise
            for key, value in EXPERIMENT_TAGS.items():
                if found.tags.get(key) != value:
                    client.set_experiment_tag(found.experiment_id, key, value)
            return found.experiment_id
    except Exception as err:  # MLflow raises many types for an unreachable or broken store
        refused = refusal(err)
        if refused:
            raise TrackingError(refused) from None
        raise TrackingError(f"MLflow tracking store {uri} is not usable: "
                            f"{type(err).__name__}: {err}") from err


def experiment_page(experiment_id: str) -> str:
    """The link that opens the experiment's runs table in MLflow's UI, in its model-training
    mode and quality view: on the team's server, else where `mlflow ui` listens by default."""
    uri = tracking_uri()
    base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else UI_DEFAULT
    return (f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"
            f"&viewStateShareKey={VIEW_KEY}")


def _git(*args: str) -> str | None:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def run_name() -> str | None:
    """What a run is called in the runs table: the DVC experiment's name, else
    ``repro@<short commit>``, with ``+dirty`` when tracked files other than the pipeline's
    own outputs differ from that commit (None outside git)."""
    if os.environ.get("DVC_EXP_NAME"):
        return os.environ["DVC_EXP_NAME"]
    commit = _git("rev-parse", "--short", "HEAD")
    if commit is None:
        return None
    changed = _git("status", "--porcelain", "--untracked-files=no", "--", ".", *PIPELINE_WRITES)
    return f"repro@{commit}{'+dirty' if changed else ''}"


def start_run(experiment_id: str, tags: Mapping[str, str | None]) -> mlflow.ActiveRun:
    """A new run, named by ``run_name()``, with the tags that have a value."""
    name = run_name()
    tags = {"dvc_exp_name": os.environ.get("DVC_EXP_NAME"), **tags}
    return mlflow.start_run(experiment_id=experiment_id, run_name=name,
                            tags={k: v for k, v in tags.items() if v})


def training_params(params: TrackParams) -> dict[str, Any]:
    """The params a training run logs: the dataset and every model.*, train.* and
    runtime.train.* key."""
    return {"data.dataset": params.data.dataset,
            **flat_params(params.model.model_dump(), "model"),
            **flat_params(params.train.model_dump(), "train"),
            **flat_params(params.runtime.train.model_dump(), "runtime.train")}


def flat_params(value: Any, key: str = "") -> dict[str, Any]:
    """A nested params mapping as MLflow params: {"train.adam.beta_1": 0.5, ...}."""
    if not isinstance(value, dict):
        return {key: value}
    return {flat: item for name, inner in value.items()
            for flat, item in flat_params(inner, f"{key}.{name}" if key else name).items()}


def log_history_row(row: HistoryRow) -> None:
    mlflow.log_metrics({"train/d_loss": row.d_loss, "train/d_acc": row.d_acc,
                        "train/g_loss": row.g_loss}, step=row.iteration)


def log_quality_row(row: QualityRow) -> None:
    """In the train section, beside the losses: the final quality/ metrics are evaluate's."""
    mlflow.log_metrics({"train/fid": row.fid, "train/classifier_score": row.classifier_score},
                       step=row.iteration)


def log_artifact(path: str | Path, artifact_path: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path=artifact_path)
