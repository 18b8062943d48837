"""Stage download: fetch data.dataset from the first mirror that serves verified data."""

from gan_pipeline import cli
from gan_pipeline.config.download import DownloadParams
from gan_pipeline.data.datasets import summary
from gan_pipeline.data.download import download, source_url
from gan_pipeline.data.sources import load_sources
from gan_pipeline.formats.files import save_npz, write_json


def main(args, params):
    dataset = params.data.dataset
    got = download(params.runtime.download, load_sources(args.sources, dataset), dataset)
    save_npz(args.out, got.arrays)
    write_json(args.summary, summary(dataset, got.arrays, got.digest, source_url(got.mirror)))
    print(f"download: wrote {args.out} ({dataset}: {len(got.arrays['x_train'])} train, "
          f"{len(got.arrays['x_test'])} test images)")


if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--sources", required=True,
                   help="the dataset's mirrors and checksums (data/sources/<dataset>.yaml)")
    p.add_argument("--out", required=True, help="the .npz to write (Keras's array layout)")
    p.add_argument("--summary", required=True,
                   help="JSON with the content digest, the source and the pixel means")
    cli.run(main, p.parse_args(), DownloadParams)
