"""The references' plots: the loss and accuracy curves, fid while
training, the comparison rows and the progress GIF.

Figures are returned as PNG bytes; writing them is the caller's job. PNGs carry no software
or time metadata, so the same figure always gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: stages run under DVC and CI with no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from gan_pipeline.figures.grids import show, to_png  # noqa: E402
from gan_pipeline.formats.history import HistoryRow  # noqa: E402
from gan_pipeline.formats.quality_rows import QualityRow  # noqa: E402


def comparison_grid(rows: Sequence[tuple[str, np.ndarray]]) -> Figure:
    """Reference 000's side-by-side: one labelled row of images (in [-1, 1]) per model."""
    cols = len(rows[0][1])
    fig, axs = plt.subplots(len(rows), cols, figsize=(cols, 1.1 * len(rows)), squeeze=False)
    for (label, images), row in zip(rows, axs):
        for image, ax in zip(0.5 * images + 0.5, row):
            show(ax, image)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(label, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def progress_gif(pngs: Sequence[bytes], frame_ms: int = 500) -> bytes:
    """The progress grids as an animated GIF that loops, like the TensorFlow DCGAN tutorial's.
    GIF carries no timestamps, so the same grids give the same bytes."""
    if not pngs:
        raise ValueError("no progress grids to animate")
    frames = [Image.open(io.BytesIO(png)).convert("RGB").convert("P", palette=Image.ADAPTIVE)
              for png in pngs]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=frame_ms, loop=0)
    return buf.getvalue()


def history_plots(history: Sequence[HistoryRow]) -> dict[str, bytes]:
    """The book's two curves as PNG bytes, by file name."""
    return {"losses.png": to_png(losses_plot(history)),
            "accuracy.png": to_png(accuracy_plot(history))}


def losses_plot(history: Sequence[HistoryRow]) -> Figure:
    """The book's "Training Loss" figure: both losses against the checkpoint iterations."""
    iterations = [p.iteration for p in history]
    fig = plt.figure(figsize=(15, 5))
    plt.plot(iterations, [p.d_loss for p in history], label="Discriminator loss")
    plt.plot(iterations, [p.g_loss for p in history], label="Generator loss")
    plt.xticks(iterations, rotation=90)
    plt.title("Training Loss")
    plt.xlabel("Iteration")
    plt.ylabel("Loss")
    plt.legend()
    fig.tight_layout()
    return fig


def quality_plot(rows: Sequence[QualityRow]) -> Figure:
    """fid against iterations and against training minutes (train.eval_interval)."""
    fig, (by_iteration, by_minute) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    fids = [r.fid for r in rows]
    by_iteration.plot([r.iteration for r in rows], fids, marker="o")
    by_iteration.set_xlabel("Iteration")
    by_iteration.set_ylabel("FID (lower is better)")
    by_minute.plot([r.seconds / 60 for r in rows], fids, marker="o")
    by_minute.set_xlabel("Training wall time (minutes)")
    if not rows:
        for ax in (by_iteration, by_minute):
            ax.text(0.5, 0.5, "not measured: train.eval_interval is null",
                    ha="center", va="center", transform=ax.transAxes)
    fig.suptitle("FID while training")
    fig.tight_layout()
    return fig


def fid_curves(curves: Mapping[str, Sequence[QualityRow]]) -> Figure:
    """fid against training minutes, a curve per run (the comparison of compare/dvc.yaml)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, rows in curves.items():
        ax.plot([r.seconds / 60 for r in rows], [r.fid for r in rows], marker=".", label=name)
    ax.set_yscale("log")  # from hundreds at the start to single digits
    ax.set_xlabel("Training wall time (minutes)")
    ax.set_ylabel("FID (lower is better)")
    ax.set_title("FID while training, the same wall-clock budget for each run")
    ax.legend()
    fig.tight_layout()
    return fig


def accuracy_plot(history: Sequence[HistoryRow]) -> Figure:
    """The book's "Discriminator Accuracy" figure, in %, y ticks 0-100 in steps of 5."""
    iterations = [p.iteration for p in history]
    fig = plt.figure(figsize=(15, 5))
    plt.plot(iterations, [100.0 * p.d_acc for p in history], label="Discriminator accuracy")
    plt.xticks(iterations, rotation=90)
    plt.yticks(range(0, 101, 5))
    plt.title("Discriminator Accuracy")
    plt.xlabel("Iteration")
    plt.ylabel("Accuracy (%)")
    plt.legend()
    fig.tight_layout()
    return fig
