"""Command compare: train every reference architecture with the same budget and write
reports/compare.png (a row of samples per model, and one of real images) and compare.md.

    python stages/compare.py --params params.yaml --raw data/raw/dataset.npz \
        --classifier models/classifier.keras \
        --png reports/compare.png --md reports/compare.md
"""

import numpy as np

from gan_pipeline import cli, figures
from gan_pipeline.compare import compare, table
from gan_pipeline.config import ARCHITECTURES
from gan_pipeline.data.datasets import load_raw
from gan_pipeline.data.prepare import prepare
from gan_pipeline.errors import InputError
from gan_pipeline.files import write_bytes, write_text
from gan_pipeline.model_files import load_model


def main(args, params):
    archs = args.archs.split(",")
    if unknown := sorted(set(archs) - set(ARCHITECTURES)):
        raise InputError(f"--archs: unknown {unknown}, expected some of {ARCHITECTURES}")
    data = prepare(load_raw(args.raw, params.data.dataset), params.prepare.train_images)
    test_images = data["x_test"]
    iterations = params.compare.iterations
    contenders = compare(params, archs, iterations, data["x_train"],
                         test_images, load_model(args.classifier), per_row=args.per_row)
    pick = np.random.default_rng(params.sample.seed).choice(len(test_images), args.per_row,
                                                            replace=False)
    title = params.data.spec.title
    rows = [(c.arch, c.samples) for c in contenders] + [(title, test_images[pick])]
    write_bytes(args.png, figures.to_png(figures.comparison_grid(rows)))
    md = table(contenders, iterations, params.train.batch_size, title)
    write_text(args.md, md)
    print(md)


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--raw", required=True, help="the downloaded .npz")
    p.add_argument("--classifier", required=True, help="the evaluation classifier (.keras)")
    p.add_argument("--archs", default=",".join(ARCHITECTURES))
    p.add_argument("--per-row", type=int, default=8, help="images per row of the picture")
    p.add_argument("--png", required=True)
    p.add_argument("--md", required=True)
    cli.run(main, p.parse_args())
