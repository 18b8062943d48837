"""The recipe's pictures of docs/recipe.md, from the comparison's recipe run
(`dvc repro compare/dvc.yaml`): its 4×4 samples from `sample.seed`'s noise, as the sample
stage draws them, and its fid while it trained, as the plot stage draws it.

    PYTHONPATH=src python scripts/recipe_gallery.py
"""

import argparse
from pathlib import Path

import yaml

from gan_pipeline.figures import grids, plots
from gan_pipeline.formats import quality_rows
from gan_pipeline.formats.files import write_bytes
from gan_pipeline.formats.model_files import load_model
from gan_pipeline.training.noise import noise

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run-dir", default=str(REPO / "reports/compare/recipe"))
    p.add_argument("--out-dir", default=str(REPO / "docs/gallery"))
    args = p.parse_args()
    run, out = Path(args.run_dir), Path(args.out_dir)
    seed = yaml.safe_load((REPO / "params.yaml").read_text())["sample"]["seed"]
    generator = load_model(run / "generator.keras")
    images = generator(noise(seed, 16, generator.input_shape[-1]), training=False).numpy()
    write_bytes(out / "recipe_samples.png", grids.to_png(grids.sample_grid(images, 4, 4)))
    write_bytes(out / "recipe_quality.png", plots.to_png(plots.quality_plot(
        quality_rows.read_csv(run / "quality.csv"))))
    print(f"recipe_gallery: wrote {out / 'recipe_samples.png'} and {out / 'recipe_quality.png'}")


if __name__ == "__main__":
    main()
