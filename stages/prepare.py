"""Stage prepare: scale the pixels to [-1, 1] as float32 N×H×W×C."""

from gan_pipeline import cli
from gan_pipeline.config.datasets import PrepareParams
from gan_pipeline.data.datasets import load_raw
from gan_pipeline.data.prepare import prepare
from gan_pipeline.formats.files import save_npz


def main(args, params):
    prepared = prepare(load_raw(args.raw, params.data.dataset), params.prepare.train_images)
    save_npz(args.out, prepared)
    print(f"prepare: wrote {args.out} ({len(prepared['x_train'])} train images in [-1, 1])")


if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--raw", required=True, help="the downloaded .npz")
    p.add_argument("--out", required=True, help="the scaled .npz to write")
    cli.run(main, p.parse_args(), PrepareParams)
