"""`make verify`: tie the committed trained artifacts to the code, within CI's budget.

1. The locks are current: no locked stage's code, params or command changed.
2. The cheap stages (download, prepare, train_classifier) are rebuilt from nothing in a copy
   of the tree, and their outputs hashed.
3. The train stage replays the committed params' first ``--iterations``, stopped by SIGTERM
   halfway and resumed; it must end in the reference's state (a straight run's), which
   proves the prefix and the resume at the cost of one replay. Recording, the straight
   replay runs first and the resumed one must end in its state. The replays, and the
   classifier's training, run on the intra-op thread count of the reference they are
   compared with (it decides the bits), whatever the host's cores.
4. Each result is compared with the committed reference of this host's bits class and, on
   the committed run's class, with dvc.lock and the committed history and state digests.

Writes a Markdown report (also printed). ``--record`` writes this class's reference;
``--record-missing`` (CI's) writes it only for a class that has none, which is then checked
against itself only: the rebuild and the two replays, not the history of any other host.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gan_pipeline.errors import InputError
from gan_pipeline.formats.files import json_bytes, write_text
from gan_pipeline.platform_record import describe
from gan_pipeline.verification import references
from gan_pipeline.verification.lock import describe_stale, lock_outs, stale_stages
from gan_pipeline.verification.replay import (Prefix, ReplayError, committed_prefix,
                                               pinned_threads, replay)
from gan_pipeline.verification.report import Check, Report
from gan_pipeline.verification.tree_copy import copy_tree, venv_env

CHEAP_STAGES = ("download", "prepare", "train_classifier")


@dataclass(frozen=True)
class Plan:
    """What this run of `make verify` checks against, decided before any work."""
    here: dict[str, Any]  # this host's platform record
    cpu: str
    reference: references.Reference | None  # of this host's bits class
    threads: int  # the intra-op threads the replays pin: the reference's, else this host's
    on_committed: bool  # this host is of the committed run's bits class
    record: bool


def check_inputs(repo: Path, raw: dict, lock: dict, iterations: int, record: bool,
                 record_missing: bool, report: Report) -> Plan:
    """The params can be replayed, every reference is usable, and this host's bits class
    has one (or may record it): refused in one line otherwise."""
    train = raw["train"]
    if train.get("max_minutes") is not None:
        raise InputError("train.max_minutes is set: a budgeted run's bytes depend on the "
                         "host's speed, so its prefix cannot be replayed")
    if iterations < train["sample_interval"] or iterations % train["sample_interval"]:
        raise InputError(f"--iterations {iterations}: must be a multiple of "
                         f"train.sample_interval ({train['sample_interval']})")
    runtime = raw["runtime"]["train"]
    host = describe(_precision(runtime["precision"]), runtime["intra_op_threads"],
                    runtime["inter_op_threads"])
    here, cpu = host["class"], host["cpu"].get("model_name", "?")
    params_sha = references.prefix_params_sha256(raw)
    # Every committed reference must be usable: one recorded for other params is stale.
    refs = [references.load(path, params_sha) for path in references.all_references(repo)]
    ours = references.bits_class(here)
    same = [r for r in refs if references.without_threads(references.bits_class(r.platform))
            == references.without_threads(ours)]
    # Of this host's class, the reference of its own thread count if there is one.
    same.sort(key=lambda r: references.bits_class(r.platform)["intra_op_threads"]
              != ours["intra_op_threads"])
    reference = same[0] if same else None
    threads = references.bits_class(reference.platform)["intra_op_threads"] if reference \
        else ours["intra_op_threads"]
    if threads is None:
        raise InputError(f"{references.path_for(Path('.'), reference.platform)} was recorded "
                         f"with intra_op_threads 0 (TensorFlow's choice) and no core count, "
                         f"so the replay cannot pin its threads (this host would run "
                         f"{ours['intra_op_threads']}): record it again with `make verify "
                         f"RECORD=1` on a host of its class")
    committed_md5 = lock_outs(lock, ["train"]).get("reports/platform.json")
    committed = [r.platform for r in refs if _md5(r.platform) == committed_md5]
    on_committed = _md5(here) == committed_md5 or any(
        references.without_threads(references.bits_class(c)) ==
        references.without_threads(ours) for c in committed)
    report.platform(here, cpu, references.bits_id({**ours, "intra_op_threads": threads}),
                    threads, on_committed)
    report.references(sorted(p.stem for p in references.all_references(repo)))
    path = references.path_for(Path("."), here)
    if reference is None and record_missing:
        record = True
        report.lines.append(
            f"- **No committed reference for this class**: this run records one ({path}); "
            f"commit it from a host of this class. Until then this class is checked against "
            f"itself only.")
    if reference is None and not record:
        raise InputError(f"no verification reference for this platform class "
                         f"({references.bits_id(ours)}): record one on this host with "
                         f"`make verify RECORD=1` and commit {path}")
    if reference is not None and reference.iterations != iterations:
        raise InputError(f"{references.path_for(Path('.'), reference.platform)} holds a "
                         f"prefix of {reference.iterations} iterations, not {iterations}: "
                         f"verify with VERIFY_ITERATIONS={reference.iterations}, or record "
                         f"again")
    return Plan(here, cpu, reference, threads, on_committed, record)


def rebuild_cheap_stages(copy: Path, lock: dict, plan: Plan, timeout_s: float,
                         report: Report) -> dict[str, str]:
    """The cheap stages from nothing in ``copy``: their outputs' md5, compared."""
    t = time.monotonic()
    print(f"verify: rebuilding {', '.join(CHEAP_STAGES)} from nothing", flush=True)
    # The classifier trains in TensorFlow too: on the reference's threads.
    subprocess.run(["dvc", "repro", "--force", "--single-item", *CHEAP_STAGES],
                   cwd=copy, check=True, timeout=timeout_s,
                   env=venv_env(**pinned_threads(plan.threads)))
    report.wall("cheap stages", time.monotonic() - t)
    rebuilt = lock_outs(yaml.safe_load((copy / "dvc.lock").read_text()), CHEAP_STAGES)
    committed = lock_outs(lock, CHEAP_STAGES)
    for path, md5 in rebuilt.items():
        report.output(path, md5, committed.get(path) if plan.on_committed else None,
                      plan.reference.outputs.get(path) if plan.reference else None)
    return rebuilt


