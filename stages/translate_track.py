"""Stage translate:track (translate/dvc.yaml): the CycleGAN's run in its own MLflow
experiment, with its params, losses, metrics and picture, and its A → B generator registered
as its own model. DVC always runs it; a generator already recorded keeps its run, whose
metrics are brought to what metrics.json holds."""

import json
import time
from dataclasses import asdict
from pathlib import Path

from gan_pipeline import cli  # first: it quietens TensorFlow and pins NumPy's kernels

import keras  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from mlflow.models import ModelSignature  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow.types import Schema, TensorSpec  # noqa: E402

from gan_pipeline.config.translate import load_translate
from gan_pipeline.formats import loss_rows
from gan_pipeline.formats.digests import file_sha256
from gan_pipeline.tracking import store

SHA256_TAG = "translator_sha256"  # ties a run to the generator file it produced


def log_run(cfg, args, metrics: dict, digest: str, experiment_id: str) -> str:
    from gan_pipeline.tracking import translator_pyfunc  # MLflow validates it on import

    trained = json.loads(Path(args.train_json).read_text())
    with store.start_run(experiment_id, {SHA256_TAG: digest,
                                         "platform_class": trained["platform_class"]["id"]}
                         ) as run:
        mlflow.log_params(store.flat_params(cfg.model_dump()))
        mlflow.log_metrics({**metrics["translation"], "train/iterations": trained["iterations"],
                            "train/minutes": trained["minutes"]})
        for row in loss_rows.read_csv(args.history):
            mlflow.log_metrics({f"train/{k}": v for k, v in asdict(row).items()
                                if k not in ("iteration", "seconds")}, step=row.iteration)
        for path in (args.history, args.png, args.metrics):
            store.log_artifact(path)
        shape = (-1, 28, 28, 1)
        signature = ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), shape)]),
                                   outputs=Schema([TensorSpec(np.dtype(np.float32), shape)]))
        info = mlflow.pyfunc.log_model(
            name="translator", python_model=translator_pyfunc.__file__,
            artifacts={"translator": str(args.generator)}, signature=signature,
            input_example=np.zeros((2, 28, 28, 1), np.float32),
            registered_model_name=cfg.mlflow.registered_model,
            pip_requirements=[f"mlflow=={mlflow.__version__}", f"keras=={keras.__version__}",
                              f"tensorflow=={tf.__version__}", f"numpy=={np.__version__}"])
        tags = {"run_id": run.info.run_id, SHA256_TAG: digest,
                **{k: f"{v:.4f}" for k, v in metrics["translation"].items()}}
        for key, value in tags.items():
            MlflowClient().set_model_version_tag(cfg.mlflow.registered_model,
                                                 info.registered_model_version, key, value)
        return run.info.run_id


def main(args, _params):
    cfg = load_translate(args.translate)
    metrics = json.loads(Path(args.metrics).read_text())
    digest = file_sha256(args.generator)
    with store.refusals_reported():
        experiment_id = store.connect(cfg.mlflow.experiment)
        found = MlflowClient().search_runs([experiment_id], f"tags.{SHA256_TAG} = '{digest}'",
                                           max_results=1)
        if found:
            # The run stays; its metrics follow metrics.json (an evaluate rerun may move them).
            run_id = found[0].info.run_id
            stale = {k: v for k, v in metrics["translation"].items()
                     if found[0].data.metrics.get(k) != v}
            if stale:
                now = int(time.time() * 1000)
                MlflowClient().log_batch(run_id, metrics=[
                    mlflow.entities.Metric(k, v, now, 0) for k, v in stale.items()])
            print(f"translate: track: already recorded: MLflow run {run_id}"
                  + (f" ({len(stale)} metrics brought up to date)" if stale else ""))
        else:
            run_id = log_run(cfg, args, metrics, digest, experiment_id)
            print(f"translate: track: recorded MLflow run {run_id}, registered "
                  f"{cfg.mlflow.registered_model}, in {store.tracking_uri()}")
    print(f"translate: track: the runs: {store.experiment_page(experiment_id)}")


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0], params=False)
    p.add_argument("--translate", required=True, help="translate/params.yaml")
    p.add_argument("--generator", required=True, help="the A → B generator (.keras)")
    p.add_argument("--history", required=True, help="the loss history (CSV)")
    p.add_argument("--train-json", required=True, help="the train stage's JSON")
    p.add_argument("--metrics", required=True, help="the evaluate stage's metrics (JSON)")
    p.add_argument("--png", required=True, help="the evaluate stage's picture")
    cli.run(main, p.parse_args())
