"""The recipe's pictures of docs/recipe.md, from the comparison's recipe run
(`dvc repro compare/dvc.yaml`): its sample grid from `sample.seed`'s noise, as the sample
stage draws it, and its fid while it trained, as the plot stage draws it.

    PYTHONPATH=src python scripts/recipe_gallery.py
"""

from pathlib import Path

from gan_pipeline import cli
from gan_pipeline.config.sample import SampleParams
from gan_pipeline.figures import grids, plots
from gan_pipeline.formats import quality_rows
from gan_pipeline.formats.files import write_bytes
from gan_pipeline.formats.model_files import load_model
from gan_pipeline.training.noise import noise


def main(args, params):
    run, out = Path(args.run_dir), Path(args.out_dir)
    generator = load_model(run / "generator.keras")
    grid = params.sample.grid
    z = noise(params.sample.seed, grid.rows * grid.cols, generator.input_shape[-1])
    images = generator(z, training=False).numpy()
    write_bytes(out / "recipe_samples.png",
                grids.to_png(grids.sample_grid(images, grid.rows, grid.cols)))
    write_bytes(out / "recipe_quality.png", plots.to_png(plots.quality_plot(
        quality_rows.read_csv(run / "quality.csv"))))
    print(f"recipe_gallery: wrote {out / 'recipe_samples.png'} and {out / 'recipe_quality.png'}")


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--run-dir", default="reports/compare/recipe",
                   help="the comparison's recipe run (default: %(default)s)")
    p.add_argument("--out-dir", default="docs/gallery", help="(default: %(default)s)")
    cli.run(main, p.parse_args(), SampleParams)
