"""What the track stage records on a run, on a real embedded (SQLite) store."""

from __future__ import annotations

import multiprocessing

from mlflow.tracking import MlflowClient

from gan_pipeline.tracking.run_record import dataset_input, log_dataset

WORKERS = 6
SUMMARY = {"dataset": "mnist", "source": "http://127.0.0.1/mnist.npz",
           "content_digest": "ab" * 32, "train_images": 96, "test_images": 32}


def _log_at_once(uri: str, run_id: str, barrier, errors) -> None:
    client = MlflowClient(uri)
    barrier.wait(timeout=120)  # every worker writes at once, as parallel queue workers can
    try:
        log_dataset(client, run_id, dataset_input(SUMMARY))
    except Exception as err:  # reported to the test, which names it
        errors.put(f"{type(err).__name__}: {err}")


def test_runs_logging_the_same_new_dataset_at_once_all_get_it(tmp_path):
    """MLflow's look-up-then-insert of a dataset races between processes: without the
    retry, some of these writers (often all but one) fail on the datasets table's unique
    key."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment_id = client.create_experiment("parallel")
    run_ids = [client.create_run(experiment_id).info.run_id for _ in range(WORKERS)]
    context = multiprocessing.get_context("fork")
    barrier, errors = context.Barrier(WORKERS), context.Queue()
    workers = [context.Process(target=_log_at_once, args=(uri, run_id, barrier, errors))
               for run_id in run_ids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    assert errors.empty(), errors.get()
    for run_id in run_ids:
        [logged] = client.get_run(run_id).inputs.dataset_inputs
        assert (logged.dataset.name, logged.dataset.digest) == ("mnist", "ab" * 8)
        assert [(tag.key, tag.value) for tag in logged.tags] == [
            ("mlflow.data.context", "training")]
