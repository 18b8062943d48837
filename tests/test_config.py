"""params.yaml (and compare/params.yaml) is validated once, before any work, with errors
that name the key."""

import copy

import pydantic
import pytest
import yaml

from helpers import REPO, real_params
from gan_pipeline.config.compare import load_compare
from gan_pipeline.config.download import DownloadParams
from gan_pipeline.config.params import load_params, parse_params, run_params
from gan_pipeline.config.sample import SampleParams
from gan_pipeline.config.schema import ConfigError, validate
from gan_pipeline.config.train import TrainParams, trajectory


def test_config_is_frozen():
    params = parse_params(real_params())
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        params.train.iterations = 1


def _with(path: str, value):
    raw = copy.deepcopy(real_params())
    *parents, leaf = path.split(".")
    node = raw
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[leaf] = value
    return raw


GE_0 = "input should be greater than or equal to 0"
GE_1 = "input should be greater than or equal to 1"


@pytest.mark.parametrize("path, value, message", [
    ("train.iterations", 0, f"train.iterations: {GE_1}, got 0"),
    ("train.iterations", "many", "train.iterations: input should be a valid integer"),
    ("train.iterations", 2.5, "train.iterations: input should be a valid integer"),
    ("train.iterations", True, "train.iterations: input should be a valid integer"),
    ("train.batch_size", 0, f"train.batch_size: {GE_1}"),
    ("train.batch_size", 60001, "train.batch_size: must be <= prepare.train_images (60000)"),
    ("train.sample_interval", 0, f"train.sample_interval: {GE_1}"),
    ("train.sample_interval", 20001, "train.sample_interval: must be <= train.iterations"),
    ("train.seed", -1, f"train.seed: {GE_0}"),
    ("train.eval_interval", 300,
     "train.eval_interval: must divide train.iterations (20000), so that the run ends measured"),
    ("train.eval_interval", 40000, "train.eval_interval: must divide train.iterations (20000)"),
    ("train.eval_interval", 0, f"train.eval_interval: {GE_1}"),
    ("train.r1_gamma", -1.0, f"train.r1_gamma: {GE_0}"),
    ("train.r1_interval", 0, f"train.r1_interval: {GE_1}"),
    ("train.eval_samples", 1, "train.eval_samples: input should be greater than or equal to 2"),
    ("runtime.train.jit_compile", "yes",
     "runtime.train.jit_compile: input should be a valid boolean"),
    ("runtime.train.precision", "fp8",
     "runtime.train.precision: input should be 'auto', 'float32', "),
    ("runtime.train.checkpoint_interval", 0, f"runtime.train.checkpoint_interval: {GE_1}"),
    ("runtime.train.strategy", "ring", "runtime.train.strategy: input should be 'default', "),
    ("train.adam.learning_rate", 0, "train.adam.learning_rate: input should be greater than 0"),
    ("train.adam.beta_1", 1.0, "train.adam.beta_1: input should be less than 1"),
    ("train.adam.beta_2", -0.1, f"train.adam.beta_2: {GE_0}"),
    ("train.adam.epsilon", "tiny", "train.adam.epsilon: must be a number, got 'tiny'"),
    ("train.progress_grid.rows", 0, f"train.progress_grid.rows: {GE_1}"),
    ("sample.interpolation.cols", 0, f"sample.interpolation.cols: {GE_1}"),
    ("model.z_dim", 0, f"model.z_dim: {GE_1}"),
    ("model.leaky_relu_alpha.dcgan", 1.5,
     "model.leaky_relu_alpha.dcgan: input should be less than 1"),
    ("train.label_smoothing", 0.5, "train.label_smoothing: input should be less than 0.5"),
    ("train.max_minutes", 0, "train.max_minutes: input should be greater than 0"),
    ("train.adam.discriminator_learning_rate", -1e-4,
     "train.adam.discriminator_learning_rate: input should be greater than 0"),
    ("prepare.train_images", 0, "prepare.train_images: must be an integer >= 1 or all"),
    ("prepare.train_images", "most", "prepare.train_images: must be an integer >= 1 or all"),
    ("prepare.train_images", 70000,
     "prepare.train_images: must be <= the 60000 training images of mnist"),
    ("classifier.train_images", 60001, "classifier.train_images: must be <= the 60000"),
    ("classifier.batch_size", 60001, "classifier.batch_size: must be <= classifier.train_"),
    ("data.dataset", "svhn",
     "data.dataset: input should be 'mnist', 'fashion_mnist' or 'cifar10', got 'svhn'"),
    ("model.generator_start", 0, "model.generator_start: must be an integer >= 1 or auto"),
    ("model.generator_start", "big", "model.generator_start: must be an integer >= 1 or auto"),
    ("model.generator_start", 4, "model.generator_start: must be mnist's image side 28 divided"),
    ("model.generator_start", 14, "model.generator_start: must be mnist's image side 28"),
    ("model.generator_start", 56, "model.generator_start: must be mnist's image side 28"),
    ("model.dcgan_start_channels", 0, f"model.dcgan_start_channels: {GE_1}"),
    ("mlflow.registered_model", "gan-{data}",
     "mlflow.registered_model: may hold no placeholder but {dataset}"),
    ("sample.seed", -3, f"sample.seed: {GE_0}"),
    ("runtime.download.connect_timeout_s", 0,
     "runtime.download.connect_timeout_s: input should be greater than 0"),
    ("mlflow.champion_fid_margin", -1, f"mlflow.champion_fid_margin: {GE_0}"),
    ("evaluate.score_splits", 10001, "evaluate.score_splits: must be <= evaluate.samples"),
    ("mlflow.registered_model", " ", "mlflow.registered_model: must not be empty"),
])
def test_each_bad_value_is_refused_naming_its_key(path, value, message):
    with pytest.raises(ConfigError) as err:
        parse_params(_with(path, value))
    assert message in str(err.value)


