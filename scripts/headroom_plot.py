"""fid while training against minutes and against iterations, a curve per run: the headroom
plot of docs/recipe.md, from the quality.csv files that `benchmarks/recipe_ablation.py
--keep DIR` leaves (DIR/row<N>/quality.csv).

    D=benchmarks/results/recipe_headroom_60min_amx
    PYTHONPATH=src python scripts/headroom_plot.py --out docs/gallery/recipe_headroom.png \
        "the recipe, seed 42 (set X, AMX)=$D/row1/quality.csv" \
        "the book's params, seed 42 (set X, AMX)=$D/row47/quality.csv"
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gan_pipeline.figures.plots import to_png  # noqa: E402
from gan_pipeline.formats import quality_rows  # noqa: E402
from gan_pipeline.formats.files import write_bytes  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("curves", nargs="+", metavar="NAME=QUALITY_CSV")
    p.add_argument("--out", required=True, help="the PNG to write")
    args = p.parse_args()
    fig, (by_minute, by_iteration) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for curve in args.curves:
        name, _, path = curve.partition("=")
        rows = quality_rows.read_csv(Path(path))
        fids = [r.fid for r in rows]
        by_minute.plot([r.seconds / 60 for r in rows], fids, marker=".", label=name)
        by_iteration.plot([r.iteration for r in rows], fids, marker=".", label=name)
    by_minute.set_yscale("log")  # from hundreds at the start to single digits
    by_minute.set_ylabel("FID, 2,000 samples (lower is better)")
    by_minute.set_xlabel("Training wall time (minutes)")
    by_iteration.set_xlabel("Iteration")
    for ax in (by_minute, by_iteration):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("FID while training: what longer runs reach")
    fig.tight_layout()
    write_bytes(args.out, to_png(fig))
    print(f"headroom_plot: wrote {args.out}")


if __name__ == "__main__":
    main()
