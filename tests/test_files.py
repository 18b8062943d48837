"""Scaling, atomic and byte-deterministic outputs, and the readers' checks of bad inputs."""

import io
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO, synthetic_images
from mnist_gan import figures, history
from mnist_gan.data.prepare import check_scaled, prepare, prepared_layout, scale
from mnist_gan.files import atomic_path, load_npz, save_npz, write_text
from mnist_gan.history import HistoryRow
from mnist_gan.noise import interpolation_noise, noise
from mnist_gan.keras_io import load_model


def test_scaling_matches_the_seed_exactly():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16).repeat(2, 0)
    pixels = np.pad(pixels, ((0, 0), (6, 6), (6, 6)))
    scaled = scale(pixels)
    assert scaled.dtype == np.float32 and scaled.shape == (2, 28, 28, 1)
    seed = np.expand_dims(pixels / 127.5 - 1.0, axis=3)  # the book's float64 expression
    np.testing.assert_allclose(scaled, seed, rtol=0, atol=1e-7)
    assert scaled.min() == -1.0 and scaled.max() == 1.0


def test_prepare_keeps_the_first_n_training_images():
    raw = synthetic_images(n_train=50, n_test=10)
    out = prepare(raw, 20)
    assert out["x_train"].shape == (20, 28, 28, 1) and out["x_test"].shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(out["y_train"], raw["y_train"][:20])
    with pytest.raises(ValueError, match="prepare.train_images is 60 but only 50 images"):
        prepare(raw, 60)
    assert prepare(raw, "all")["x_train"].shape == (50, 28, 28, 1)


def test_colour_images_keep_their_channels():
    raw = synthetic_images("cifar10", n_train=5, n_test=2)
    out = prepare(raw, "all")
    assert out["x_train"].shape == (5, 32, 32, 3)
    np.testing.assert_allclose(out["x_train"], raw["x_train"] / 127.5 - 1.0, atol=1e-6)


def test_npz_is_byte_deterministic_and_round_trips(tmp_path):
    arrays = prepare(synthetic_images(), 64)
    save_npz(tmp_path / "a.npz", arrays)
    time.sleep(2.1)  # zip timestamps have a 2-second resolution
    save_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    back = load_npz(tmp_path / "a.npz", prepared_layout("mnist"))
    assert all(np.array_equal(back[k], arrays[k]) for k in arrays)


@pytest.mark.parametrize("broken, message", [
    ({"x_train": np.zeros((4, 28, 28), np.float32)}, "x_train must have shape N×28×28×1"),
    ({"x_train": np.zeros((4, 28, 28, 1), np.float64)}, "x_train must have dtype float32"),
    ({}, "missing array 'x_train'"),
])
def test_reading_a_file_with_the_wrong_layout_names_the_problem(tmp_path, broken, message):
    arrays = {**prepare(synthetic_images(), 64), **broken}
    if not broken:
        del arrays["x_train"]
    save_npz(tmp_path / "p.npz", arrays)
    with pytest.raises(ValueError, match=message):
        load_npz(tmp_path / "p.npz", prepared_layout("mnist"))


def test_reading_garbage_or_out_of_range_data_fails_clearly(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        load_npz(tmp_path / "junk.npz", prepared_layout("mnist"))
    with pytest.raises(ValueError, match=r"values must lie in \[-1, 1\]"):
        check_scaled(np.full((2, 28, 28, 1), 3.0, np.float32), "x")
    with pytest.raises(ValueError, match="NaN or inf"):
        check_scaled(np.full((2, 28, 28, 1), np.nan, np.float32), "x")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "history.csv"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("killed while writing")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["history.csv"]


def test_keras_model_files_are_byte_deterministic_across_processes(tmp_path):
    # Two processes: Keras writes memory addresses into config.json, which differ between them.
    script = ("import sys; from mnist_gan.config import load_params;"
              "from mnist_gan.keras_io import save_model;"
              "from mnist_gan.models import build_generator;"
              "import keras; keras.utils.set_random_seed(0);"
              f"save_model(build_generator(load_params({str(REPO / 'params.yaml')!r}).model,"
              " (28, 28, 1)), sys.argv[1])")
    for name in ("a.keras", "b.keras"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / name)], check=True)
        time.sleep(1.1)
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()
    generator = load_model(tmp_path / "a.keras")
    assert generator.count_params() == 1_637_121


def test_history_round_trips_and_prints_the_seeds_line(tmp_path):
    points = [HistoryRow(1000, 0.2352, 0.92578125, 4.601653),
              HistoryRow(2000, 0.034661, 1.0, 3.741243)]
    assert points[0].log_line() == "1000 [D loss: 0.235200, acc.: 92.58%] [G loss: 4.601653]"
    write_text(tmp_path / "h.csv", history.to_csv(points))
    assert (tmp_path / "h.csv").read_text().splitlines()[0] == "iteration,d_loss,d_acc,g_loss"
    back = history.read_csv(tmp_path / "h.csv")
    assert [p.iteration for p in back] == [1000, 2000]
    assert back[0].d_acc == pytest.approx(0.925781, abs=1e-6)
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="columns must be"):
        history.read_csv(tmp_path / "bad.csv")


def test_figures_are_reproducible_pngs_with_the_seeds_layout():
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
    grid = figures.sample_grid(images, 4, 4)
    assert len(grid.axes) == 16 and tuple(grid.get_size_inches()) == (4.0, 4.0)
    png = figures.to_png(grid)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"Software" not in png
    assert png == figures.to_png(figures.sample_grid(images, 4, 4))
    points = [HistoryRow(i, 0.1, 0.5, 2.0) for i in (1000, 2000, 3000)]
    acc = figures.accuracy_plot(points)
    assert tuple(acc.get_size_inches()) == (15.0, 5.0)
    assert list(acc.axes[0].get_yticks()) == list(range(0, 101, 5))
    loss = figures.losses_plot(points)
    assert [t.get_rotation() for t in loss.axes[0].get_xticklabels()] == [90.0] * 3
    with pytest.raises(ValueError, match="a 4×4 grid needs 16 images"):
        figures.sample_grid(images[:3], 4, 4)


def test_progress_gif_is_a_reproducible_looping_animation():
    from PIL import Image

    rng = np.random.default_rng(0)
    pngs = [figures.to_png(figures.sample_grid(
        rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32), 4, 4)) for _ in range(3)]
    gif = figures.progress_gif(pngs)
    assert gif == figures.progress_gif(pngs)
    animation = Image.open(io.BytesIO(gif))
    assert animation.format == "GIF" and animation.n_frames == 3
    assert animation.info["loop"] == 0
    with pytest.raises(ValueError, match="no progress grids"):
        figures.progress_gif([])


def test_interpolation_walks_straight_lines_between_seeded_noise_vectors():
    z = interpolation_noise(seed=3, rows=2, steps=5, z_dim=100).reshape(2, 5, 100)
    ends = noise(3, 4, 100).reshape(2, 2, 100)
    np.testing.assert_allclose(z[:, 0], ends[:, 0], rtol=1e-6)
    np.testing.assert_allclose(z[:, -1], ends[:, 1], rtol=1e-6)
    np.testing.assert_allclose(z[:, 2], 0.5 * (ends[:, 0] + ends[:, 1]), rtol=1e-5, atol=1e-6)
