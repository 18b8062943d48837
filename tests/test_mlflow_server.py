"""MLflow for a team: a real `mlflow server`, the registry's lineage and champion alias, and
the generator served over HTTP by `mlflow models serve`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from mlflow.tracking import MlflowClient

from helpers import (TRAIN_ARGS, REPO, free_ports, real_params, shrink, synthetic_images,
                     train_workdir)
from gan_pipeline.data.datasets import content_digest, summary
from gan_pipeline.formats.files import save_npz, write_json
from gan_pipeline.tracking.registry import CHAMPION, promote
from gan_pipeline.tracking.run_record import METRIC_DECIMALS
from servers import start, stop

pytestmark = pytest.mark.slow
MODEL = "dcgan-mnist-generator"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real tracking server on 127.0.0.1 with a SQLite backend and served artifacts."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_ports()[0]
    uri = f"http://127.0.0.1:{port}"
    proc = start([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port",
                  str(port), "--backend-store-uri", f"sqlite:///{root / 'backend.db'}",
                  "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
                 f"{uri}/health", root / "server.log")
    yield uri
    stop(proc)


def _stage(name: str, workdir: Path, uri: str, *args: str) -> subprocess.CompletedProcess:
    params = [] if name == "plot" else ["--params", "params.yaml"]  # plot reads no params
    return subprocess.run([sys.executable, str(REPO / "stages" / f"{name}.py"), *params, *args],
                          cwd=workdir, capture_output=True, text=True,
                          env={**os.environ, "MLFLOW_TRACKING_URI": uri}, timeout=600)


TRACK_ARGS = ["--generator", "models/generator.keras", "--history", "reports/history.csv",
              "--quality", "reports/quality.csv", "--progress-dir", "reports/progress",
              "--platform", "reports/platform.json", "--state-digests",
              "reports/state_digests.json", "--dataset", "reports/dataset.json", "--metrics",
              "reports/metrics.json", "--plots", "reports/losses.png", "reports/accuracy.png",
              "reports/quality.png", "--pictures", "reports/progress/iteration_000004.png"]
EVALUATE_ARGS = ["--generator", "models/generator.keras", "--classifier",
                 "models/classifier.keras", "--raw", "data/raw/dataset.npz", "--metrics",
                 "reports/metrics.json"]


def run_pipeline_stages(work: Path, uri: str) -> str:
    """train, train_classifier, evaluate, plot and track, as dvc.yaml runs them, against
    the tracking server ``uri``: the id of the run that track recorded."""
    arrays = synthetic_images()
    save_npz(work / "data/raw/dataset.npz", arrays)
    write_json(work / "reports/dataset.json",
               summary("mnist", arrays, content_digest(arrays), "https://example.org/mnist.npz"))
    for name, args in [("train", TRAIN_ARGS),
                       ("train_classifier", ["--raw", "data/raw/dataset.npz", "--model",
                                             "models/classifier.keras", "--metrics",
                                             "reports/classifier.json"]),
                       ("evaluate", EVALUATE_ARGS),
                       ("plot", ["--history", "reports/history.csv", "--losses",
                                 "reports/losses.png", "--accuracy", "reports/accuracy.png",
                                 "--quality", "reports/quality.csv", "--quality-png",
                                 "reports/quality.png", "--progress-dir", "reports/progress",
                                 "--gif", "reports/progress.gif"]),
                       ("track", TRACK_ARGS)]:
        done = _stage(name, work, uri, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    client = MlflowClient(uri)
    [run] = client.search_runs([client.get_experiment_by_name("dcgan-mnist").experiment_id])
    return run.info.run_id


@pytest.fixture(scope="module")
def trained(server, tmp_path_factory):
    """The stages run against the server: (workdir, run id)."""
    work = train_workdir(tmp_path_factory.mktemp("work"), shrink(real_params()))
    return work, run_pipeline_stages(work, server)


def test_the_server_holds_params_metric_history_artifacts_and_a_version(server, trained):
    _, run_id = trained
    client = MlflowClient(server)
    run = client.get_run(run_id)
    assert run.data.params["train.iterations"] == "4"
    assert [m.step for m in client.get_metric_history(run_id, "train/g_loss")] == [2, 4]
    assert {"quality/fid", "quality/coverage", "share_of_class/9"} <= set(run.data.metrics)
    assert "real/fid" in run.data.tags
    [data_input] = run.inputs.dataset_inputs
    assert data_input.dataset.name == "mnist"
    assert {a.path for a in client.list_artifacts(run_id, "progress")} == {
        "progress/iteration_000002.png", "progress/iteration_000004.png"}
    assert {a.path for a in client.list_artifacts(run_id, "plots")} == {
        "plots/losses.png", "plots/accuracy.png", "plots/quality.png"}
    [version] = client.search_model_versions(f"name = '{MODEL}'")
    assert version.run_id == run_id
    # Lineage and evaluation on the version itself.
    assert version.tags["run_id"] == run_id and version.tags["dataset"] == "mnist"
    assert len(version.tags["data_sha256"]) == 64 and len(version.tags["params_sha256"]) == 64
    assert round(float(version.tags["fid"]), METRIC_DECIMALS) == run.data.metrics["quality/fid"]
    assert {"classifier_score", "coverage"} <= set(version.tags)


def test_promote_names_the_first_champion_which_then_loads(server, trained):
    work, _ = trained
    done = _stage("promote", work, server, "--generator", "models/generator.keras")
    assert done.returncode == 0, done.stderr
    assert "promoted: version 1 (fid" in done.stdout and "first champion" in done.stdout
    again = _stage("promote", work, server, "--generator", "models/generator.keras")
    assert "not promoted: version 1 is already the champion" in again.stdout
    mlflow.set_tracking_uri(server)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@{CHAMPION}")
    assert model.predict(np.zeros((2, 100), np.float32)).shape == (2, 28, 28, 1)


def test_an_unreachable_server_fails_the_track_stage_at_once_naming_it(trained):
    """Training logs nothing, so it needs no server; the track stage does, and says so."""
    work, _ = trained
    uri = f"http://127.0.0.1:{free_ports()[0]}"
    started = time.monotonic()
    done = _stage("track", work, uri, *TRACK_ARGS)
    assert done.returncode == 1
    assert f"MLflow tracking server {uri} does not answer" in done.stderr
    assert time.monotonic() - started < 60


def test_the_champion_is_served_over_http(server, trained, tmp_path):
    port = free_ports()[0]
    proc = start(["mlflow", "models", "serve", "-m", f"models:/{MODEL}@{CHAMPION}",
                  "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)],
                 f"http://127.0.0.1:{port}/ping", tmp_path / "serve.log",
                 env={"MLFLOW_TRACKING_URI": server,
                      "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    try:
        url = f"http://127.0.0.1:{port}/invocations"
        z = np.random.default_rng(0).standard_normal((16, 100)).round(4).tolist()
        ok = requests.post(url, json={"inputs": z}, timeout=60)
        assert ok.status_code == 200, ok.text
        images = np.array(ok.json()["predictions"])
        assert images.shape == (16, 28, 28, 1) and -1 <= images.min() and images.max() <= 1
        pixels = np.array(requests.post(url, json={"inputs": z[:2], "params": {
            "scale": "uint8"}}, timeout=60).json()["predictions"])
        assert pixels.shape == (2, 28, 28, 1) and 0 <= pixels.min() and pixels.max() <= 255
        np.testing.assert_allclose(pixels, np.rint((images[:2] + 1) * 127.5), atol=1)
        for bad in ({"inputs": [[0.0] * 7]},  # wrong width
                    {"inputs": [["a"] * 100]},  # not numbers
                    {"inputs": []},  # empty batch
                    {"inputs": z[:1], "params": {"scale": "percent"}},
                    {"no_inputs": 1}):
            response = requests.post(url, json=bad, timeout=60)
            assert 400 <= response.status_code < 500, (bad, response.status_code, response.text)
            assert response.json()["message"]
        assert requests.post(url, data="{not json", timeout=60,
                             headers={"Content-Type": "application/json"}).status_code == 400
    finally:
        stop(proc)


def _postgres_bin(tool: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}")) or (
        [Path(p)] if (p := shutil.which(tool)) else [])
    assert found, f"{tool} not found: install Debian's postgresql package (.ci/run does)"
    return str(found[-1])


@pytest.fixture
def postgres():
    """A throw-away PostgreSQL cluster on 127.0.0.1: its SQLAlchemy URI."""
    # Not under pytest's tmp_path: as root, initdb must run as the package's postgres user,
    # who cannot enter root's private folders.
    root = Path(tempfile.mkdtemp(prefix="mlflow-pg-"))
    data = root / "data"
    data.mkdir()
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_owner:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    tmp_path = root
    port = free_ports()[0]
    subprocess.run([*as_owner, _postgres_bin("initdb"), "-D", str(data), "-U", "mlflow",
                    "--auth=trust"], check=True, capture_output=True, timeout=120)
    # pg_ctl leaves the server running: its output goes to a file, never to a pipe that
    # the server would hold open.
    with open(tmp_path / "pg_ctl.log", "w") as log:
        subprocess.run([*as_owner, _postgres_bin("pg_ctl"), "-D", str(data), "-l",
                        str(tmp_path / "pg.log"), "-w", "-o",
                        f"-p {port} -k {tmp_path} -c listen_addresses=127.0.0.1", "start"],
                       check=True, stdout=log, stderr=subprocess.STDOUT, timeout=120)
    try:
        subprocess.run([_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                        "mlflow", "mlflow"], check=True, capture_output=True, timeout=60)
        yield f"postgresql+psycopg2://mlflow@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run([*as_owner, _postgres_bin("pg_ctl"), "-D", str(data), "-m", "fast",
                        "stop"], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def test_a_server_on_postgresql_tracks_a_training_run(postgres, tmp_path):
    """What teams run in production: the same stages against a PostgreSQL backend store."""
    port = free_ports()[0]
    uri = f"http://127.0.0.1:{port}"
    proc = start([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port",
                  str(port), "--backend-store-uri", postgres, "--artifacts-destination",
                  str(tmp_path / "artifacts"), "--workers", "1"],
                 f"{uri}/health", tmp_path / "server.log")
    try:
        run_id = run_pipeline_stages(train_workdir(tmp_path / "work", shrink(real_params())),
                                     uri)
        client = MlflowClient(uri)
        assert [m.step for m in client.get_metric_history(run_id, "train/d_loss")] == [2, 4]
        assert client.search_model_versions(f"name = '{MODEL}'")[0].run_id == run_id
    finally:
        stop(proc)


def test_promotion_needs_a_better_fid_by_the_margin(tmp_path):
    """The registry rules on a real SQLite-backed registry, with versions of known FID."""
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'registry.db'}")
    client = MlflowClient()
    client.create_registered_model("g")
    for fid, dataset in ((50.0, "mnist"), (49.5, "mnist"), (40.0, "mnist"), (5.0, "cifar10")):
        version = client.create_model_version("g", "file:///nowhere", run_id=None).version
        client.set_model_version_tag("g", version, "fid", str(fid))
        client.set_model_version_tag("g", version, "dataset", dataset)
    assert promote(client, "g", "1", fid_margin=1.0).promoted
    kept = promote(client, "g", "2", fid_margin=1.0)
    assert not kept.promoted and "champion stays" in kept.reason
    assert promote(client, "g", "3", fid_margin=1.0).promoted
    assert str(client.get_model_version_by_alias("g", CHAMPION).version) == "3"
    assert "already the champion" in promote(client, "g", "3", fid_margin=1.0).reason
    other = promote(client, "g", "4", fid_margin=1.0)  # a far lower FID, on another dataset
    assert not other.promoted and "trained on cifar10 but champion version 3 on mnist" in (
        other.reason)
    client.create_model_version("g", "file:///nowhere")
    with pytest.raises(ValueError, match="has no fid tag: run the evaluate stage"):
        promote(client, "g", "5", fid_margin=1.0)
