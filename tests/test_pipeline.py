"""End to end: real `dvc repro` in a fresh git repo, real MLflow on its SQLite store.

The config is the repository's params.yaml shrunk down (a few iterations on a small subset),
and every dataset comes from a local HTTP server as small files in its canonical format.
"""

from __future__ import annotations

import difflib
import json
import re

import mlflow
import numpy as np
import pytest
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from repo_helpers import pipeline_repo_copy, ran_stages, run
from gan_pipeline.tracking.run_record import METRIC_DECIMALS

pytestmark = pytest.mark.slow

LOG_LINE = re.compile(r"^(\d+) \[D loss: \d+\.\d{6}, acc\.: \d+\.\d{2}%\] \[G loss: \d+\.\d{6}\]$",
                      re.M)


@pytest.fixture(scope="module")
def pipeline(built_repo, tmp_path_factory):
    """A temporary repo after `dvc repro`: (path, stdout+stderr of the runs)."""
    return pipeline_repo_copy(built_repo, tmp_path_factory.mktemp("pipeline") / "repo")


def test_repro_produces_every_output(pipeline):
    repo, _ = pipeline
    for rel in ["data/raw/dataset.npz", "data/prepared/dataset.npz", "models/generator.keras",
                "models/discriminator.keras", "reports/samples.png", "reports/losses.png",
                "reports/accuracy.png", "reports/dataset.json", "models/classifier.keras",
                "reports/interpolation.png", "reports/progress.gif",
                "reports/classifier.json", "reports/metrics.json", "reports/platform.json"]:
        assert (repo / rel).is_file(), rel
    assert sorted(p.name for p in (repo / "reports/progress").iterdir()) == [
        "iteration_000002.png", "iteration_000004.png"]
    assert (repo / "reports/history.csv").read_text().splitlines()[0] == (
        "iteration,d_loss,d_acc,g_loss")
    prepared = np.load(repo / "data/prepared/dataset.npz")
    assert prepared["x_train"].shape == (64, 28, 28, 1)


def test_training_prints_the_books_log_line_and_a_progress_bar(pipeline):
    _, output = pipeline
    assert [int(m) for m in LOG_LINE.findall(output)] == [2, 4]
    # A slow host shows seconds per iteration (the first one traces the step).
    assert re.search(r"train: 100%\|.*\| 4/4 \[.*(it/s|s/it)\]", output)
    assert "download: using mirror 1: http://127.0.0.1" in output


def test_evaluate_writes_every_metric_and_is_deterministic(pipeline):
    repo, _ = pipeline
    first = (repo / "reports/metrics.json").read_bytes()
    results = json.loads(first)
    metric_names = ["fid", "classifier_score", "classifier_score_std", "class_kl",
                    "confident_share", "precision", "recall", "density", "coverage"]
    for section in ("quality", "real"):
        assert sorted(results[section]) == sorted(metric_names), section
        assert all(isinstance(v, float) for v in results[section].values()), section
    assert sum(results["share_of_class"].values()) == pytest.approx(1.0)
    assert sorted(results["share_of_class"]) == [str(d) for d in range(10)]
    assert results["samples"] == 40  # evaluate.samples of the shrunken config
    # The classifier is scored on the whole test split the server sent (32 images).
    assert json.loads((repo / "reports/classifier.json").read_text())["test_images"] == 32
    run(["dvc", "repro", "--force", "--single-item", "evaluate"], repo)
    assert (repo / "reports/metrics.json").read_bytes() == first


def test_forced_rerun_reproduces_every_output_byte_for_byte(pipeline):
    """Same params, same seed, same machine: identical weights, PNGs, CSVs and metrics."""
    repo, _ = pipeline
    before = (repo / "dvc.lock").read_text()
    run(["dvc", "repro", "--force"], repo)
    after = (repo / "dvc.lock").read_text()
    assert after == before, "".join(difflib.unified_diff(
        before.splitlines(True), after.splitlines(True), "before", "after"))


def test_second_repro_runs_only_track_which_changes_nothing(pipeline):
    repo, _ = pipeline
    store = _store_snapshot(repo)
    again = run(["dvc", "repro"], repo).stdout
    assert ran_stages(again) == ["track"]
    assert "track: already recorded" in again
    assert _store_snapshot(repo) == store
    # The default pipeline's stages only: the comparison (compare/dvc.yaml) has not run yet.
    status = run(["dvc", "status", "dvc.yaml"], repo).stdout
    assert "always changed" in status and "changed deps" not in status


