"""The seeds' pictures: the 4×4 sample grid and the loss and accuracy curves.

Figures are returned as PNG bytes; writing them is the caller's job. PNGs carry no software
or time metadata, so the same figure always gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # headless: stages run under DVC and CI with no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mnist_gan.history import SamplePoint  # noqa: E402


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def sample_grid(images: np.ndarray, rows: int, cols: int) -> Figure:
    """The seed's ``sample_images``: generator output in [-1, 1] on a rows×cols grid."""
    if len(images) < rows * cols:
        raise ValueError(f"a {rows}×{cols} grid needs {rows * cols} images, got {len(images)}")
    images = 0.5 * images + 0.5  # [-1, 1] -> [0, 1]
    fig, axs = plt.subplots(rows, cols, figsize=(4, 4), sharey=True, sharex=True,
                            squeeze=False)
    for cnt, ax in enumerate(axs.flat):
        ax.imshow(images[cnt, :, :, 0], cmap="gray")
        ax.axis("off")
    return fig


def losses_plot(history: Sequence[SamplePoint]) -> Figure:
    """The seed's "Training Loss" figure: both losses against the checkpoint iterations."""
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


def accuracy_plot(history: Sequence[SamplePoint]) -> Figure:
    """The seed's "Discriminator Accuracy" figure, in %, y ticks 0-100 in steps of 5."""
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
