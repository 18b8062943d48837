"""The comparison's table and per-run metrics (compare/dvc.yaml runs it end to end in
test_pipeline), and its stage's refusal of a run that params.yaml does not define."""

import subprocess
import sys

from helpers import REPO
from gan_pipeline.compare import RunResult, run_metrics, table
from gan_pipeline.config.compare import load_compare
from gan_pipeline.config.params import load_params, run_params
from gan_pipeline.formats.quality_rows import QualityRow

EVALUATION = {"quality": {"fid": 12.345, "classifier_score": 8.5, "coverage": 0.61},
              "real": {"fid": 0.9, "classifier_score": 9.71, "coverage": 0.95},
              "samples": 10000}


def test_a_runs_metrics_hold_how_long_it_trained_from_its_last_measurement():
    rows = [QualityRow(100, 59.0, 200.0, 2.0), QualityRow(153, 90.0, 150.0, 3.0)]
    metrics = run_metrics(EVALUATION, rows)
    assert metrics["train"] == {"iterations": 153, "minutes": 1.5}
    assert metrics["quality"] == EVALUATION["quality"]


def test_the_table_has_a_row_per_run_with_its_changes_then_real_images():
    metrics = run_metrics(EVALUATION, [QualityRow(600, 600.0, 12.3, 8.5)])
    md = table([RunResult("dcgan", {}, metrics),
                RunResult("recipe", {"train.r1_gamma": 0.0025}, metrics)], 10, "MNIST")
    lines = md.splitlines()
    assert lines[0].startswith("Each run trains for 10 minutes of wall time")
    assert "10000 samples against the MNIST test set" in lines[0]
    assert lines[4] == ("| dcgan | params.yaml as it is | 600 | 10.0 | 12.35 | 8.50 | "
                        "0.610 |")
    assert lines[5].startswith("| recipe | `train.r1_gamma=0.0025` | 600 |")
    assert lines[6] == "| real MNIST (train vs test) | | | | 0.90 | 9.71 | 0.950 |"


def test_a_run_that_params_does_not_define_is_refused_before_any_work(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "stages/compare_run.py"), "--params",
         str(REPO / "params.yaml"), "--compare", str(REPO / "compare/params.yaml"), "--run",
         "wgan", "--data", "absent.npz",
         "--classifier", "absent.keras", "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "--run wgan: not a run of " in done.stderr
    assert "compare/params.yaml (gan, dcgan, dcgan_tf, lapgan, recipe)" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_readme_runs_the_recipe_of_the_comparison():
    """The README's `dvc exp run -n recipe` line sets exactly the comparison's recipe, with the
    comparison's budget and measuring, so that its numbers are the comparison's."""
    [line] = [line for line in (REPO / "README.md").read_text().splitlines()
              if line.startswith("dvc exp run -n recipe ")]
    words = line.split("#")[0].split()
    assigned = dict(words[i + 1].split("=") for i, w in enumerate(words) if w == "-S")
    params = load_params(REPO / "params.yaml")
    compare = load_compare(REPO / "compare/params.yaml")
    recipe = run_params(params, compare, "recipe")
    expected = {**compare.runs["recipe"], "train.max_minutes": compare.minutes,
                "train.eval_interval": compare.eval_interval}
    assert set(assigned) == set(expected)
    for key, value in assigned.items():
        section, *rest = key.split(".")
        node = getattr(recipe, section)
        for part in rest:
            node = getattr(node, part)
        assert float(value) == node == float(expected[key]), key
