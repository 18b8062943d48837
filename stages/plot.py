"""Stage plot: the book's loss and accuracy curves, the quality measured while training, and
the progress grids as a GIF."""

from pathlib import Path

from gan_pipeline import cli
from gan_pipeline.figures import plots
from gan_pipeline.formats import history, quality_rows
from gan_pipeline.formats.files import write_bytes


def main(args, _params):
    pngs = plots.history_plots(history.read_csv(args.history))
    write_bytes(args.losses, pngs["losses.png"])
    write_bytes(args.accuracy, pngs["accuracy.png"])
    write_bytes(args.quality_png, plots.to_png(plots.quality_plot(
        quality_rows.read_csv(args.quality))))
    grids = sorted(Path(args.progress_dir).glob("iteration_*.png"))
    write_bytes(args.gif, plots.progress_gif([png.read_bytes() for png in grids]))
    print(f"plot: wrote {args.losses}, {args.accuracy}, {args.quality_png} and {args.gif} "
          f"({len(grids)} frames)")


if __name__ == "__main__":
    p = cli.parser(__doc__, params=False)
    p.add_argument("--history", required=True, help="the training history CSV")
    p.add_argument("--losses", required=True, help="the loss plot PNG to write")
    p.add_argument("--accuracy", required=True, help="the accuracy plot PNG to write")
    p.add_argument("--quality", required=True, help="the quality measured while training")
    p.add_argument("--quality-png", required=True, help="the quality plot PNG to write")
    p.add_argument("--progress-dir", required=True, help="the fixed-noise grids of training")
    p.add_argument("--gif", required=True, help="the progress animation to write")
    cli.run(main, p.parse_args())
