"""Stage sample: a grid of digits from the trained generator and seeded noise."""

from mnist_gan import cli, figures
from mnist_gan.files import write_bytes
from mnist_gan.keras_io import load_model
from mnist_gan.training import noise


def main(args, params):
    generator = load_model(args.generator)
    grid = params.sample.grid
    z = noise(params.sample.seed, grid.rows * grid.cols, generator.input_shape[-1])
    images = generator(z, training=False).numpy()
    write_bytes(args.out, figures.to_png(figures.sample_grid(images, grid.rows, grid.cols)))
    print(f"sample: wrote {args.out}")


if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--generator", required=True, help="the trained generator (.keras)")
    p.add_argument("--out", required=True, help="the PNG to write")
    cli.run(main, p.parse_args())
