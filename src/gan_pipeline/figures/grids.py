"""The pictures of generator output: the book's sample grid, as PNG bytes.

The train stage draws its progress grids with it and the sample stage its samples, so it
stays apart from the plots (gan_pipeline.figures.plots) that only other stages draw. PNGs carry no
software or time metadata, so the same figure always gives the same bytes.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # headless: stages run under DVC and CI with no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def show(ax, image: np.ndarray, autoscale: bool = False) -> None:
    """One image in [0, 1], grayscale (H, W, 1) or RGB (H, W, 3). ``autoscale`` stretches a
    grayscale image to its own range, as the book's ``imshow(..., cmap="gray")`` does."""
    if image.shape[-1] == 1:
        ax.imshow(image[:, :, 0], cmap="gray", **({} if autoscale else {"vmin": 0, "vmax": 1}))
    else:
        ax.imshow(np.clip(image, 0.0, 1.0))


def sample_grid(images: np.ndarray, rows: int, cols: int) -> Figure:
    """The book's ``sample_images``: generator output in [-1, 1] on a rows×cols grid."""
    if len(images) < rows * cols:
        raise ValueError(f"a {rows}×{cols} grid needs {rows * cols} images, got {len(images)}")
    images = 0.5 * images + 0.5  # [-1, 1] -> [0, 1]
    # The book's 4×4 grid is 4×4 inches: an inch per image.
    fig, axs = plt.subplots(rows, cols, figsize=(cols, rows), sharey=True, sharex=True,
                            squeeze=False)
    for cnt, ax in enumerate(axs.flat):
        show(ax, images[cnt], autoscale=True)
        ax.axis("off")
    return fig
