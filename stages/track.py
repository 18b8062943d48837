"""Stage track: the MLflow store records what the pipeline's outputs hold.

The train stage writes files only, and DVC may restore any stage from its run cache instead
of running it: this last stage, which DVC always runs, makes sure that the generator's run
exists, with the training's params, curves, grids and platform, the registered generator,
the evaluation metrics, the dataset and the pictures, and that its model version carries
the metric tags. Running it again changes nothing.
"""

import json
from pathlib import Path

import mlflow

from gan_pipeline import cli
from gan_pipeline.config.mlflow import TrackParams
from gan_pipeline.formats import history, quality_rows
from gan_pipeline.formats.digests import json_sha256
from gan_pipeline.platform_record import describe
from gan_pipeline.tracking import store
from gan_pipeline.tracking.logged_model import log_training_outputs
from gan_pipeline.tracking.run_record import record_pipeline_run


def main(args, params):
    results = json.loads(Path(args.metrics).read_text())
    data_summary = json.loads(Path(args.dataset).read_text())

    def log_training():
        """Into a new run: the training that made the generator, from the files it wrote."""
        platform = json.loads(Path(args.platform).read_text())
        logged = {**store.training_params(params),
                  "runtime.train.precision_resolved": platform["precision"]}
        mlflow.set_tags({"dataset": params.data.dataset,
                         "data_sha256": data_summary["content_digest"],
                         "params_sha256": json_sha256(logged),
                         "platform_class": platform["id"]})
        mlflow.log_params(logged)
        for point in history.read_csv(args.history):
            store.log_history_row(point)
        for row in quality_rows.read_csv(args.quality):
            store.log_quality_row(row)
        for png in sorted(args.progress_dir.glob("iteration_*.png")):
            store.log_artifact(png, "progress")
        store.log_artifact(args.platform)
        store.log_artifact(args.state_digests)
        # The exact CPU, which the platform class leaves out: the host of this pipeline run,
        # which trained the generator unless DVC restored it from its cache.
        threads = platform["threads"]
        mlflow.log_dict(describe(platform["precision"], threads["intra_op"],
                                 threads["inter_op"]), "host.json")
        log_training_outputs(args.history, args.generator, params.model.z_dim,
                             params.data.spec.image_shape,
                             params.mlflow.model_name(params.data.dataset))

    with store.refusals_reported():  # a team server's 401 or 403, in one line
        run_id, action = record_pipeline_run(
            params.mlflow.experiment, args.generator, results, data_summary,
            {"plots": args.plots, "pictures": args.pictures}, log_training)
        print(f"track: {action}: MLflow run {run_id} in {store.tracking_uri()}")
        experiment_id = mlflow.get_run(run_id).info.experiment_id
    print(f"track: compare the runs (`mlflow ui` for the embedded store): "
          f"{store.experiment_page(experiment_id)}")


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--generator", required=True, help="the trained generator (.keras)")
    p.add_argument("--history", required=True, help="the training history CSV")
    p.add_argument("--quality", required=True, help="the quality measured while training")
    p.add_argument("--progress-dir", required=True, type=Path, help="the fixed-noise grids")
    p.add_argument("--platform", required=True,
                   help="the platform class the training ran on (JSON)")
    p.add_argument("--state-digests", required=True,
                   help="the training state's digests per sample interval (JSON)")
    p.add_argument("--dataset", required=True,
                   help="the download stage's summary of the data (JSON)")
    p.add_argument("--metrics", required=True, help="the evaluation metrics JSON")
    p.add_argument("--plots", required=True, nargs="+",
                   help="the loss, accuracy and quality plots to attach to the run")
    p.add_argument("--pictures", required=True, nargs="+",
                   help="the other pictures to attach to the run (samples, walks, GIF)")
    cli.run(main, p.parse_args(), TrackParams)
