"""Stage compare_report (compare/dvc.yaml): the comparison's runs side by side:
reports/compare.png (a row of samples per run, and one of real images), compare_fid.png
(fid against training minutes, a curve per run) and compare.md (the table)."""

import json
from pathlib import Path

from gan_pipeline import cli  # first: it chooses NumPy's BLAS kernels

import numpy as np
from gan_pipeline.compare import RunResult, table
from gan_pipeline.config.compare import load_compare
from gan_pipeline.config.params import Params
from gan_pipeline.data.prepare import prepared_layout
from gan_pipeline.figures import plots
from gan_pipeline.formats import quality_rows
from gan_pipeline.formats.files import load_npz, write_bytes, write_text
from gan_pipeline.formats.model_files import load_model
from gan_pipeline.training.noise import noise


def main(args, params):
    runs_dir = Path(args.runs_dir)
    compare = load_compare(args.compare)
    names = list(compare.runs)
    test_images = load_npz(args.data, {"x_test": prepared_layout(params.data.dataset)[
        "x_test"]})["x_test"]
    results, curves, rows = [], {}, []
    for name in names:
        run_dir = runs_dir / name
        results.append(RunResult(name, compare.runs[name],
                                 json.loads((run_dir / "metrics.json").read_text())))
        curves[name] = quality_rows.read_csv(run_dir / "quality.csv")
        generator = load_model(run_dir / "generator.keras")
        z = noise(params.sample.seed, args.per_row, generator.input_shape[-1])
        rows.append((name, generator(z, training=False).numpy()))
    title = params.data.spec.title
    pick = np.random.default_rng(params.sample.seed).choice(len(test_images), args.per_row,
                                                            replace=False)
    rows.append((title, test_images[np.sort(pick)]))
    write_bytes(args.png, plots.to_png(plots.comparison_grid(rows)))
    write_bytes(args.fid_png, plots.to_png(plots.fid_curves(curves)))
    md = table(results, compare.minutes, title)
    write_text(args.md, md)
    print(md)


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--compare", default="compare/params.yaml",
                   help="the comparison's params (default: %(default)s)")
    p.add_argument("--runs-dir", required=True, help="the folder of the runs' outputs")
    p.add_argument("--data", required=True, help="the prepared .npz (real images)")
    p.add_argument("--per-row", type=int, default=8, help="images per row of the picture")
    p.add_argument("--png", required=True)
    p.add_argument("--fid-png", required=True)
    p.add_argument("--md", required=True)
    cli.run(main, p.parse_args(), Params)