def test_the_comparison_runs_only_when_asked_and_sets_every_run_side_by_side(pipeline):
    """compare/dvc.yaml: left out of the default `dvc repro` (the fixture's), then a run per
    compare.runs entry, each with the same budget (shrunk: it is spent by the first
    iteration, which is then measured), and one report of them all."""
    repo, output = pipeline
    assert "compare/dvc.yaml" not in output
    done = run(["dvc", "repro", "compare/dvc.yaml"], repo)
    assert "stopped at iteration 1: the 0.001-minute budget (train.max_minutes)" in (
        done.stdout + done.stderr)
    runs = ["gan", "dcgan", "dcgan_tf", "lapgan", "recipe"]
    for name in runs:
        metrics = json.loads((repo / f"reports/compare/{name}/metrics.json").read_text())
        assert metrics["train"]["iterations"] == 1 and metrics["quality"]["fid"] > 0
        assert (repo / f"reports/compare/{name}/quality.csv").read_text().splitlines()[
            1].startswith("1,")
    rows = (repo / "reports/compare.md").read_text().splitlines()
    assert [r.split("|")[1].strip() for r in rows[4:]] == [*runs, "real MNIST (train vs test)"]
    for png in ("compare.png", "compare_fid.png"):
        assert (repo / "reports" / png).read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads(run(["dvc", "metrics", "show", "--json"], repo).stdout)
    assert "reports/compare/recipe/metrics.json" in json.dumps(metrics)
    plots = json.loads(run(["dvc", "plots", "show", "--json"], repo).stdout)["data"]
    curves = plots["FID against training minutes, each run"][0]["content"]["data"]["values"]
    assert sorted(p["filename"] for p in curves) == sorted(
        f"{run}/quality.csv" for run in runs)  # one point each
    again = run(["dvc", "repro", "compare/dvc.yaml"], repo)
    assert "Running stage" not in again.stdout


def _store_snapshot(repo) -> tuple:
    """The runs, their metric values and tags, and the model versions of the repo's store."""
    client = MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("dcgan-mnist").experiment_id])
    versions = client.search_model_versions("name='dcgan-mnist-generator'")
    return (sorted((r.info.run_id, tuple(sorted(r.data.metrics.items())),
                    tuple(sorted(r.data.tags.items()))) for r in runs),
            sorted((v.version, tuple(sorted(v.tags.items()))) for v in versions))


def test_mlflow_run_holds_params_metrics_artifacts_and_a_registered_generator(pipeline):
    repo, _ = pipeline
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    client = MlflowClient()
    experiment = client.get_experiment_by_name("dcgan-mnist")
    # A run and a model version per generator: the forced rerun above trained the same bytes
    # again, and the track stage found the run that records them.
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    assert len(runs) == 1
    run_ = runs[0]
    assert run_.data.params["train.iterations"] == "4"
    assert run_.data.params["model.z_dim"] == "100"
    assert [m.step for m in client.get_metric_history(run_.info.run_id, "train/d_loss")
            ] == [2, 4]
    commit = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    assert run_.data.tags["mlflow.source.git.commit"] == commit
    # A plain `dvc repro` on a committed tree: named after the commit (the pipeline's own
    # outputs, which it rewrites, do not make it dirty).
    assert {r.info.run_name for r in runs} == {f"repro@{commit[:7]}"}
    artifacts = {a.path for a in client.list_artifacts(run_.info.run_id, "progress")}
    assert artifacts == {"progress/iteration_000002.png", "progress/iteration_000004.png"}
    plots = {a.path for a in client.list_artifacts(run_.info.run_id, "plots")}
    assert plots == {"plots/losses.png", "plots/accuracy.png", "plots/quality.png"}
    pictures = {a.path for a in client.list_artifacts(run_.info.run_id, "pictures")}
    assert pictures == {"pictures/samples.png", "pictures/interpolation.png",
                        "pictures/progress.gif"}
    # Metric sections, quality first; the real-data references are tags, not charts.
    assert {"quality/fid", "quality/classifier_score", "quality/coverage", "share_of_class/0",
            "train/g_loss"} <= set(run_.data.metrics)
    assert {m.split("/")[0] for m in run_.data.metrics} == {"quality", "share_of_class", "train"}
    results = json.loads((repo / "reports/metrics.json").read_text())
    assert float(run_.data.tags["real/fid"]) == results["real"]["fid"]
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    # The dataset is the run's input: name, content digest, the mirror that served it.
    [data_input] = run_.inputs.dataset_inputs
    summary = json.loads((repo / "reports/dataset.json").read_text())
    assert data_input.dataset.name == "mnist"
    assert summary["content_digest"].startswith(data_input.dataset.digest)
    assert json.loads(data_input.dataset.source) == {"url": summary["source"]}
    assert '"shape": [96, 28, 28]' in data_input.dataset.schema  # as served
    versions = client.search_model_versions("name='dcgan-mnist-generator'")
    assert sorted(v.run_id for v in versions) == sorted(r.info.run_id for r in runs)
    # The logged generators carry their quality: the model pages order them by fid.
    models = mlflow.search_logged_models(
        experiment_ids=[experiment.experiment_id], output_format="list",
        order_by=[{"field_name": "metrics.quality/fid", "ascending": True}])
    fids = [{m.key: m.value for m in model.metrics}["quality/fid"] for model in models]
    assert len(fids) == 1
    assert {model.source_run_id for model in models} == {r.info.run_id for r in runs}

    model = mlflow.pyfunc.load_model("models:/dcgan-mnist-generator/latest")
    images = model.predict(np.random.default_rng(0).standard_normal((3, 100)).astype(np.float32))
    assert images.shape == (3, 28, 28, 1)
    assert -1.0 <= images.min() and images.max() <= 1.0
    with pytest.raises(MlflowException, match=r"shape|\(n, 100\)"):  # the signature's or ours
        model.predict(np.zeros((2, 7), np.float32))