def replay_and_compare(repo: Path, copy: Path, raw: dict, iterations: int, plan: Plan,
                       timeout_s: float, report: Report) -> Prefix | None:
    """Replay the train stage's first ``iterations`` and compare; the straight replay, which a
    reference keeps, when ``plan.record``.

    Recording: the straight replay against what there is to compare with, then, if that
    matched, the resumed one against it. Otherwise one replay is enough where it matches:
    the one stopped by SIGTERM halfway and resumed, against this class's reference (and the
    committed run), which a straight run recorded. Its equal bits prove both that the prefix
    reproduces and that resuming is exact. The straight replay runs only when the resumed one
    differs, to tell a fault of resuming from changed bits."""
    half = iterations // 2

    def run_replay(name: str, interrupt_at: int | None) -> Prefix:
        how = f"stopped by SIGTERM after iteration {half}, resumed" if interrupt_at else name
        print(f"verify: replaying the first {iterations} iterations ({how}, on "
              f"{plan.threads} intra-op threads)", flush=True)
        prefix = replay(copy, copy.parent / name, raw, iterations,
                        copy / "data/prepared/dataset.npz", copy / "models/classifier.keras",
                        plan.threads, interrupt_at, timeout_s)
        report.wall(f"replay, {name}", prefix.seconds)
        return prefix

    # What each replay is compared with, read once: this class's reference and, on the
    # committed run's class, the committed run.
    targets = []
    if plan.reference is not None:
        targets.append(("the reference", Prefix(plan.reference.history,
                                                plan.reference.state_digests, 0)))
    if plan.on_committed:
        targets.append(("the committed run", committed_prefix(repo, iterations)))

    def compare(name: str, ours: Prefix) -> int | None:
        """``ours`` against each target: the first iteration at which any differs, or None."""
        firsts = [report.prefix(name, target, ours, theirs) for target, theirs in targets]
        return min((f for f in firsts if f is not None), default=None)

    if plan.record:
        straight = run_replay("straight", None)
        compare("the straight replay", straight)
        if not report.passed():
            # The verdict is already FAILED: spare CI the second replay.
            report.lines.append("- The resumed replay did not run: a comparison above "
                                "already failed.")
            return straight
        resumed = run_replay("resumed", half)
        report.prefix("the resumed replay", "the straight replay", resumed, straight)
        return straight
    try:
        resumed = run_replay("resumed", half)
    except ReplayError as err:
        report.checks.append(Check("the resumed replay", False, str(err)))
        resumed = None
    first = None if resumed is None else compare("the resumed replay", resumed)
    if resumed is not None and first is None:
        return None
    # Even rows before the stop pass through the checkpoint, so only a straight replay
    # tells a fault of resuming from changed bits.
    straight_first = compare("the straight replay", run_replay("straight", None))
    report.lines.append(
        f"- The resumed replay (stopped after iteration {half}) "
        + (f"differs at iteration {first}" if resumed else "did not finish") + "; the "
        + ("straight replay matches: the fault is in resuming." if straight_first is None
           else f"straight replay differs too, at iteration {straight_first}: the bits "
                f"changed, resumed or not."))
    return None


