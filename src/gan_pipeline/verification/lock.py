"""Whether the committed locks agree with the code and params of the tree."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

# This repo's pipelines: the default one, and the comparison that runs only when asked for;
# each with the prefix DVC gives its stage names.
PIPELINES = {"dvc.yaml": "", "compare/dvc.yaml": "compare/dvc.yaml:",
             "translate/dvc.yaml": "translate/dvc.yaml:"}


def locked_outputs(repo: Path) -> dict[str, set[Path]]:
    """Every stage the committed locks hold, by the name DVC gives it, with its outputs."""
    locked = {}
    for file, prefix in PIPELINES.items():
        lock = (repo / file).with_suffix(".lock")
        if not lock.is_file():
            continue
        specs = yaml.safe_load((repo / file).read_text())["stages"]
        for name, entry in yaml.safe_load(lock.read_text())["stages"].items():
            # A stage runs in its wdir, and the lock's paths are relative to it.
            wdir = ((repo / file).parent / specs[name.split("@")[0]].get("wdir", ".")).resolve()
            locked[prefix + name] = {wdir / out["path"] for out in entry.get("outs", [])}
    return locked


def stale_stages(repo: Path, dvc: str = "dvc") -> dict[str, dict]:
    """The locked stages whose code, params or command changed, with what changed.

    A stage's data deps are other stages' outputs (or directories holding them), judged by
    those stages' own entries: in a fresh clone they are not here yet (to pull), and made on
    another platform class they hold other bytes (as the comparison's lock, made on another
    host than dvc.lock, does with the classifier)."""
    repo = repo.resolve()
    locked = locked_outputs(repo)
    outputs = set().union(*locked.values())
    done = subprocess.run([dvc, "status", "--json"], cwd=repo, capture_output=True,
                          text=True, check=True, timeout=600)
    stale = {}
    for stage, changes in json.loads(done.stdout or "{}").items():
        if stage not in locked:
            continue
        found = {}
        for change in changes:
            if change == "changed command":
                found["command"] = "changed"
            if not isinstance(change, dict):
                continue  # "always changed"
            # Both pipelines' stages run from the repository root, so DVC's paths start there.
            deps = {path: state for path, state in change.get("changed deps", {}).items()
                    if not any(out.is_relative_to(repo / path) for out in outputs)}
            found.update(deps)
        if found:
            stale[stage] = found
    return stale


def describe_stale(stale: dict[str, dict]) -> str:
    """One line a stage: what changed since the lock was made."""
    def changes(path: str, state) -> str:
        if isinstance(state, dict):  # a params file: key -> new, modified or deleted
            return ", ".join(f"{path}:{key} {what}" for key, what in state.items())
        return f"{path} {state}"

    return "\n".join(f"{stage}: {', '.join(changes(p, s) for p, s in deps.items())}"
                     for stage, deps in stale.items())


def lock_outs(lock: dict, stages) -> dict[str, str]:
    """The outputs of ``stages`` in a parsed lock: path -> md5."""
    return {out["path"]: out["md5"] for name in stages
            for out in lock["stages"].get(name, {}).get("outs", [])}