def test_dvc_experiments_metrics_and_plots(pipeline):
    """An experiment that also measures quality while training (kept on by the tests after
    it: every eval_interval of 2 divides their iterations)."""
    repo, _ = pipeline
    run(["dvc", "exp", "run", "-n", "short", "-S", "train.iterations=6",
         "-S", "train.eval_interval=2", "-S", "train.eval_samples=64"], repo)
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout)
    assert "short" in json.dumps(shown)
    metrics = json.loads(run(["dvc", "metrics", "show", "--json"], repo).stdout)[""]["data"]
    # The generator's quality only: the dataset's summary and the classifier's accuracy are
    # outputs, not metrics, so that `dvc exp show` does not open on them.
    assert "real" in metrics["reports/metrics.json"]["data"]
    assert not {"reports/dataset.json", "reports/classifier.json"} & set(metrics)
    diff = json.loads(run(["dvc", "metrics", "diff", "HEAD", "--json"], repo).stdout)
    assert "quality.fid" in diff["reports/metrics.json"]
    assert "fid" in json.dumps(shown)
    rows = (repo / "reports/history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["2", "4", "6"]
    plots = json.loads(run(["dvc", "plots", "show", "--json"], repo).stdout)["data"]
    # The CSVs also show by themselves: the train stage declares them as its plots. So does
    # the comparison (compare/dvc.yaml), which ran in an earlier test, and the CycleGAN
    # (translate/dvc.yaml), whose plots DVC lists before they exist.
    compared = {f"reports/compare/{run}/quality.csv"
                for run in ("gan", "dcgan", "dcgan_tf", "lapgan", "recipe")}
    translated = {"CycleGAN losses", "reports/translate/history.csv"}
    assert set(plots) == {"Training loss", "Discriminator accuracy", "FID while training",
                          "FID against training time", "reports/samples.png",
                          "reports/interpolation.png", "reports/losses.png",
                          "reports/accuracy.png", "reports/quality.png",
                          "reports/history.csv", "reports/quality.csv",
                          "FID against training minutes, each run", "reports/compare.png",
                          "reports/compare_fid.png", *compared, *translated}
    loss_points = plots["Training loss"][0]["content"]["data"]["values"]
    assert {(p["field"], p["iteration"]) for p in loss_points} == {
        (f, i) for f in ("d_loss", "g_loss") for i in ("2", "4", "6")}
    acc_points = plots["Discriminator accuracy"][0]["content"]["data"]["values"]
    assert [p["iteration"] for p in acc_points] == ["2", "4", "6"]
    assert all(0.0 <= float(p["d_acc"]) <= 1.0 for p in acc_points)
    fid_points = plots["FID while training"][0]["content"]["data"]["values"]
    assert [p["iteration"] for p in fid_points] == ["2", "4", "6"]
    assert all(float(p["fid"]) > 0 for p in fid_points)

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["dcgan-mnist"])
    assert sorted(runs["params.train.iterations"]) == ["4", "6"]  # a run per generator
    assert "short" in set(runs["tags.mlflow.runName"])
    assert "short" in set(runs["tags.dvc_exp_name"])
    [short] = runs[runs["tags.dvc_exp_name"] == "short"]["run_id"]
    assert [m.step for m in mlflow.MlflowClient().get_metric_history(short, "train/fid")] == [
        2, 4, 6]


