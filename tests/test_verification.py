"""`make verify` in a throw-away repo at a small size: the lock and the reference it records
pass; a pure rename in the train step passes, on the resumed replay alone, and `make
commit-unchanged` then makes the lock current; a changed constant of the step fails at the
first recorded iteration; a checkpoint that drops state fails after the resume only, and
the straight replay says so."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import real_params, shrink
from repo_helpers import git_commit_all, run
from gan_pipeline.verification.lock import stale_stages
from gan_pipeline.verification.references import (REFERENCES, ReferenceError, load,
                                                   prefix_params_sha256)
from gan_pipeline.verification.replay import prefix_params

pytestmark = pytest.mark.slow

# Long enough that the SIGTERM lands between the halfway checkpoint and the end (200
# iterations, seconds at this size).
ITERATIONS, SAMPLE_INTERVAL = 400, 100


@pytest.fixture(scope="module")
def repo(built_repo, tmp_path_factory):
    """A copy of the session's built repo whose params train longer, after `dvc repro
    train`, with no references yet (the committed ones were recorded for the real params)."""
    repo = tmp_path_factory.mktemp("verify") / "repo"
    shutil.copytree(built_repo[0], repo, symlinks=True)
    shutil.rmtree(repo / REFERENCES, ignore_errors=True)
    raw = shrink(real_params(), iterations=ITERATIONS, sample_interval=SAMPLE_INTERVAL)
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    git_commit_all(repo)
    run(["dvc", "repro", "train"], repo)
    return repo


def verify(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gan_pipeline.verification.verify",
                           "--iterations", str(ITERATIONS), "--timeout-s", "300", *args],
                          cwd=repo, capture_output=True, text=True, timeout=900)


def test_verify_records_a_reference_then_passes_against_it(repo):
    missing = verify(repo)
    assert missing.returncode == 1
    assert "no verification reference for this platform class" in missing.stderr + \
        missing.stdout and "make verify RECORD=1" in missing.stdout
    # CI's way: a class with no reference is checked against itself, and recorded.
    recorded = verify(repo, "--record-missing")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    report = (repo / "reports/verification.md").read_text()
    assert report.startswith("# Verification: passed")
    assert "No committed reference for this class" in report
    assert "the committed run's class" in report
    assert "the resumed replay against the straight replay: state digests | ok" in report
    assert "the straight replay against the committed run: history | ok" in report
    [path] = (repo / REFERENCES).glob("*.json")
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    reference = load(path, prefix_params_sha256(raw))
    assert [d.iteration for d in reference.state_digests] == [100, 200, 300, 400]
    assert set(reference.outputs) == {"data/raw/dataset.npz", "data/prepared/dataset.npz",
                                      "models/classifier.keras", "reports/classifier.json",
                                      "reports/dataset.json"}
    # A reference of other params is refused in one line.
    other = prefix_params(raw, ITERATIONS)
    other["train"]["seed"] = 1
    with pytest.raises(ReferenceError, match="recorded for other params"):
        load(path, prefix_params_sha256(other))
    path.write_text("{not json")
    broken = verify(repo)
    assert broken.returncode == 1 and "not a verification reference" in broken.stdout
    # Threads 0 and no core count: the replay cannot pin them, and says so.
    unresolved = json.loads(reference.to_json())
    del unresolved["platform"]["cores"]
    path.write_text(json.dumps(unresolved))
    refused = verify(repo)
    assert refused.returncode == 1, refused.stdout
    assert re.search(r"recorded with intra_op_threads 0 .* no core count, so the replay "
                     r"cannot pin its threads \(this host would run \d+\)", refused.stdout)
    path.write_text(reference.to_json())


def _edit(repo: Path, old: str, new: str, module: str = "gan.py") -> str:
    path = repo / "src/gan_pipeline/training" / module
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return text


def verify_edited(repo: Path, module: str, old: str, new: str,
                  *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """`make verify` of the tree with one edit of a training module, undone after: the
    result and its report."""
    before = _edit(repo, old, new, module)
    try:
        result = verify(repo, *args)
    finally:
        (repo / "src/gan_pipeline/training" / module).write_text(before)
    return result, (repo / "reports/verification.md").read_text()


def test_a_rename_replays_bit_for_bit_and_commit_unchanged_makes_the_lock_current(repo):
    before = _edit(repo, "_logs", "_iteration_logs")
    try:
        strict = verify(repo)
        assert strict.returncode == 1 and "dvc.lock is stale" in strict.stdout
        assert "train: src/gan_pipeline/training/gan.py modified" in strict.stdout
        proved = verify(repo, "--stale-ok")
        assert proved.returncode == 0, proved.stdout + proved.stderr
        # Matching the reference, the resumed replay proves the prefix and the resume: the
        # straight one does not run.
        report = (repo / "reports/verification.md").read_text()
        assert "the resumed replay against the reference: state digests | ok" in report
        assert "the resumed replay against the committed run: history | ok" in report
        assert "replay, resumed" in report and "replay, straight" not in report
        run([sys.executable, "-m", "gan_pipeline.verification.commit_unchanged", "train"],
            repo)
        assert not stale_stages(repo, str(Path(sys.executable).parent / "dvc"))
    finally:
        (repo / "src/gan_pipeline/training/gan.py").write_text(before)
        run([sys.executable, "-m", "gan_pipeline.verification.commit_unchanged", "train"],
            repo)


def test_a_changed_constant_fails_at_the_first_recorded_iteration(repo):
    edit = ("gan.py", "self.real_target = 1.0 - label_smoothing",
            "self.real_target = 0.99 - label_smoothing")
    changed, report = verify_edited(repo, *edit, "--stale-ok")
    assert changed.returncode == 1
    assert report.startswith("# Verification: FAILED")
    assert f"matched up to iteration 0; first differing iteration {SAMPLE_INTERVAL}" in report
    assert f"first difference: `{SAMPLE_INTERVAL}," in report
    # The rebuilt cheap stages do not use gan.py: they still match.
    assert "DIFFERENT" not in report
    # The straight replay differs too: the bits changed, not only the resume.
    assert f"The resumed replay (stopped after iteration {ITERATIONS // 2}) differs at " \
        f"iteration {SAMPLE_INTERVAL}; the straight replay differs too, at iteration " \
        f"{SAMPLE_INTERVAL}: the bits changed, resumed or not." in report
    # Recording, the straight replay runs first; differing, it spares the resumed one and
    # records nothing.
    reference = next((repo / REFERENCES).glob("*.json")).read_text()
    recording, recorded = verify_edited(repo, *edit, "--stale-ok", "--record")
    assert recording.returncode == 1
    assert "not recording a reference: a comparison failed" in recorded
    assert "The resumed replay did not run" in recorded and "replay, resumed" not in recorded
    assert next((repo / REFERENCES).glob("*.json")).read_text() == reference
    # The mismatch names the bits class it was found in.
    assert re.search(rf"first differing iteration {SAMPLE_INTERVAL} \(bits class \S+-"
                     rf"\d+threads-[0-9a-f]{{8}}\)", report)


def test_a_checkpoint_that_drops_state_fails_after_the_resume_and_the_straight_replay_says_so(
        repo):
    # The noise generator's state left out of the checkpoint: a resumed run draws other noise.
    broken, report = verify_edited(repo, "checkpoints.py",
                                   "seed_state=gan.seed_generator.state.value, ", "",
                                   "--stale-ok")
    assert broken.returncode == 1
    assert report.startswith("# Verification: FAILED")
    # The SIGTERM lands a few iterations after the halfway checkpoint: the first digest
    # after the stop differs.
    half = ITERATIONS // 2
    found = re.search(rf"The resumed replay \(stopped after iteration {half}\) differs at "
                      rf"iteration (\d+); the straight replay matches: the fault is in "
                      rf"resuming\.", report)
    assert found and int(found[1]) > half and int(found[1]) % SAMPLE_INTERVAL == 0, report
    assert "the straight replay against the reference: state digests | ok" in report
