"""Shared test helpers: the real params shrunk down, synthetic dataset files in each mirror
format, a local HTTP server, the train stage as a process. The fixtures built on them are in
conftest.py."""

from __future__ import annotations

import copy
import gzip
import hashlib
import http.server
import io
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import yaml

from gan_pipeline.config.datasets import DATASETS
from gan_pipeline.data.datasets import content_digest, raw_layout
from gan_pipeline.data.download import CIFAR10_TEST_BATCH, CIFAR10_TRAIN_BATCHES
from gan_pipeline.data.prepare import prepare
from gan_pipeline.formats.files import save_npz
from gan_pipeline.verification.replay import OUTPUTS

REPO = Path(__file__).resolve().parents[1]


def real_params() -> dict:
    """The repository's params.yaml as a plain mapping."""
    return yaml.safe_load((REPO / "params.yaml").read_text())


def shrink(raw: dict, *, train_images: int | str = 64, iterations: int = 4,
           sample_interval: int = 2, batch_size: int = 8) -> dict:
    """The real config, shrunk: a few iterations on a small subset of the data."""
    raw = copy.deepcopy(raw)
    raw["prepare"]["train_images"] = train_images
    raw["train"].update(iterations=iterations, sample_interval=sample_interval,
                        batch_size=batch_size)
    # Lazy R1 (the comparison's recipe) must fall on an iteration of the shrunk run.
    raw["train"]["r1_interval"] = min(raw["train"]["r1_interval"], iterations)
    raw["classifier"].update(train_images=train_images, epochs=1, batch_size=batch_size)
    raw["evaluate"].update(samples=40, real_images=40, batch_size=16, score_splits=2)
    raw["train"]["eval_samples"] = 64
    return raw


def real_size(raw: dict, iterations: int, sample_interval: int) -> dict:
    """The real config at the real batch size (128) for a few iterations, on every prepared
    image: the scale at which the train step's ops run side by side."""
    return shrink(raw, train_images="all", iterations=iterations,
                  sample_interval=sample_interval, batch_size=128)


