"""The book's figures as reproducible PNGs, and the progress GIF."""

import io

import numpy as np
import pytest

from gan_pipeline.figures import grids, plots
from gan_pipeline.formats.history import HistoryRow


def test_figures_are_reproducible_pngs_with_the_books_layout():
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
    grid = grids.sample_grid(images, 4, 4)
    assert len(grid.axes) == 16 and tuple(grid.get_size_inches()) == (4.0, 4.0)
    png = grids.to_png(grid)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"Software" not in png
    assert png == grids.to_png(grids.sample_grid(images, 4, 4))
    points = [HistoryRow(i, 0.1, 0.5, 2.0) for i in (1000, 2000, 3000)]
    acc = plots.accuracy_plot(points)
    assert tuple(acc.get_size_inches()) == (15.0, 5.0)
    assert list(acc.axes[0].get_yticks()) == list(range(0, 101, 5))
    loss = plots.losses_plot(points)
    assert [t.get_rotation() for t in loss.axes[0].get_xticklabels()] == [90.0] * 3
    with pytest.raises(ValueError, match="a 4×4 grid needs 16 images"):
        grids.sample_grid(images[:3], 4, 4)


def test_progress_gif_is_a_reproducible_looping_animation():
    from PIL import Image

    rng = np.random.default_rng(0)
    pngs = [grids.to_png(grids.sample_grid(
        rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32), 4, 4)) for _ in range(3)]
    gif = plots.progress_gif(pngs)
    assert gif == plots.progress_gif(pngs)
    animation = Image.open(io.BytesIO(gif))
    assert animation.format == "GIF" and animation.n_frames == 3
    assert animation.info["loop"] == 0
    with pytest.raises(ValueError, match="no progress grids"):
        plots.progress_gif([])
