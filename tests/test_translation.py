"""translate/: CycleGAN between MNIST digits (A) and restyled digits (B): the domains, the
params, the step, and the pipeline end to end in a real DVC repo with a real MLflow store."""

import json
import os
import subprocess
import sys

import keras
import mlflow
import mlflow.pyfunc
import numpy as np
import pytest
import yaml
from mlflow.tracking import MlflowClient

from helpers import REPO
from repo_helpers import pipeline_repo_copy, run
from gan_pipeline.config.schema import ConfigError, read_yaml, validate
from gan_pipeline.config.translate import TranslateParams, load_translate
from gan_pipeline.translation.cyclegan import CycleGAN
from gan_pipeline.translation.domains import make_domains, restyle, shared_images, unstyle

RAW = read_yaml(REPO / "translate/params.yaml")
PARAMS = validate(TranslateParams, RAW)


def _tiny(raw=RAW, **train):
    raw = json.loads(json.dumps(raw))
    raw["nets"].update(width=4, residual_blocks=1)
    raw["train"].update(batch_size=4, iterations=2, max_minutes=None, log_interval=1, **train)
    return raw


def _mnist_like(n, seed=0):
    rng = np.random.default_rng(seed)
    images = np.where(rng.random((n, 28, 28, 1)) < 0.2, 1.0, -1.0).astype(np.float32)
    return images, rng.integers(0, 10, n).astype(np.uint8)


def test_the_two_halves_share_no_image_even_where_mnist_repeats_one():
    x_train, y_train = _mnist_like(40)
    x_train[25], x_train[33] = x_train[3], x_train[10]  # the second half repeats A's images
    x_test, y_test = _mnist_like(10, seed=1)
    domains = make_domains({"x_train": x_train, "y_train": y_train, "x_test": x_test,
                            "y_test": y_test}, PARAMS.domains)
    assert len(domains["a_train"]) == 20 and len(domains["b_train"]) == 18
    assert shared_images(domains["a_train"], x_train[domains["b_index"]]) == 0
    assert shared_images(domains["a_train"], x_train[20:]) == 2  # what was dropped
    np.testing.assert_array_equal(domains["b_train"], restyle(x_train[domains["b_index"]],
                                                              PARAMS.domains))
    assert not set(domains["a_index"]) & set(domains["b_index"])


def test_b_is_a_with_thick_strokes_on_white():
    digit = np.full((1, 28, 28, 1), -1.0, np.float32)
    digit[0, 10, 10] = 1.0
    b = restyle(digit, PARAMS.domains)
    assert b[0, 9:12, 9:12].max() == b[0, 9:12, 9:12].min() == -1.0  # a 3×3 black blot
    assert (b == 1.0).sum() == 28 * 28 - 9  # on white
    np.testing.assert_array_equal(unstyle(b, PARAMS.domains), -b)


@pytest.mark.parametrize("key, value, message", [
    (("train", "lambda_cycle"), -1, "train.lambda_cycle: input should be greater than or "
                                    "equal to 0, got -1"),
    (("domains", "dilation"), 0, None),
    (("nets", "width"), "wide", "nets.width: input should be a valid integer"),
    (("train", "cycle_weight"), 10, "train.cycle_weight: unknown key"),
])
def test_a_bad_param_is_refused_naming_its_key(tmp_path, key, value, message):
    raw = json.loads(json.dumps(RAW))
    raw[key[0]][key[1]] = value
    if key == ("domains", "dilation"):
        raw["domains"]["invert"] = False
        message = "domains.dilation: with domains.invert false, 0 makes B the same as A, got 0"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=f"^{path}: " + message.replace("(", r"\(")):
        load_translate(path)
    # A stage says so in one line, before any work.
    done = subprocess.run([sys.executable, str(REPO / "stages/translate_domains.py"),
                           "--translate", str(path), "--data", "absent.npz", "--out",
                           str(tmp_path / "domains.npz")], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert done.returncode == 1 and done.stderr.startswith(f"error: {path}: "), done.stderr
    assert not (tmp_path / "domains.npz").exists()


def test_one_iteration_trains_all_four_nets_and_a_seed_repeats_it():
    cfg = validate(TranslateParams, _tiny())
    keras.mixed_precision.set_global_policy("float32")
    images = _mnist_like(16)[0]

    def trained(seed):
        model = CycleGAN(cfg.nets, cfg.train.model_copy(update={"seed": seed}), (28, 28, 1))
        nets = (model.g, model.f, model.d_a, model.d_b)
        before = [[w.copy() for w in net.get_weights()] for net in nets]
        logs = model.compiled()(images, restyle(images, cfg.domains))
        assert all(np.isfinite(float(v)) for v in logs.values())
        assert float(logs["identity"]) == 0.0  # lambda_identity 0: not computed
        for net, old in zip(nets, before):
            assert any(not np.array_equal(a, b) for a, b in zip(old, net.get_weights()))
        return np.concatenate([w.ravel() for w in model.g.get_weights()])

    np.testing.assert_array_equal(trained(1), trained(1))
    assert not np.array_equal(trained(1), trained(2))


@pytest.mark.slow
def test_the_pipeline_trains_evaluates_and_registers_the_cyclegan(built_repo, tmp_path):
    repo, _ = pipeline_repo_copy(built_repo, tmp_path / "repo")  # its params are tiny too
    tiny = yaml.safe_load((repo / "translate/params.yaml").read_text())
    tiny["train"]["lambda_identity"] = 0.5
    (repo / "translate/params.yaml").write_text(yaml.safe_dump(tiny))
    done = run(["dvc", "repro", "translate/dvc.yaml"], repo)
    output = done.stdout + done.stderr
    assert "no image in both (checked pixel for pixel)" in output
    assert "translate: train: 2 iterations" in output
    metrics = json.loads((repo / "reports/translate/metrics.json").read_text())
    assert metrics["train"]["iterations"] == 2
    assert sorted(metrics["translation"]) == sorted([
        "pixel_error", "labels_kept_a_to_b", "labels_kept_b_to_a", "classifier_accuracy_a",
        "classifier_accuracy_b", "cycle_error_a", "cycle_error_b", "fid_a_to_b",
        "fid_b_to_a"])
    assert (repo / "reports/translate/translations.png").read_bytes()[:4] == b"\x89PNG"
    assert (repo / "reports/translate/history.csv").read_text().splitlines()[0] == (
        "iteration,seconds,adversarial,cycle,identity,d_a,d_b")
    client = MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(tiny["mlflow"]["experiment"])
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].data.params["train.lambda_cycle"] == "10.0"
    assert runs[0].data.metrics["pixel_error"] == pytest.approx(
        metrics["translation"]["pixel_error"])
    version = client.get_latest_versions(tiny["mlflow"]["registered_model"])[0]
    assert version.tags["run_id"] == runs[0].info.run_id
    # The registered generator translates images, as `mlflow models serve` would.
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model(f"models:/{tiny['mlflow']['registered_model']}/"
                                     f"{version.version}")
    translated = model.predict(np.zeros((2, 28, 28, 1), np.float32))
    assert translated.shape == (2, 28, 28, 1) and np.abs(translated).max() <= 1
    again = run(["dvc", "repro", "translate/dvc.yaml"], repo)
    assert "already recorded" in again.stdout and "translate: train" not in again.stdout
    assert len(client.search_runs([experiment.experiment_id])) == 1