def test_the_first_maps_channels_are_refused_with_another_architecture():
    raw = _with("model.dcgan_start_channels", 128)
    assert parse_params(raw).model.dcgan_start_channels == 128
    raw["model"]["arch"] = "mlp"
    with pytest.raises(ConfigError, match=r"model.dcgan_start_channels: applies to model.arch "
                                          r"dcgan only \(model.arch is mlp\), got 128"):
        parse_params(raw)


def test_lazy_r1_must_fall_on_an_iteration_of_the_run():
    raw = _with("train.r1_gamma", 0.0025)
    raw["train"].update(iterations=100, sample_interval=100, eval_interval=None,
                        r1_interval=101)
    with pytest.raises(ConfigError, match=r"train.r1_interval: must be <= train.iterations "
                                          r"\(100\), or no iteration carries the R1"):
        parse_params(raw)
    raw["train"]["r1_interval"] = 100
    assert parse_params(raw).train.r1_interval == 100


def test_the_trajectory_leaves_out_what_changes_no_iteration():
    """A checkpoint resumes, and a verification reference holds, across a longer run,
    another checkpoint interval or another eval_interval; not across another seed. R1's
    interval counts only with R1 on."""
    model, book = {"arch": "dcgan"}, {"seed": 42, "iterations": 20000, "eval_interval": None,
                                      "checkpoint_interval": 500, "r1_gamma": 0.0,
                                      "r1_interval": 16}
    same = {**book, "iterations": 100, "eval_interval": 50, "checkpoint_interval": 10,
            "r1_interval": 8}
    assert trajectory(model, same) == trajectory(model, book) == {
        "model": model, "train": {"seed": 42, "r1_gamma": 0.0}}
    assert trajectory(model, {**book, "seed": 43}) != trajectory(model, book)
    with_r1 = {**book, "r1_gamma": 0.02}
    assert trajectory(model, {**with_r1, "r1_interval": 8}) != trajectory(model, with_r1)


def test_a_wall_clock_budget_needs_one_process():
    raw = _with("train.max_minutes", 10)
    raw["runtime"]["train"]["strategy"] = "multi_worker"
    with pytest.raises(ConfigError, match="train.max_minutes: needs one process"):
        parse_params(raw)
    with pytest.raises(ConfigError, match="train.max_minutes: needs one process"):
        validate(TrainParams, raw)


COMPARE = REPO / "compare/params.yaml"


def test_a_multi_worker_config_compares_in_one_process():
    params = parse_params(_with("runtime.train.strategy", "multi_worker"))
    assert run_params(params, load_compare(COMPARE), "recipe").runtime.train.strategy == (
        "default")


def test_a_comparison_run_is_params_yaml_with_its_changes_and_the_shared_budget():
    params, compare = load_params(REPO / "params.yaml"), load_compare(COMPARE)
    recipe = run_params(params, compare, "recipe")
    changes = compare.runs["recipe"]
    assert recipe.train.max_minutes == compare.minutes
    assert recipe.train.adam.learning_rate == changes["train.adam.learning_rate"]
    assert recipe.model == params.model and recipe.evaluate == params.evaluate
    book = run_params(params, compare, "dcgan")
    assert book.train.model_copy(update={"max_minutes": None, "eval_interval": None}) == (
        params.train)
    for name in compare.runs:  # every run of the committed comparison is valid
        run_params(params, compare, name)


