"""Stage train: the GAN of model.arch on data.dataset. It writes files only: the track stage
logs them to MLflow, so no tracking code can change (or invalidate) what training made."""

import resource
import shutil
from pathlib import Path

from gan_pipeline import cli
from gan_pipeline.config.train import TrainParams
from gan_pipeline.data.prepare import check_scaled, prepared_layout
from gan_pipeline.evaluation.probe import QualityProbe
from gan_pipeline.figures import grids
from gan_pipeline.formats import history, quality_rows
from gan_pipeline.formats.digests import array_sha256
from gan_pipeline.formats.files import load_npz, write_bytes, write_json, write_text
from gan_pipeline.formats.model_files import load_model, save_model
from gan_pipeline.platform_record import platform_class
from gan_pipeline.training import state_digests
from gan_pipeline.training.checkpoints import clear
from gan_pipeline.training.loop import train
from gan_pipeline.training.runtime import is_chief, resolve_precision


def main(args, params):
    layout = prepared_layout(params.data.dataset)
    data = load_npz(args.data, {name: layout[name] for name in ("x_train", "x_test")})
    images = data["x_train"]
    check_scaled(images, f"{args.data}: x_train")
    runtime = params.runtime.train
    if not is_chief(runtime):
        # A non-chief worker of a multi-worker run trains in step with the chief and then
        # leaves every output to it.
        train(params.model, params.train, runtime, images)
        print("train: worker done; the chief writes the outputs")
        return
    # Checkpoints need every worker's share of the state; multi-worker runs go without.
    checkpoint_dir = None if runtime.strategy == "multi_worker" else args.checkpoint_dir

    progress_dir = Path(args.progress_dir)
    shutil.rmtree(progress_dir, ignore_errors=True)  # grids of an earlier, longer run
    progress_dir.mkdir(parents=True)
    grid = params.train.progress_grid
    write_text(args.quality, quality_rows.to_csv([]))  # no rows without eval_interval

    def make_probe():
        return QualityProbe(load_model(args.classifier), data["x_test"],
                            params.train.eval_samples, params.model.z_dim, params.train.seed)

    def on_sample(record):
        """The files of the run's record so far (all of it, after a resume)."""
        write_text(args.history, history.to_csv(record.history))
        write_text(args.state_digests, state_digests.to_json(record.digests))
        for point, grid_images in zip(record.history, record.grids):
            png = progress_dir / f"iteration_{point.iteration:06d}.png"
            if not png.exists():
                write_bytes(png, grids.to_png(
                    grids.sample_grid(grid_images, grid.rows, grid.cols)))

    def on_quality(record):
        write_text(args.quality, quality_rows.to_csv(record.quality))

    result = train(params.model, params.train, runtime, images, on_sample, checkpoint_dir,
                   array_sha256(images), make_probe, on_quality)
    save_model(result.generator, args.generator)
    save_model(result.discriminator, args.discriminator)
    write_json(args.platform, platform_class(resolve_precision(runtime.precision),
                                             runtime.intra_op_threads,
                                             runtime.inter_op_threads))
    if checkpoint_dir is not None:
        clear(checkpoint_dir)  # everything is written: nothing to resume
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"train: peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="the prepared .npz")
    p.add_argument("--generator", required=True, help="where to save the generator (.keras)")
    p.add_argument("--discriminator", required=True, help="where to save the discriminator")
    p.add_argument("--history", required=True, help="the CSV of losses per sample interval")
    p.add_argument("--state-digests", required=True,
                   help="the JSON of the training state's sha256 per sample interval")
    p.add_argument("--progress-dir", required=True, help="folder for the fixed-noise grids")
    p.add_argument("--classifier", required=True,
                   help="the evaluation classifier, for quality while training (.keras)")
    p.add_argument("--quality", required=True,
                   help="the CSV of fid and classifier_score per train.eval_interval")
    p.add_argument("--platform", required=True,
                   help="where to write the platform class the run ran on (ISA, precision, "
                        "cores, versions): what decides its bits")
    p.add_argument("--checkpoint-dir", required=True,
                   help="folder for the checkpoints that an interrupted run resumes from")
    cli.run(main, p.parse_args(), TrainParams)
