"""The generator as an MLflow model: logged into the active run as a pyfunc model with its
signature, registered with its lineage, and found again from the file alone."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ParamSchema, ParamSpec, Schema, TensorSpec

from gan_pipeline.formats.digests import file_sha256
from gan_pipeline.tracking.store import connect, log_artifact

# Ties a run to the generator file it produced, so later stages (track, promote) find the
# run from their input alone, with no run-id file that would change every run.
GENERATOR_SHA256_TAG = "generator_sha256"
# Run tags copied onto each registered generator version, with the run id: its lineage
# (version tag name: run tag name).
LINEAGE_TAGS = {"dataset": "dataset", "git_commit": "mlflow.source.git.commit",
                "data_sha256": "data_sha256", "params_sha256": "params_sha256",
                "dvc_exp_name": "dvc_exp_name"}
LOGGED_MODEL_NAME = "generator"


def generator_signature(z_dim: int, image_shape: tuple[int, ...]) -> ModelSignature:
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, z_dim))]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, *image_shape))]),
        params=ParamSchema([ParamSpec("scale", "string", "tanh")]),
    )


def log_generator(generator_path: str | Path, z_dim: int, image_shape: tuple[int, ...],
                  registered_model: str) -> str:
    """Log the saved generator as a pyfunc model and register it, with its lineage and its
    file's sha256 as tags of the new version; returns the model URI."""
    import keras
    import tensorflow as tf

    from gan_pipeline.tracking import pyfunc

    info = mlflow.pyfunc.log_model(
        name=LOGGED_MODEL_NAME,
        # "Models from code": the file itself is stored with the model, so loading or serving
        # it needs neither this repository nor a pickled class.
        python_model=pyfunc.__file__,
        artifacts={"generator": str(generator_path)},
        signature=generator_signature(z_dim, image_shape),
        input_example=np.zeros((2, z_dim), dtype=np.float32),
        registered_model_name=registered_model,
        pip_requirements=[f"mlflow=={mlflow.__version__}", f"keras=={keras.__version__}",
                          f"tensorflow=={tf.__version__}", f"numpy=={np.__version__}"],
    )
    digest = file_sha256(generator_path)
    mlflow.set_tag(GENERATOR_SHA256_TAG, digest)
    client = MlflowClient()
    run_id = mlflow.active_run().info.run_id
    tags = client.get_run(run_id).data.tags
    # The version carries its file's digest too: promote and serve check the registered
    # files against it (model_integrity).
    lineage = {"run_id": run_id, GENERATOR_SHA256_TAG: digest,
               **{key: tags[tag] for key, tag in LINEAGE_TAGS.items() if tags.get(tag)}}
    for key, value in lineage.items():
        client.set_model_version_tag(registered_model, info.registered_model_version, key,
                                     value)
    return info.model_uri


def log_training_outputs(history_csv: str | Path, generator_path: str | Path, z_dim: int,
                         image_shape: tuple[int, ...], registered_model: str) -> str:
    """Into the active run: the history, and the generator, logged and registered; returns
    the model URI."""
    log_artifact(history_csv)
    return log_generator(generator_path, z_dim, image_shape, registered_model)


def find_run_for_generator(experiment: str, generator_path: str | Path) -> str | None:
    """The id of the newest run that produced this exact generator file, if any."""
    experiment_id = connect(experiment)
    runs = MlflowClient().search_runs(
        [experiment_id], f"tags.{GENERATOR_SHA256_TAG} = '{file_sha256(generator_path)}'",
        order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0].info.run_id if runs else None


def logged_model_id(experiment_id: str, run_id: str) -> str | None:
    """The id of the generator that ``run_id`` logged (MLflow 3's logged model), if any."""
    models = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string=f"source_run_id = '{run_id}' AND name = '{LOGGED_MODEL_NAME}'",
        output_format="list")
    return models[0].model_id if models else None