@pytest.mark.parametrize("key, value, message", [
    ("minutes", "long", "minutes: must be a number, got 'long'"),
    ("eval_interval", 0, f"eval_interval: {GE_1}"),
    ("runs.recipe", {"train.adam.beta_1": 1.5},
     "runs.recipe: train.adam.beta_1: input should be less than 1, got 1.5"),
    ("runs.recipe", {"train.learning_rate": 0.1},
     "runs.recipe.train.learning_rate: not a key of params.yaml that holds a value"),
    ("runs.recipe", {"train.adam": 0.1},
     "runs.recipe.train.adam: not a key of params.yaml that holds a value"),
])
def test_each_bad_comparison_value_is_refused_naming_its_key(tmp_path, key, value, message):
    raw = yaml.safe_load(COMPARE.read_text())
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node[part]
    node[leaf] = value
    path = tmp_path / "compare.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        compare = load_compare(path)
        for name in compare.runs:
            run_params(load_params(REPO / "params.yaml"), compare, name)
    assert message in str(err.value)


def test_unknown_key_is_refused():
    raw = real_params()
    raw["train"]["iterationz"] = 10
    with pytest.raises(ConfigError, match=r"train\.iterationz: unknown key"):
        parse_params(raw)


def test_missing_key_is_refused():
    raw = real_params()
    del raw["model"]["z_dim"]
    with pytest.raises(ConfigError, match=r"model\.z_dim: missing key"):
        parse_params(raw)


def test_every_problem_is_told_on_its_own_line():
    raw = _with("train.iterations", 0)
    raw["model"]["z_dim"] = "large"
    with pytest.raises(ConfigError) as err:
        parse_params(raw)
    assert str(err.value).splitlines() == [
        "model.z_dim: input should be a valid integer, got 'large'",
        f"train.iterations: {GE_1}, got 0"]


def test_floats_as_dvc_exp_run_writes_them_are_numbers():
    """`dvc exp run -S train.adam.epsilon=1e-8` writes 1e-08, a string to PyYAML."""
    assert parse_params(_with("train.adam.epsilon", "1e-08")).train.adam.epsilon == 1e-8


@pytest.mark.parametrize("dataset", ["fashion_mnist", "cifar10"])
def test_switching_the_dataset_alone_gives_a_valid_config(dataset):
    """`dvc exp run -S data.dataset=...` needs no other change: image counts default to all,
    the generator's first map to a quarter of the image side, the registered model to one
    of the dataset's own."""
    params = parse_params(_with("data.dataset", dataset))
    assert params.data.spec.train_images == (50000 if dataset == "cifar10" else 60000)
    assert params.prepare.train_images == "all" and params.model.generator_start == "auto"
    assert params.mlflow.model_name(dataset) == f"dcgan-{dataset}-generator"


def test_cifar10_limits_follow_its_smaller_training_set():
    raw = _with("data.dataset", "cifar10")
    raw["prepare"]["train_images"] = 60000
    with pytest.raises(ConfigError, match="prepare.train_images: must be <= the 50000 "
                                          "training images of cifar10, got 60000"):
        parse_params(raw)
    raw["prepare"]["train_images"] = 50000
    raw["model"]["generator_start"] = 4  # 4 -> 8 -> 16 -> 32: a third doubling
    assert parse_params(raw).model.generator_start == 4


def test_unreadable_params_file_is_a_config_error(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)
    with pytest.raises(ConfigError, match="absent.yaml: file not found"):
        load_params(tmp_path / "absent.yaml")


def test_each_stage_validates_the_sections_it_reads_and_only_those():
    """A stage depends on the schema of what it reads, not on the rest: the train stage
    takes a params file whose sample section is bad, which the sample stage refuses."""
    raw = _with("sample.grid.rows", 0)
    assert validate(TrainParams, raw).train.iterations == 20000
    with pytest.raises(ConfigError, match=r"^sample\.grid\.rows: input should be greater"):
        validate(SampleParams, raw)
    # Its own sections' checks, cross-section ones included, still apply.
    with pytest.raises(ConfigError, match=r"^train\.batch_size: must be <= prepare"):
        validate(TrainParams, _with("prepare.train_images", 64))


@pytest.mark.parametrize("change, message, models", [
    (lambda raw: raw.update(trian={}), r"^trian: unknown section \(params.yaml has data, ",
     (TrainParams, SampleParams)),
    (lambda raw: raw.pop("sample"), r"^sample: missing section", (TrainParams, SampleParams)),
    # The runtime section's groups, by every stage that has one.
    (lambda raw: raw["runtime"].update(trian={}),
     r"^runtime\.trian: unknown group \(runtime has download, train\)",
     (TrainParams, DownloadParams)),
    (lambda raw: raw["runtime"].pop("download"), r"^runtime\.download: missing group",
     (TrainParams, DownloadParams)),
])
def test_every_stage_still_checks_the_files_sections(change, message, models):
    raw = copy.deepcopy(real_params())
    change(raw)
    for model in models:
        with pytest.raises(ConfigError, match=message):
            validate(model, raw)