def record_reference(repo: Path, raw: dict, iterations: int, plan: Plan,
                     rebuilt: dict[str, str], straight: Prefix, report: Report) -> None:
    if not report.passed():
        raise InputError("not recording a reference: a comparison failed (see the report)")
    path = references.path_for(repo, plan.here)
    references.save(path, references.Reference(
        plan.here, references.prefix_params_sha256(raw), iterations, rebuilt,
        straight.history, straight.state_digests, plan.cpu))
    report.ran(f"recorded {path.relative_to(repo)}")


def verify(repo: Path, iterations: int, record: bool, timeout_s: float, report: Report,
           stale_ok: bool = False, record_missing: bool = False) -> None:
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    plan = check_inputs(repo, raw, lock, iterations, record, record_missing, report)
    check_lock(repo, stale_ok, report)
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        copy = Path(tmp) / "repo"
        copy_tree(repo, copy)
        rebuilt = rebuild_cheap_stages(copy, lock, plan, timeout_s, report)
        straight = replay_and_compare(repo, copy, raw, iterations, plan, timeout_s, report)
        if straight is not None:
            record_reference(repo, raw, iterations, plan, rebuilt, straight, report)


def check_lock(repo: Path, stale_ok: bool, report: Report) -> None:
    t = time.monotonic()
    stale = stale_stages(repo, str(Path(sys.executable).parent / "dvc"))
    report.wall("lock check", time.monotonic() - t)
    if stale and not stale_ok:
        raise InputError(f"dvc.lock is stale (rerun these stages, or prove their outputs "
                         f"unchanged with `make verify STALE_OK=1` and then `make "
                         f"commit-unchanged`):\n{describe_stale(stale)}")
    report.checks.append(Check(
        "the locks agree with the code and params", True,
        f"stale ({', '.join(stale)}), allowed to prove that a change left the outputs "
        f"unchanged" if stale else ""))


def _md5(platform: dict[str, Any]) -> str:
    """Of the platform record as the train stage writes reports/platform.json."""
    return hashlib.md5(json_bytes(platform)).hexdigest()


def _precision(precision: str) -> str:
    from gan_pipeline.training.runtime import resolve_precision
    return resolve_precision(precision)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iterations", type=int, default=1000,
                   help="the prefix to replay (a multiple of train.sample_interval)")
    p.add_argument("--record", action="store_true",
                   help="write this platform class's reference from this run")
    p.add_argument("--record-missing", action="store_true",
                   help="record this class's reference only if it has none (CI on a class no "
                        "one has recorded yet)")
    p.add_argument("--report", default="reports/verification.md")
    p.add_argument("--timeout-s", type=float, default=3600,
                   help="the limit for each rebuild and replay")
    p.add_argument("--stale-ok", action="store_true",
                   help="run the comparisons on a stale lock: the proof that a change to a "
                        "stage's code left its outputs unchanged, before `make "
                        "commit-unchanged` records it")
    args = p.parse_args()
    report = Report()
    start = time.monotonic()
    failed = None
    try:
        verify(Path.cwd(), args.iterations, args.record, args.timeout_s, report,
               args.stale_ok, args.record_missing)
    except (InputError, OSError, RuntimeError, subprocess.SubprocessError) as err:
        failed = f"{type(err).__name__}: {err}" if not isinstance(err, InputError) else str(err)
    report.wall("total", time.monotonic() - start)
    text = report.markdown(failed)
    write_text(args.report, text)
    print(text)
    if failed or not report.passed():
        print(f"verify: FAILED{': ' + failed.splitlines()[0] if failed else ''}",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
