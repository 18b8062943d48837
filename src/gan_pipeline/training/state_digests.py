"""A fingerprint of the training state along a run: ``reports/state_digests.json``.

At every sample interval, training records one sha256 over everything that decides the rest
of the run: both nets' variables (batch-norm statistics included), both optimizers'
variables (slots and counters), and the seed generator's state. Two runs whose digests agree at iteration k are in the same
state there, bit for bit; `make verify` replays the committed run's first iterations and
compares its digests with the committed ones (see docs/reproducibility.md).

The file is a DVC metric (cache: false, so it is committed to git and DVC's run cache still
serves the train stage) whose one key holds a list, which `dvc metrics show` leaves out:
the digests are no numbers to compare.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gan_pipeline.errors import InputError


@dataclass(frozen=True)
class StateDigest:
    iteration: int
    state_sha256: str


def variables_sha256(variables: Iterable) -> str:
    """Of each variable in turn: its position, dtype, shape and bytes. Positions, not names:
    Keras numbers the layers of every model a process builds, so names differ between a
    fresh process and one that built a model before."""
    h = hashlib.sha256()
    for i, variable in enumerate(variables):
        a = np.ascontiguousarray(np.asarray(variable))
        h.update(f"{i}:{a.dtype.str}:{a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def training_state(gan) -> list:
    """Every variable that decides the rest of a run of ``gan`` (a ``gan.GAN``), in a fixed
    order."""
    return [*gan.generator.variables, *gan.discriminator.variables,
            *gan.d_optimizer.variables, *gan.g_optimizer.variables, gan.seed_generator.state]


def training_state_sha256(gan) -> str:
    return variables_sha256(v.numpy() for v in training_state(gan))


def to_json(digests: Sequence[StateDigest]) -> str:
    """One row a line, so that a diff shows the first iteration where two runs part."""
    rows = ",\n".join(f" {json.dumps(asdict(d))}" for d in digests)
    return f'{{"rows": [\n{rows}\n]}}\n' if digests else '{"rows": []}\n'


def read_json(path: str | Path) -> list[StateDigest]:
    """The digests of a state-digests file, with a clear error if it is not one."""
    try:
        rows = json.loads(Path(path).read_text())["rows"]
        return [StateDigest(int(r["iteration"]), str(r["state_sha256"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not a state-digests file: {type(err).__name__}: {err}"
                         ) from None
