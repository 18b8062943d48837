"""Comparing runs in MLflow: the UI in a real browser, and experiments that run side by
side into the one embedded store. A repo as in test_pipeline, after `dvc repro` and a
`dvc exp run --temp`, so that its store holds two runs of two names."""

from __future__ import annotations

import re
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from helpers import free_ports
from repo_helpers import pipeline_repo_copy, queue_processes, run, start_queue, stop_queue
from servers import chromium, start, stop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_runs(built_repo, tmp_path_factory):
    """(repo, output of its `dvc repro`) once `dvc exp run --temp -n t-iter2` has run too:
    it runs in a temporary copy, and its run must still land in the repo's store."""
    repo, output = pipeline_repo_copy(built_repo, tmp_path_factory.mktemp("ui") / "repo")
    run(["dvc", "exp", "run", "--temp", "-n", "t-iter2", "-S", "train.iterations=2"], repo)
    return repo, output


def _client(repo) -> MlflowClient:
    return MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")


def test_mlflow_ui_opens_the_link_track_prints_on_the_runs_and_their_fid(two_runs, tmp_path):
    """`mlflow ui` on the repo's store, in a real browser, at the link the track stage
    prints: the runs table (not the GenAI overview) lists every run by name with its fid."""
    repo, output = two_runs
    link = re.search(r"^track: compare the runs .*: (\S+)$", output, re.M).group(1)
    port = free_ports()[0]
    ui = start([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri",
                f"sqlite:///{repo / 'mlflow.db'}", "--host", "127.0.0.1", "--port", str(port)],
               f"http://127.0.0.1:{port}/health", tmp_path / "ui.log")
    try:
        dom = chromium(link.replace("127.0.0.1:5000", f"127.0.0.1:{port}"))
    finally:
        stop(ui)
    text = re.sub(r"\s*<[^>]+>\s*", "|", dom)
    assert "|Run Name|" in text and "|quality/fid|" in text, text[:3000]
    client = _client(repo)
    runs = client.search_runs([client.get_experiment_by_name("dcgan-mnist").experiment_id])
    assert len({r.info.run_name for r in runs}) == 2  # repro@<commit> and t-iter2
    for run_ in runs:
        # JavaScript prints a float as Python's repr does: the shortest exact digits.
        fid = run_.data.metrics["quality/fid"]
        assert f"|{run_.info.run_name}|" in text and f"|{fid!r}|" in text, run_.info.run_name
        assert len(repr(fid).partition(".")[2]) <= 4  # what a reader needs, not 16 digits


def test_a_temp_experiment_logs_to_the_repos_store(two_runs):
    repo, _ = two_runs
    client = _client(repo)
    [temp] = client.search_runs([client.get_experiment_by_name("dcgan-mnist").experiment_id],
                                "attributes.run_name = 't-iter2'")
    assert temp.data.params["train.iterations"] == "2" and len(temp.data.tags["data_sha256"]) == 64
    assert temp.data.metrics["quality/fid"] > 0


def test_parallel_queued_experiments_log_to_the_repos_store(two_runs, tmp_path):
    """`dvc queue start -j 2` runs two experiments at once, each in a temporary copy of the
    repo: both log to the repo's one SQLite store (DVC_ROOT), into an experiment that neither
    found, and register versions of the same model. No run is lost or fails, and the
    experiment exists once. Each runs the code it was queued with. Starting the queue
    returns at once, though its workers run on (captured into pipes it would not: they
    hold them open), and the workers are stopped by their pids whatever happens."""
    repo, _ = two_runs
    client = _client(repo)
    versions_before = len(client.search_model_versions("name='dcgan-mnist-generator'"))
    # Each queued experiment must run the code it was queued with (here with a marker line),
    # not what the workspace holds when the queue runs (here a line that fails).
    noise = repo / "src/gan_pipeline/training/noise.py"
    committed = noise.read_text()
    try:
        noise.write_text(committed + "print('noise.py as queued')\n")
        # Iterations no earlier run used (DVC's run cache would restore those), a metric
        # write every iteration, and a new MLflow experiment that both runs create at once.
        for name, iterations in [("q-iter8", "8"), ("q-iter10", "10")]:
            run(["dvc", "exp", "run", "--queue", "-n", name, "-S",
                 f"train.iterations={iterations}", "-S", "train.sample_interval=1",
                 "-S", "mlflow.experiment=parallel"], repo)
        noise.write_text(committed + "raise SystemExit('the workspace code ran')\n")
        start_queue(repo, 2, tmp_path / "queue.log")
        started = time.time()
        deadline = time.monotonic() + 600
        while re.search(r"\b(Queued|Running)\b", status := run(["dvc", "queue", "status"],
                                                                repo).stdout):
            assert time.monotonic() < deadline, status
            time.sleep(2)
    finally:
        noise.write_text(committed)
        stop_queue(repo)
    assert not queue_processes(repo)
    logs = {name: run(["dvc", "queue", "logs", name], repo, check=False).stdout
            for name in ("q-iter8", "q-iter10")}
    assert len(re.findall(r"\bSuccess\b", status)) == 2, status + "\n".join(logs.values())
    for log in logs.values():
        assert "noise.py as queued" in log

    [experiment] = client.search_experiments(filter_string="name = 'parallel'")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    assert sorted(r.info.run_name for r in runs) == ["q-iter10", "q-iter8"]
    for run_ in runs:
        # The queue had started (and the command returned) before either run was recorded.
        assert run_.info.start_time / 1000 > started
        iterations = int(run_.data.params["train.iterations"])
        assert run_.info.status == "FINISHED" and run_.data.tags["dvc_exp_name"]
        assert [m.step for m in client.get_metric_history(run_.info.run_id, "train/g_loss")
                ] == list(range(1, iterations + 1))
        assert run_.data.metrics["quality/fid"] > 0  # the track stage found the run, too
    versions = client.search_model_versions("name='dcgan-mnist-generator'")
    assert len(versions) == versions_before + 2
    assert {r.info.run_id for r in runs} <= {v.run_id for v in versions}
    assert not (repo / ".dvc" / "tmp" / "exps").exists() or not any(
        (repo / ".dvc" / "tmp" / "exps").rglob("mlflow.db"))
