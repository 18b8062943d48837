"""Stage sample: a grid of images from seeded noise, and latent walks between noise vectors."""

from gan_pipeline import cli
from gan_pipeline.config.sample import SampleParams
from gan_pipeline.figures import grids
from gan_pipeline.formats.files import write_bytes
from gan_pipeline.formats.model_files import load_model
from gan_pipeline.training.noise import interpolation_noise, noise


def main(args, params):
    generator = load_model(args.generator)
    grid = params.sample.grid
    z = noise(params.sample.seed, grid.rows * grid.cols, generator.input_shape[-1])
    images = generator(z, training=False).numpy()
    write_bytes(args.out,
                grids.to_png(grids.sample_grid(images, grid.rows, grid.cols)))
    walk = params.sample.interpolation
    z = interpolation_noise(params.sample.seed, walk.rows, walk.cols, generator.input_shape[-1])
    images = generator(z, training=False).numpy()
    write_bytes(args.interpolation,
                grids.to_png(grids.sample_grid(images, walk.rows, walk.cols)))
    print(f"sample: wrote {args.out} and {args.interpolation}")


if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--generator", required=True, help="the trained generator (.keras)")
    p.add_argument("--out", required=True, help="the sample grid PNG to write")
    p.add_argument("--interpolation", required=True, help="the latent-walk PNG to write")
    cli.run(main, p.parse_args(), SampleParams)
