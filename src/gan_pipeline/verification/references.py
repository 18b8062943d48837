"""The committed references of `make verify`, one per bits class:
``verification/references/<bits class id>.json``.

A reference holds what a host made from the committed params: its platform record, the
cheap stages' output hashes, and the first iterations' history rows and state digests.
Bits match only within a bits class (``bits_class``: the platform record without the cores,
its threads resolved), so each host is verified against the reference of its class, its
replay pinned to the reference's threads; the committed run's class is also verified
against ``dvc.lock`` and the committed reports.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gan_pipeline.config.train import trajectory
from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import json_sha256
from gan_pipeline.formats.files import write_text
from gan_pipeline.training.state_digests import StateDigest

REFERENCES = Path("verification/references")


class ReferenceError(InputError):
    """A reference that cannot be used: malformed, or recorded for other params."""


def prefix_params_sha256(raw_params: dict[str, Any]) -> str:
    """Of the params that decide the cheap stages' outputs and the replayed prefix: the
    data's, the classifier's, and the run's trajectory (what a checkpoint is also keyed by)."""
    run = trajectory(raw_params["model"], {**raw_params["train"],
                                           **raw_params["runtime"]["train"]})
    return json_sha256({"data": raw_params["data"], "prepare": raw_params["prepare"],
                        "classifier": raw_params["classifier"], **run})


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


def bits_class(platform: dict[str, Any]) -> dict[str, Any]:
    """What decides a run's bits, of its platform record: every fact but the cores and the
    inter-op threads, with the intra-op threads resolved (0 is TensorFlow's choice: one per
    visible core). Measured: the intra-op thread count decides the bits; the visible cores
    at a fixed count, and the inter-op threads, do not (docs/reproducibility.md: What
    decides the bits). A count that cannot be resolved (0, no cores recorded) stays None."""
    facts = {k: v for k, v in platform.items() if k not in ("id", "cores", "threads")}
    intra = platform["threads"]["intra_op"] or platform.get("cores") or None
    return {**facts, "intra_op_threads": intra}


def bits_id(bits: dict[str, Any]) -> str:
    """A name for a bits class: ``avx2-float32-2threads-<digest of every fact>``."""
    device = bits["gpus"][0] if bits["gpus"] else bits["onednn_isa"]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_",
                  f"{device}-{bits['precision']}-{bits['intra_op_threads']}threads")
    return f"{name}-{json_sha256(bits)[:8]}"


def without_threads(bits: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in bits.items() if k != "intra_op_threads"}


def path_for(repo: Path, platform: dict[str, Any]) -> Path:
    return repo / REFERENCES / f"{bits_id(bits_class(platform))}.json"


def load(path: Path, params_sha256: str) -> Reference:
    """The reference at ``path``; refused in one line if malformed or recorded for other
    params."""
    ref = read(path)
    if ref.params_sha256 != params_sha256:
        raise ReferenceError(f"{path}: recorded for other params (params digest "
                             f"{ref.params_sha256[:12]}…, now {params_sha256[:12]}…); record "
                             f"it again with `make verify RECORD=1` on a host of its class, "
                             f"or delete it")
    return ref


def read(path: Path) -> Reference:
    """The reference at ``path``, whatever params it was recorded for; refused in one line
    if malformed."""
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
    return ref


def save(path: Path, reference: Reference) -> None:
    """Atomically: an interrupted recording leaves the old reference, or none."""
    write_text(path, reference.to_json())


def all_references(repo: Path) -> list[Path]:
    return sorted((repo / REFERENCES).glob("*.json"))
