"""Stage track: the MLflow store records what the pipeline's outputs hold.

DVC may restore any stage from its run cache instead of running it, and a restored stage
does nothing else: this last stage, which DVC always runs, makes sure that the generator's
run exists (it makes one for a train stage that came from the cache), holds the evaluation
metrics, the dataset, the curves and the pictures, and that its model version carries the
metric tags.
Running it again changes nothing.
"""

import json
from pathlib import Path

import mlflow

from gan_pipeline import cli, history, quality, tracking
from gan_pipeline.digests import json_sha256
from gan_pipeline.logged_generator import log_training_outputs
from gan_pipeline.run_record import record_pipeline_run


def main(args, params):
    results = json.loads(Path(args.metrics).read_text())
    data_summary = json.loads(Path(args.dataset).read_text())

    def restore():
        """Into a new run: what the train stage would have logged."""
        logged = tracking.training_params(params)
        mlflow.set_tags({"dataset": params.data.dataset,
                         "params_sha256": json_sha256(logged)})
        mlflow.log_params(logged)
        for point in history.read_csv(args.history):
            tracking.log_history_row(point)
        for row in quality.read_csv(args.quality):
            tracking.log_quality_row(row)
        for png in sorted(args.progress_dir.glob("iteration_*.png")):
            tracking.log_artifact(png, "progress")
        tracking.log_artifact(args.platform)
        log_training_outputs(args.history, args.generator, params.model.z_dim,
                             params.data.spec.image_shape,
                             params.mlflow.model_name(params.data.dataset))

    run_id, action = record_pipeline_run(
        params.mlflow.experiment, args.generator, results, data_summary,
        {"plots": args.plots, "pictures": args.pictures}, restore)
    print(f"track: {action}: MLflow run {run_id} in {tracking.tracking_uri()}")
    experiment_id = mlflow.get_run(run_id).info.experiment_id
    print(f"track: compare the runs (`mlflow ui` for the embedded store): "
          f"{tracking.experiment_page(experiment_id)}")


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--generator", required=True, help="the trained generator (.keras)")
    p.add_argument("--history", required=True, help="the training history CSV")
    p.add_argument("--quality", required=True, help="the quality measured while training")
    p.add_argument("--progress-dir", required=True, type=Path, help="the fixed-noise grids")
    p.add_argument("--platform", required=True, help="what the training ran on (JSON)")
    p.add_argument("--dataset", required=True,
                   help="the download stage's summary of the data (JSON)")
    p.add_argument("--metrics", required=True, help="the evaluation metrics JSON")
    p.add_argument("--plots", required=True, nargs="+",
                   help="the loss, accuracy and quality plots to attach to the run")
    p.add_argument("--pictures", required=True, nargs="+",
                   help="the other pictures to attach to the run (samples, walks, GIF)")
    cli.run(main, p.parse_args())
