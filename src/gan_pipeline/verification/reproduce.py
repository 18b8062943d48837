"""`make reproduce`: the full reproduction of the committed run, for a person or a scheduled
job (an hour or more on a CPU).

In a temporary clone of HEAD it runs `dvc repro --force` on the default pipeline, pulling
nothing. On the committed run's platform class every output hash must equal dvc.lock's; on
another class, bits differ, and the headline metrics must lie within the tolerances of
``verification/tolerances.json`` (a measured seed spread, relative to each metric) of the
committed ones. TensorFlow runs on the committed run's thread count (which decides the
bits), and where this host has more cores than that run saw, on as many (taskset), which
platform.json records. Writes
``reports/reproduction.md`` (also printed), and keeps each reproduced output file that
differs from the lock's, up to 1 MB, in ``reports/reproduction/`` for a closer look.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from gan_pipeline.formats.files import json_bytes, write_text
from gan_pipeline.verification import references
from gan_pipeline.verification.replay import pinned_threads
from gan_pipeline.verification.lock import lock_outs
from gan_pipeline.verification.tree_copy import venv_env

TOLERANCES = Path("verification/tolerances.json")
KEPT = Path("reports/reproduction")
KEEP_BYTES = 1 << 20


def _flat(metrics: dict, prefix: str = "") -> dict[str, float]:
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)):
            flat[f"{prefix}{key}"] = float(value)
    return flat


def compare(committed_lock: dict, new_lock: dict, committed_metrics: dict,
            new_metrics: dict, tolerances: dict[str, float]) -> tuple[bool, list[str]]:
    """(passed, the report's lines): hashes on the committed class, else metrics within
    tolerance."""
    ours = lock_outs(new_lock, new_lock["stages"])
    theirs = lock_outs(committed_lock, committed_lock["stages"])
    same_class = ours.get("reports/platform.json") == theirs.get("reports/platform.json")
    lines = [f"- Platform class: {'the committed run' if same_class else 'another'}'s "
             f"(`reports/platform.json` {ours.get('reports/platform.json', '?')[:12]} here, "
             f"{theirs.get('reports/platform.json', '?')[:12]} in dvc.lock).", ""]
    if same_class:
        lines += ["| output | result |", "| --- | --- |"]
        passed = True
        for path in sorted(theirs):
            same = ours.get(path) == theirs[path]
            passed &= same
            lines.append(f"| `{path}` | {'identical' if same else '**DIFFERENT**'} |")
        return passed, lines
    lines += ["| metric | committed | here | tolerance | result |",
              "| --- | ---: | ---: | ---: | --- |"]
    passed = True
    new, old = _flat(new_metrics), _flat(committed_metrics)
    for key, fraction in tolerances.items():
        tolerance = fraction * abs(old[key])  # the seeds' spread scales with the metric
        ok = abs(new[key] - old[key]) <= tolerance
        passed &= ok
        lines.append(f"| {key} | {old[key]:.3f} | {new[key]:.3f} | ± {tolerance:.3g} | "
                     f"{'within' if ok else '**OUTSIDE**'} |")
    return passed, lines


def _keep_differing(clone: Path, repo: Path, committed_lock: dict, new_lock: dict
                    ) -> list[str]:
    """Copy the reproduced output files whose hashes differ from the lock's (the small ones)
    out of the clone, before it goes; the report's lines that say where."""
    ours = lock_outs(new_lock, new_lock["stages"])
    theirs = lock_outs(committed_lock, committed_lock["stages"])
    shutil.rmtree(repo / KEPT, ignore_errors=True)
    kept = []
    for path in sorted(p for p in theirs if ours.get(p) != theirs[p]):
        source = clone / path
        if source.is_file() and source.stat().st_size <= KEEP_BYTES:
            (repo / KEPT / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / KEPT / path)
            kept.append(f"`{KEPT / path}`")
    return ["", f"- Kept for a closer look: {', '.join(kept)}."] if kept else []


def committed_cores(repo: Path, lock: dict) -> int | None:
    """The cores the committed run saw (its platform record, as a reference holds it)."""
    committed_md5 = lock_outs(lock, ["train"]).get("reports/platform.json")
    cores = [r.platform["cores"] for r in map(references.read, references.all_references(repo))
             if hashlib.md5(json_bytes(r.platform)).hexdigest() == committed_md5]
    return cores[0] if cores else None


def pinned(cores: int | None) -> tuple[list[str], dict[str, str]]:
    """(a taskset prefix, an environment) that run the reproduction as the committed run
    ran: TensorFlow on its thread count, and, where this host has more cores, on as many
    cores, which platform.json records. Nothing where the committed record is unknown."""
    if cores is None:
        return [], {}
    visible = sorted(os.sched_getaffinity(0))
    taskset = ["taskset", "-c", ",".join(map(str, visible[:cores]))] \
        if len(visible) > cores else []
    return taskset, pinned_threads(cores)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--report", default="reports/reproduction.md")
    p.add_argument("--push", action="store_true",
                   help="once reproduced, `dvc push --run-cache` to the default remote of this "
                        "repository's config (its --local remotes included)")
    args = p.parse_args()
    repo = Path.cwd()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True, check=True, timeout=60).stdout.strip()
    tolerances = json.loads((repo / TOLERANCES).read_text())["metrics"]
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reproduce-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, timeout=600)
        local_config = repo / ".dvc" / "config.local"  # a team's remote and credentials
        if local_config.exists():
            shutil.copy2(local_config, clone / ".dvc" / "config.local")
        cores = committed_cores(repo, yaml.safe_load((repo / "dvc.lock").read_text()))
        taskset, threads = pinned(cores)
        env = venv_env(MLFLOW_TRACKING_URI=f"sqlite:///{Path(tmp) / 'mlflow.db'}", **threads)
        print(f"reproduce: dvc repro --force in a clone of {head[:12]} (pulling nothing)"
              f"{f', on {cores} threads' if cores else ''}", flush=True)
        subprocess.run([*taskset, "dvc", "repro", "--force", "dvc.yaml"], cwd=clone,
                       check=True, env=env)
        committed_lock = yaml.safe_load((repo / "dvc.lock").read_text())
        new_lock = yaml.safe_load((clone / "dvc.lock").read_text())
        passed, lines = compare(
            committed_lock, new_lock,
            json.loads((repo / "reports/metrics.json").read_text()),
            json.loads((clone / "reports/metrics.json").read_text()), tolerances)
        platform = json.loads((clone / "reports/platform.json").read_text())
        lines += _keep_differing(clone, repo, committed_lock, new_lock)
        if passed and args.push:
            subprocess.run(["dvc", "push", "--run-cache"], cwd=clone, check=True, env=env)
    minutes = (time.monotonic() - start) / 60
    text = "\n".join([f"# Reproduction of {head[:12]}: {'passed' if passed else 'FAILED'}", "",
                      f"- Host class `{platform['id']}`; {minutes:.1f} minutes in all.",
                      *lines, ""])
    write_text(repo / args.report, text)
    print(text)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
