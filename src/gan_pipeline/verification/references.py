"""The committed references of `make verify`, one per platform class:
``verification/references/<class id>.json``.

A reference holds what a host of its class made from the committed params: the cheap
stages' output hashes, and the first iterations' history rows and state digests. Bits match
only within a class, so each class is verified against its own reference; the committed
run's class is also verified against ``dvc.lock`` and the committed reports.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gan_pipeline.config.train import trajectory_params
from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import json_sha256
from gan_pipeline.formats.files import write_text
from gan_pipeline.training.state_digests import StateDigest

REFERENCES = Path("verification/references")
# Params that decide no byte of the prefix: the run's length, and the checkpointing.
_PREFIX_NEUTRAL = {"iterations", "checkpoint_interval", "resume"}


class ReferenceError(InputError):
    """A reference that cannot be used: malformed, or recorded for other params."""


def prefix_params_sha256(raw_params: dict[str, Any]) -> str:
    """Of the params that decide the cheap stages' outputs and the replayed prefix."""
    # train and runtime.train as one mapping, as when they were one section: a reference
    # holds for the same values, wherever params.yaml keeps them.
    train = trajectory_params({**raw_params["train"], **raw_params["runtime"]["train"]},
                              _PREFIX_NEUTRAL)
    return json_sha256({"data": raw_params["data"], "prepare": raw_params["prepare"],
                        "model": raw_params["model"], "classifier": raw_params["classifier"],
                        "train": train})


@dataclass(frozen=True)
class Reference:
    platform: dict[str, Any]  # the class (gan_pipeline.platform_record.platform_class)
    params_sha256: str
    iterations: int  # the replayed prefix
    outputs: dict[str, str]  # the cheap stages' outputs: path -> md5, as dvc.lock has them
    history: list[str]  # the prefix's rows of reports/history.csv, header first
    state_digests: list[StateDigest] = field(default_factory=list)
    host: str = ""  # the CPU it was recorded on, for people

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True) + "\n"


def path_for(repo: Path, class_id: str) -> Path:
    return repo / REFERENCES / f"{class_id}.json"


def load(path: Path, params_sha256: str) -> Reference:
    """The reference at ``path``; refused in one line if malformed or recorded for other
    params."""
    try:
        raw = json.loads(path.read_text())
        ref = Reference(**{**raw, "state_digests": [
            StateDigest(int(d["iteration"]), str(d["state_sha256"]))
            for d in raw["state_digests"]]})
        if not (isinstance(ref.platform.get("id"), str) and isinstance(ref.iterations, int)
                and isinstance(ref.outputs, dict) and isinstance(ref.history, list)):
            raise TypeError("fields of the wrong type")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ReferenceError(f"{path}: not a verification reference ({type(err).__name__}: "
                             f"{err}); record it again with `make verify RECORD=1`") from None
    if ref.params_sha256 != params_sha256:
        raise ReferenceError(f"{path}: recorded for other params (params digest "
                             f"{ref.params_sha256[:12]}…, now {params_sha256[:12]}…); record "
                             f"it again with `make verify RECORD=1` on a host of its class, "
                             f"or delete it")
    return ref


def save(path: Path, reference: Reference) -> None:
    """Atomically: an interrupted recording leaves the old reference, or none."""
    write_text(path, reference.to_json())


def all_references(repo: Path) -> list[Path]:
    return sorted((repo / REFERENCES).glob("*.json"))
