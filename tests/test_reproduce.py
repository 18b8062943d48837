"""`make reproduce`'s verdict: every output hash on the committed run's class, the headline
metrics within the measured seed spread on another."""

from __future__ import annotations

import json
import os

from helpers import REPO
from gan_pipeline.training.state_digests import StateDigest
from gan_pipeline.verification.replay import Prefix
from gan_pipeline.verification.report import Report, first_difference
from gan_pipeline.verification.reproduce import (KEPT, TOLERANCES, _keep_differing,
                                                  committed_cores, compare, pinned)


def _lock(platform: str, generator: str) -> dict:
    return {"stages": {"train": {"outs": [{"path": "reports/platform.json", "md5": platform},
                                          {"path": "models/generator.keras", "md5": generator}]}}}


METRICS = {"quality": {"fid": 7.15, "classifier_score": 8.2, "coverage": 0.72}}
TOLERANCES_ = json.loads((REPO / TOLERANCES).read_text())["metrics"]


def test_on_the_committed_class_every_hash_must_match():
    passed, lines = compare(_lock("a", "g"), _lock("a", "g"), METRICS, METRICS, TOLERANCES_)
    assert passed and "| `models/generator.keras` | identical |" in lines
    passed, lines = compare(_lock("a", "g"), _lock("a", "h"), METRICS, METRICS, TOLERANCES_)
    assert not passed and "| `models/generator.keras` | **DIFFERENT** |" in lines


def test_on_another_class_the_metrics_must_lie_within_the_seed_spread():
    """The tolerances are fractions of the committed values."""
    fid = 7.15 * TOLERANCES_["quality.fid"]
    close = {"quality": {"fid": 7.15 + 0.9 * fid, "classifier_score": 8.2, "coverage": 0.72}}
    assert compare(_lock("a", "g"), _lock("b", "h"), METRICS, close, TOLERANCES_)[0]
    far = {"quality": {**close["quality"], "fid": 7.15 + 1.1 * fid}}
    passed, lines = compare(_lock("a", "g"), _lock("b", "h"), METRICS, far, TOLERANCES_)
    assert not passed and any("quality.fid" in line and "**OUTSIDE**" in line
                              for line in lines)


def test_first_difference_names_where_two_runs_part():
    assert first_difference([1, 2, 3], [1, 2, 3], str) == (None, "3")
    assert first_difference([1, 2, 4], [1, 2, 3], str) == (2, "2")
    assert first_difference([1, 2], [1, 2, 3], str) == (2, "2")  # one run is shorter


def test_a_prefix_comparison_returns_the_earliest_iteration_where_they_part():
    def prefix(iterations, digest_of=lambda i: "d"):
        return Prefix(["iteration,d_loss", *(f"{i},0.5" for i in iterations)],
                      [StateDigest(i, digest_of(i)) for i in iterations], 0)

    report = Report()
    assert report.prefix("ours", "theirs", prefix([100, 200]), prefix([100, 200])) is None
    assert report.passed()
    # A row missing from ours: where they part is its iteration, not our next row's.
    assert report.prefix("ours", "theirs", prefix([100, 300]), prefix([100, 200, 300])) == 200
    assert report.prefix("ours", "theirs", prefix([100]), prefix([100, 200])) == 200
    # Equal rows, a digest differing from 200 on.
    other = prefix([100, 200, 300], lambda i: "d" if i < 200 else "e")
    assert report.prefix("ours", "theirs", other, prefix([100, 200, 300])) == 200
    assert not report.passed()
    headless = Prefix(["step,loss", "100,0.5"], [StateDigest(100, "d")], 0)
    assert report.prefix("ours", "theirs", headless, prefix([100])) == 0


def test_a_differing_output_is_kept_for_a_closer_look(tmp_path):
    clone, repo = tmp_path / "clone", tmp_path / "repo"
    (clone / "models").mkdir(parents=True)
    (clone / "models/generator.keras").write_bytes(b"reproduced")
    (repo / KEPT).mkdir(parents=True)
    (repo / KEPT / "stale.json").write_text("from an earlier reproduction")
    lines = _keep_differing(clone, repo, _lock("a", "g"), _lock("a", "h"))
    assert (repo / KEPT / "models/generator.keras").read_bytes() == b"reproduced"
    assert not (repo / KEPT / "stale.json").exists()
    assert "reports/reproduction/models/generator.keras" in lines[-1]
    assert _keep_differing(clone, repo, _lock("a", "g"), _lock("a", "g")) == []


def test_the_reproduction_runs_on_the_committed_runs_threads_and_cores():
    """dvc.lock's platform record is the committed AVX512-BF16 reference's: 2 cores."""
    import yaml
    assert committed_cores(REPO, yaml.safe_load((REPO / "dvc.lock").read_text())) == 2
    first = min(os.sched_getaffinity(0))
    taskset, env = pinned(1)
    assert env == {"TF_NUM_INTRAOP_THREADS": "1"}
    assert taskset == (["taskset", "-c", str(first)] if len(os.sched_getaffinity(0)) > 1
                       else [])
    assert pinned(len(os.sched_getaffinity(0)))[0] == []  # no more cores than it saw
    assert pinned(None) == ([], {})