def test_an_experiment_on_cifar10_needs_only_the_dataset_switch(pipeline):
    """`-S data.dataset=cifar10` alone: the download stage reads only CIFAR-10's sources
    file, every stage after it adapts to 32×32×3 images, and the generator goes to the
    dataset's own registered model."""
    repo, _ = pipeline
    run(["dvc", "exp", "run", "-n", "cifar", "-S", "data.dataset=cifar10"], repo)
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    assert [d["path"] for d in lock["download"]["deps"] if d["path"].startswith("data/")] == [
        "data/sources/cifar10.yaml"]
    assert np.load(repo / "data/prepared/dataset.npz")["x_train"].shape == (64, 32, 32, 3)
    assert json.loads((repo / "reports/dataset.json").read_text())["dataset"] == "cifar10"
    assert json.loads((repo / "reports/metrics.json").read_text())["quality"]["fid"] > 0
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    [cifar] = mlflow.search_runs(experiment_names=["dcgan-mnist"],
                                 filter_string="tags.mlflow.runName = 'cifar'",
                                 output_format="list")
    assert cifar.data.params["data.dataset"] == "cifar10"
    # Its own registered model: CIFAR-10 FIDs do not compare with MNIST ones.
    [version] = mlflow.MlflowClient().search_model_versions("name = 'dcgan-cifar10-generator'")
    assert version.run_id == cifar.info.run_id and version.tags["dataset"] == "cifar10"
    model = mlflow.pyfunc.load_model("models:/dcgan-cifar10-generator/1")
    assert model.predict(np.zeros((2, 100), np.float32)).shape == (2, 32, 32, 3)


def _train_outs(repo) -> dict[str, str]:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    return {out["path"]: out["md5"] for out in lock["train"]["outs"]}


def test_editing_tracking_or_plotting_code_leaves_training_up_to_date(pipeline):
    """The trained model depends only on what computes it: an edit to MLflow logging, to a
    figure only the plot stage draws, or to another stage's params schema makes only the
    stages that use that code out of date."""
    repo, _ = pipeline
    edits = {"src/gan_pipeline/tracking/store.py": {"track"},
             "src/gan_pipeline/figures/plots.py": {"plot", "compare/dvc.yaml:report"},
             "src/gan_pipeline/config/sample.py": {"sample", "compare/dvc.yaml:run@gan",
                                                   "compare/dvc.yaml:report"}}
    for path, stages in edits.items():
        source = repo / path
        before = source.read_text()
        source.write_text(before + "# an edit\n")
        try:
            status = json.loads(run(["dvc", "status", "--json"], repo).stdout)
        finally:
            source.write_text(before)
        stale = {stage for stage, changes in status.items()
                 if any(isinstance(c, dict) and path in c.get("changed deps", {})
                        for c in changes)}
        assert "train" not in stale and stale <= stages | {
            s for s in status if s.startswith(("compare/", "translate/"))}, (path, stale)
        assert stale & stages, (path, stale)


def test_params_already_run_are_restored_from_the_run_cache(pipeline):
    """Going back to params already tried restores every stage, train included, from DVC's
    run cache: no training, the same output hashes."""
    repo, _ = pipeline
    tried = yaml.safe_load((repo / "params.yaml").read_text())["train"]["iterations"]
    first = _train_outs(repo)  # what the last experiment (the tests before this one) ran
    run(["dvc", "exp", "run", "-S", "train.iterations=12"], repo)
    assert _train_outs(repo) != first
    again = run(["dvc", "exp", "run", "-S", f"train.iterations={tried}"], repo).stdout
    assert ran_stages(again) == ["track"], again
    assert "Stage 'train' is cached - skipping run, checking out outputs" in again
    assert _train_outs(repo) == first


