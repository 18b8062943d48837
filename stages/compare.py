"""Command compare: train every architecture of the seeds with the same budget and write
reports/compare.png (a row of digits per model, and one of real MNIST) and compare.md.

    python stages/compare.py --params params.yaml --raw data/raw/mnist.npz \
        --classifier models/classifier.keras --iterations 1000 \
        --png reports/compare.png --md reports/compare.md
"""

import numpy as np

from mnist_gan import cli, figures
from mnist_gan.compare import compare, table
from mnist_gan.config import ARCHITECTURES
from mnist_gan.data.mnist import RAW_LAYOUT, check_raw
from mnist_gan.data.prepare import scale
from mnist_gan.files import load_npz, write_bytes, write_text
from mnist_gan.keras_io import load_model


def main(args, params):
    raw = load_npz(args.raw, RAW_LAYOUT)
    check_raw(raw, args.raw)
    test_images = scale(raw["x_test"])
    contenders = compare(params, args.archs.split(","), args.iterations,
                         scale(raw["x_train"][: params.prepare.train_images]), test_images,
                         load_model(args.classifier), digits=args.digits)
    pick = np.random.default_rng(params.sample.seed).choice(len(test_images), args.digits,
                                                            replace=False)
    rows = [(c.arch, c.digits) for c in contenders] + [("MNIST", test_images[pick])]
    write_bytes(args.png, figures.to_png(figures.comparison_grid(rows)))
    write_text(args.md, table(contenders, args.iterations, params.train.batch_size))
    print(table(contenders, args.iterations, params.train.batch_size))


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--raw", required=True, help="the downloaded MNIST .npz")
    p.add_argument("--classifier", required=True, help="the evaluation classifier (.keras)")
    p.add_argument("--iterations", type=int, required=True, help="the budget of each model")
    p.add_argument("--archs", default=",".join(ARCHITECTURES))
    p.add_argument("--digits", type=int, default=8, help="digits per row")
    p.add_argument("--png", required=True)
    p.add_argument("--md", required=True)
    cli.run(main, p.parse_args())
