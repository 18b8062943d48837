"""Quality while training (train.eval_interval): the rows, their CSV, their checkpoint, and a
probe that reads the generator without changing the training."""

import numpy as np
import pytest

from helpers import real_params, shrink, synthetic_images
from gan_pipeline.config.params import parse_params
from gan_pipeline.data.prepare import prepare
from gan_pipeline.errors import InputError
from gan_pipeline.evaluation.classifier import build_classifier
from gan_pipeline.evaluation.probe import QualityProbe
from gan_pipeline.formats import quality_rows
from gan_pipeline.formats.history import HistoryRow
from gan_pipeline.formats.quality_rows import QualityRow
from gan_pipeline.training.checkpoints import Checkpoints, Record
from gan_pipeline.training.loop import build_gan, train
from gan_pipeline.training.runtime import configure_runtime
from gan_pipeline.training.state_digests import StateDigest

ROWS = [QualityRow(2, 1.25, 310.5, 1.5), QualityRow(4, 2.5, 250.25, 2.0)]


def test_quality_csv_round_trips_and_is_a_header_without_rows(tmp_path):
    path = tmp_path / "quality.csv"
    path.write_text(quality_rows.to_csv(ROWS))
    assert quality_rows.read_csv(path) == ROWS
    path.write_text(quality_rows.to_csv([]))
    assert path.read_text() == "iteration,seconds,fid,classifier_score\n"
    assert quality_rows.read_csv(path) == []
    path.write_text("iteration,d_loss\n1,2\n")
    with pytest.raises(InputError, match="columns must be"):
        quality_rows.read_csv(path)


def _run(params, data, probe=None):
    called = []
    result = train(params.model, params.train, params.runtime.train, data["x_train"],
                   make_probe=None if probe is None else lambda: probe,
                   on_quality=lambda record: called.append(list(record.quality)))
    # on_quality is called with the record after each measurement.
    assert called == [result.record.quality[:n] for n in range(1, len(called) + 1)]
    return result.generator.get_weights(), result.record.quality


def test_measuring_leaves_the_training_unchanged_and_scores_every_interval():
    raw = shrink(real_params(), iterations=6, sample_interval=2)
    raw["train"].update(eval_interval=3, eval_samples=20)
    raw["runtime"]["train"]["precision"] = "float32"
    params = parse_params(raw)
    data = prepare(synthetic_images(n_test=24), 64)
    probe = QualityProbe(build_classifier((28, 28, 1)), data["x_test"], 20,
                         params.model.z_dim, params.train.seed)
    plain, no_rows = _run(params, data)
    measured, rows = _run(params, data, probe)
    assert no_rows == [] and [r.iteration for r in rows] == [3, 6]
    assert all(np.array_equal(a, b) for a, b in zip(plain, measured))
    assert all(r.fid > 0 and 1 <= r.classifier_score <= 10 for r in rows)
    assert 0 < rows[0].seconds < rows[1].seconds
    # The same generator scores the same: the probe's noise and reference are fixed.
    generator = build_gan(params.model, params.train, (28, 28, 1)).generator
    assert probe(generator) == probe(generator)


def test_a_spent_budget_stops_the_run_measured_and_cut_short_not_changed():
    """train.max_minutes: the run stops after the iteration that spends the budget (here the
    first), measures it although it is off the eval_interval, and holds the weights that
    a run of that many iterations holds."""
    raw = shrink(real_params(), iterations=6, sample_interval=2)
    raw["train"].update(eval_interval=3, eval_samples=20, max_minutes=1e-6)
    raw["runtime"]["train"]["precision"] = "float32"
    params = parse_params(raw)
    data = prepare(synthetic_images(n_test=24), 64)
    probe = QualityProbe(build_classifier((28, 28, 1)), data["x_test"], 20,
                         params.model.z_dim, params.train.seed)
    budgeted, rows = _run(params, data, probe)
    assert [r.iteration for r in rows] == [1]
    one = params.train.model_copy(update={"iterations": 1, "sample_interval": 1,
                                          "max_minutes": None, "eval_interval": None})
    cut, _ = _run(params.model_copy(update={"train": one}), data)
    assert all(np.array_equal(a, b) for a, b in zip(budgeted, cut))


def test_a_checkpoint_keeps_the_quality_rows_and_the_training_time(tmp_path):
    params = parse_params(shrink(real_params()))
    configure_runtime(params.runtime.train)
    gan = build_gan(params.model, params.train, (28, 28, 1))
    record = Record([HistoryRow(2, 0.5, 0.75, 1.5)], [np.zeros((4, 28, 28, 1), np.float32)],
                    [StateDigest(2, "ab" * 32)], ROWS, 42.5)
    Checkpoints(tmp_path, gan, "fingerprint").save(4, record)
    restored = Checkpoints(tmp_path, gan, "fingerprint").restore()
    assert restored.iteration == 4
    assert (restored.record.history, restored.record.digests, restored.record.quality,
            restored.record.seconds) == (record.history, record.digests, ROWS, 42.5)
