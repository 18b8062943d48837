"""Stage train: the GAN of model.arch on data.dataset, logged to MLflow and registered."""

import resource
import shutil
from pathlib import Path

from gan_pipeline import cli, figures, history, quality, tracking
from gan_pipeline.checkpoints import clear, resumable
from gan_pipeline.data.prepare import check_scaled, prepared_layout
from gan_pipeline.digests import array_sha256
from gan_pipeline.evaluation.probe import QualityProbe
from gan_pipeline.files import load_npz, write_bytes, write_json, write_text
from gan_pipeline.logged_generator import log_training_outputs
from gan_pipeline.model_files import load_model, save_model
from gan_pipeline.platform_record import describe
from gan_pipeline.runtime import is_chief, resolve_precision
from gan_pipeline.training import train


def main(args, params):
    layout = prepared_layout(params.data.dataset)
    data = load_npz(args.data, {name: layout[name] for name in ("x_train", "x_test")})
    images = data["x_train"]
    check_scaled(images, f"{args.data}: x_train")
    if not is_chief(params.train):
        # A non-chief worker of a multi-worker run trains in step with the chief and then
        # leaves every output and the MLflow run to it.
        train(params.model, params.train, images)
        print("train: worker done; the chief writes the outputs")
        return
    # Checkpoints need every worker's share of the state; multi-worker runs go without.
    checkpoint_dir = None if params.train.strategy == "multi_worker" else args.checkpoint_dir

    progress_dir = Path(args.progress_dir)
    shutil.rmtree(progress_dir, ignore_errors=True)  # grids of an earlier, longer run
    progress_dir.mkdir(parents=True)
    grid = params.train.progress_grid
    points, quality_rows = [], []
    write_text(args.quality, quality.to_csv(quality_rows))  # no rows without eval_interval

    def make_probe():
        return QualityProbe(load_model(args.classifier), data["x_test"],
                            params.train.eval_samples, params.model.z_dim, params.train.seed)

    def on_sample(point, grid_images):
        points.append(point)
        write_text(args.history, history.to_csv(points))
        png = progress_dir / f"iteration_{point.iteration:06d}.png"
        write_bytes(png, figures.to_png(figures.sample_grid(grid_images, grid.rows, grid.cols)))
        tracking.log_history_row(point)
        tracking.log_artifact(png, "progress")

    def on_quality(row):
        quality_rows.append(row)
        write_text(args.quality, quality.to_csv(quality_rows))
        tracking.log_quality_row(row)

    logged_params = {**tracking.training_params(params),
                     "train.precision_resolved": resolve_precision(params.train.precision)}
    digest = array_sha256(images)
    # The run opens before training so that an unusable tracking store fails at once.
    with tracking.training_run(params.mlflow.experiment, logged_params, params.data.dataset,
                               digest,
                               checkpoint_dir=checkpoint_dir,
                               resuming=resumable(checkpoint_dir, params.train)) as run:
        result = train(params.model, params.train, images, on_sample, checkpoint_dir, digest,
                       make_probe, on_quality)
        save_model(result.generator, args.generator)
        save_model(result.discriminator, args.discriminator)
        cfg = params.train
        write_json(args.platform, describe(resolve_precision(cfg.precision),
                                           cfg.intra_op_threads, cfg.inter_op_threads))
        tracking.log_artifact(args.platform)
        model_name = params.mlflow.model_name(params.data.dataset)
        uri = log_training_outputs(args.history, args.generator, params.model.z_dim,
                                   images.shape[1:], model_name)
        print(f"train: MLflow run {run.info.run_id}; generator registered as "
              f"{model_name} ({uri})")
        if checkpoint_dir is not None:
            clear(checkpoint_dir)  # everything is written and logged: nothing to resume
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"train: peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--data", required=True, help="the prepared .npz")
    p.add_argument("--generator", required=True, help="where to save the generator (.keras)")
    p.add_argument("--discriminator", required=True, help="where to save the discriminator")
    p.add_argument("--history", required=True, help="the CSV of losses per sample interval")
    p.add_argument("--progress-dir", required=True, help="folder for the fixed-noise grids")
    p.add_argument("--classifier", required=True,
                   help="the evaluation classifier, for quality while training (.keras)")
    p.add_argument("--quality", required=True,
                   help="the CSV of fid and classifier_score per train.eval_interval")
    p.add_argument("--platform", required=True,
                   help="where to write what the run ran on (CPU, ISA, versions, precision)")
    p.add_argument("--checkpoint-dir", required=True,
                   help="folder for the checkpoints that an interrupted run resumes from")
    cli.run(main, p.parse_args())