def synthetic_images(dataset: str = "mnist", n_train: int = 96, n_test: int = 32,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays in the layout Keras's loader gives ``dataset``: random pixels, labels 0-9."""
    rng = np.random.default_rng(seed)
    image = raw_layout(dataset)["x_train"][1][1:]
    x = rng.integers(0, 256, size=(n_train + n_test, *image), dtype=np.uint8)
    x[:, :4] = 0  # a black border, as MNIST digits have
    y = rng.integers(0, 10, size=n_train + n_test).astype(np.uint8)
    return {"x_train": x[:n_train], "y_train": y[:n_train],
            "x_test": x[n_train:], "y_test": y[n_train:]}


def idx_gz(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes, gzipped, as MNIST and Fashion-MNIST ship."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.tobytes(), mtime=0)


def cifar10_batch(x: np.ndarray, y: np.ndarray) -> bytes:
    """One pickled CIFAR-10 batch: rows of 1024 red, 1024 green, 1024 blue bytes."""
    return pickle.dumps({b"batch_label": b"synthetic", b"labels": [int(v) for v in y],
                         b"data": x.transpose(0, 3, 1, 2).reshape(len(x), -1),
                         b"filenames": [b"%d.png" % i for i in range(len(x))]})


def cifar10_tarball(batches: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in batches.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def cifar10_python(arrays: dict[str, np.ndarray]) -> bytes:
    """``arrays`` as CIFAR-10's python tarball: five training batches and a test batch."""
    batches = {name: cifar10_batch(x, y) for name, x, y in zip(
        CIFAR10_TRAIN_BATCHES, np.array_split(arrays["x_train"], 5),
        np.array_split(arrays["y_train"], 5))}
    batches[CIFAR10_TEST_BATCH] = cifar10_batch(arrays["x_test"], arrays["y_test"])
    return cifar10_tarball(batches)


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


def free_ports(n: int = 1) -> list[int]:
    """Ports on 127.0.0.1 that nothing listens on (all held open together while chosen)."""
    socks = [socket.socket() for _ in range(n)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


# The train stage's arguments, as dvc.yaml passes them (and make verify's replay),
# relative to its working folder.
TRAIN_ARGS = ["--data", "data/prepared/dataset.npz",
              *(arg for flag, path in OUTPUTS.items() for arg in (flag, path))]


def train_workdir(root: Path, raw_params: dict, data: Path | None = None) -> Path:
    """A folder with params.yaml and prepared data (a link to ``data``, else 64 synthetic
    images): what the train stage reads."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(raw_params))
    prepared = root / "data" / "prepared" / "dataset.npz"
    if data is None:
        save_npz(prepared, prepare(synthetic_images(), 64))
    else:
        prepared.parent.mkdir(parents=True, exist_ok=True)
        prepared.symlink_to(data)
    return root


def real_size_workdir(root: Path, data: Path, classifier: Path) -> Path:
    """100 iterations at batch 128 on data of MNIST's size, a grid and state digest every
    10, a checkpoint every 10, lazy R1 every 4, the quality measured every 50 with
    ``classifier`` (a copy: every workdir measures with the same bytes)."""
    raw = real_size(real_params(), iterations=100, sample_interval=10)
    raw["train"].update(r1_gamma=0.02, r1_interval=4, eval_interval=50, eval_samples=500)
    raw["runtime"]["train"]["checkpoint_interval"] = 10
    workdir = train_workdir(root, raw, data)
    (workdir / "models").mkdir(parents=True, exist_ok=True)
    shutil.copy2(classifier, workdir / "models" / "classifier.keras")
    return workdir


# What the train stage writes that two runs must share byte for byte (quality.csv holds
# training seconds: see measured()).
def train_outputs(sample_interval: int, iterations: int) -> list[str]:
    return ["models/generator.keras", "models/discriminator.keras", "reports/history.csv",
            "reports/state_digests.json", "reports/platform.json",
            *(f"reports/progress/iteration_{i:06d}.png"
              for i in range(sample_interval, iterations + 1, sample_interval))]


def output_digests(workdir: Path, outputs: list[str]) -> dict[str, str]:
    return {rel: hashlib.sha256((workdir / rel).read_bytes()).hexdigest() for rel in outputs}


def measured(workdir: Path) -> list[tuple]:
    """The quality rows without their training seconds, which no two runs share."""
    from gan_pipeline.formats import quality_rows

    return [(r.iteration, r.fid, r.classifier_score)
            for r in quality_rows.read_csv(workdir / "reports/quality.csv")]


class LineReader:
    """A child's merged output, read line by line on a thread: each wait for a line, and the
    rest of the output, has a deadline, so a silent or hung child fails the test, named."""

    def __init__(self, proc: subprocess.Popen):
        self.proc, self.lines = proc, []
        self._done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
        self._done.set()

    def wait_for(self, prefix: str, timeout_s: float) -> str:
        """The first line that starts with ``prefix``; AssertionError at the deadline."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if line.startswith(prefix)), None)
            if found is not None:
                return found
            if self._done.is_set():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line starting {prefix!r} in {timeout_s} s:\n"
                             f"{''.join(self.lines)}")

    def rest(self, timeout_s: float) -> str:
        """Everything it printed, once it has exited (within ``timeout_s``)."""
        self.proc.wait(timeout=timeout_s)
        self._done.wait(timeout=timeout_s)
        return "".join(self.lines)


def start_train_stage(workdir: Path, env: dict, cpus: str | None = None
                      ) -> subprocess.Popen:
    """The train stage as a real process in ``workdir`` (on the CPUs ``cpus`` only, through
    taskset), its output merged into stdout."""
    taskset = ["taskset", "-c", cpus] if cpus is not None else []
    return subprocess.Popen(
        [*taskset, sys.executable, "-u", str(REPO / "stages" / "train.py"), "--params",
         "params.yaml", *TRAIN_ARGS], cwd=workdir, env={**os.environ, **env}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def real_sources(dataset: str) -> dict:
    """The repository's data/sources/<dataset>.yaml as a plain mapping."""
    return yaml.safe_load((REPO / "data" / "sources" / f"{dataset}.yaml").read_text())


def write_sources(root: Path, sources: dict[str, dict]) -> None:
    """Each dataset's sources mapping as ``root``/data/sources/<dataset>.yaml."""
    for dataset, source in sources.items():
        path = root / "data" / "sources" / f"{dataset}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(source, sort_keys=False))


def short_timeouts(raw: dict) -> dict:
    """``raw`` with 2 s download timeouts, for mirrors on 127.0.0.1 that stall on purpose."""
    raw = copy.deepcopy(raw)
    raw["runtime"]["download"].update(connect_timeout_s=2, read_timeout_s=2)
    return raw


def url_mirror_sources(url: str, body: bytes, arrays: dict[str, np.ndarray]) -> dict:
    """MNIST's sources: a single mirror at ``url`` serving ``body`` (``arrays`` as .npz)."""
    return {"mirrors": [{"url": url, "sha256": sha256(body), "format": "keras_npz"}],
            "content_digest": content_digest(arrays)}


def serve_dataset(server: FileServer, dataset: str, arrays: dict[str, np.ndarray]) -> dict:
    """``dataset``'s sources: ``arrays`` served from ``server`` in the format of that
    dataset's canonical mirror."""
    if dataset == "mnist":
        body = npz_bytes(arrays)
        return url_mirror_sources(server.serve("/mnist.npz", body), body, arrays)
    source = real_sources(dataset)
    if dataset == "fashion_mnist":
        mirror = {"base_url": server.url("/fashion/")}
        for name, ref in source["mirrors"][0].items():
            if name != "base_url":
                body = idx_gz(arrays[name])
                server.serve(f"/fashion/{ref['file']}", body)
                mirror[name] = {"file": ref["file"], "sha256": sha256(body)}
    else:
        body = cifar10_python(arrays)
        mirror = {"url": server.serve("/cifar-10-python.tar.gz", body), "sha256": sha256(body),
                  "format": "cifar10_python"}
    source["mirrors"] = [mirror]
    return source


def serve_every_dataset(server: FileServer, n_train: int = 96, n_test: int = 32
                        ) -> dict[str, dict]:
    """Every dataset's sources, each a synthetic mirror on ``server``."""
    return {dataset: serve_dataset(server, dataset, synthetic_images(dataset, n_train, n_test))
            for dataset in DATASETS}