def test_mlflow_follows_what_dvc_restores(pipeline):
    """Stages restored from DVC's run cache run nothing; the track stage still gives MLflow
    a complete record, and promote works after each case."""
    repo, _ = pipeline
    client = MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    # A comment-only edit to a train dep: train runs again and makes a byte-identical
    # generator, evaluate comes from the run cache, and the track stage finds the run that
    # already records that generator: no second run or version of the same bytes.
    run(["dvc", "exp", "run", "-S", "data.dataset=mnist", "-S", "train.iterations=4"], repo)
    experiment = client.get_experiment_by_name("dcgan-mnist").experiment_id
    runs_before = len(client.search_runs([experiment]))
    gan = repo / "src/gan_pipeline/training/gan.py"
    gan.write_text(gan.read_text() + "# a comment\n")
    done = run(["dvc", "repro"], repo).stdout
    assert "Running stage 'train'" in done
    assert "Running stage 'evaluate'" not in done  # same generator: cached or unchanged
    # The run of that generator (its record brought up to date if need be), not a new one.
    found = re.search(r"^track: (already recorded|recorded): MLflow run (\w+)", done, re.M)
    assert found, done
    assert len(client.search_runs([experiment])) == runs_before
    run_id = found.group(2)
    recorded = client.get_run(run_id)
    assert recorded.data.metrics["quality/fid"] > 0
    [version] = client.search_model_versions(f"run_id = '{run_id}'")
    assert round(float(version.tags["fid"]), METRIC_DECIMALS) == \
        recorded.data.metrics["quality/fid"]
    _promote(repo)
    commit = run(["git", "rev-parse", "--short", "HEAD"], repo).stdout.strip()

    # Outputs restored in a store that never saw them (a new store, as a fresh clone has
    # after `dvc pull`): the track stage makes the run and registers the generator.
    fresh = {"MLFLOW_TRACKING_URI": f"sqlite:///{repo / 'fresh.db'}"}
    done = run(["dvc", "repro", "--force", "--single-item", "track"], repo, env=fresh).stdout
    assert "recorded a new run of this generator" in done
    client = MlflowClient(fresh["MLFLOW_TRACKING_URI"])
    [restored] = client.search_runs([client.get_experiment_by_name("dcgan-mnist").experiment_id])
    assert restored.data.params["train.iterations"] == "4"
    assert [m.step for m in client.get_metric_history(restored.info.run_id, "train/g_loss")
            ] == [2, 4]
    assert restored.data.metrics["quality/fid"] > 0
    assert restored.info.run_name == f"repro@{commit}+dirty"
    [version] = client.search_model_versions("name='dcgan-mnist-generator'")
    assert version.run_id == restored.info.run_id and version.tags["fid"]
    _promote(repo, fresh)
    gan.write_text(gan.read_text().replace("# a comment\n", ""))


def _promote(repo, env: dict | None = None) -> None:
    done = run(["python", "stages/promote.py", "--params", "params.yaml", "--generator",
                "models/generator.keras"], repo, env=env).stdout
    assert "promote: " in done and "fid" in done


def test_lapgan_trains_registers_and_serves_through_the_same_stages(pipeline):
    """`-S model.arch=lapgan` alone: the pyramid trains, is measured and tracked by the
    default pipeline's stages, its run sits in `mlflow ui` beside the DCGAN's, and its
    registered generator maps noise to 28×28 images."""
    repo, _ = pipeline
    params = repo / "params.yaml"
    before = params.read_text()
    try:
        run(["dvc", "exp", "run", "-n", "lapgan", "-S", "model.arch=lapgan",
             "-S", "data.dataset=mnist"], repo)
    finally:
        params.write_text(before)  # the tests after this one start from the book's params
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    [lapgan] = mlflow.search_runs(experiment_names=["dcgan-mnist"],
                                  filter_string="tags.mlflow.runName = 'lapgan'",
                                  output_format="list")
    assert lapgan.data.params["model.arch"] == "lapgan"
    assert lapgan.data.metrics["quality/fid"] > 0
    [version] = mlflow.MlflowClient().search_model_versions(
        f"run_id = '{lapgan.info.run_id}'")
    model = mlflow.pyfunc.load_model(f"models:/{version.name}/{version.version}")
    assert model.predict(np.zeros((2, 100), np.float32)).shape == (2, 28, 28, 1)
