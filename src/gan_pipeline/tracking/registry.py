"""Promotion in the MLflow Model Registry: the ``champion`` alias moves to a new generator
version only when its FID beats the champion's by a margin, on the same dataset."""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gan_pipeline.errors import InputError

CHAMPION = "champion"


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str


def _fid(client: MlflowClient, name: str, version: str) -> float:
    tag = client.get_model_version(name, version).tags.get("fid")
    if tag is None:
        raise InputError(f"model {name} version {version} has no fid tag: run the evaluate "
                         f"stage (dvc repro) before promoting it")
    return float(tag)


def promote(client: MlflowClient, name: str, version: str, fid_margin: float) -> Decision:
    """Give ``version`` the champion alias if its FID is lower than the champion's by more
    than ``fid_margin`` (or if there is no champion yet)."""
    version = str(version)  # stores disagree on int or str
    candidate = _fid(client, name, version)
    try:
        champion = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        champion = None
    if champion is None:
        client.set_registered_model_alias(name, CHAMPION, version)
        return Decision(True, f"version {version} (fid {candidate:.3f}) is the first champion")
    if str(champion.version) == version:
        return Decision(False, f"version {version} is already the champion")
    # Versions registered before the dataset tag existed were all trained on MNIST.
    datasets = [client.get_model_version(name, v).tags.get("dataset", "mnist")
                for v in (version, str(champion.version))]
    if datasets[0] != datasets[1]:
        # Each dataset's FID is measured with its own classifier: they do not compare.
        return Decision(False, f"version {version} was trained on {datasets[0]} but champion "
                               f"version {champion.version} on {datasets[1]}; their FIDs do "
                               f"not compare (mlflow.registered_model with {{dataset}} gives "
                               f"each dataset its own model); the champion stays")
    best = _fid(client, name, str(champion.version))
    if candidate < best - fid_margin:
        client.set_registered_model_alias(name, CHAMPION, version)
        return Decision(True, f"version {version} (fid {candidate:.3f}) beats champion "
                              f"version {champion.version} (fid {best:.3f}) by more than "
                              f"{fid_margin}")
    return Decision(False, f"version {version} (fid {candidate:.3f}) does not beat champion "
                           f"version {champion.version} (fid {best:.3f}) by more than "
                           f"{fid_margin}; the champion stays")
