"""Atomic and byte-deterministic outputs, and the .npz reader's checks of bad inputs."""

import time

import numpy as np
import pytest

from helpers import synthetic_images
from gan_pipeline.data.prepare import check_scaled, prepare, prepared_layout
from gan_pipeline.formats.files import atomic_path, load_npz, save_npz, write_text


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
