"""A registered generator version is the file its run logged: each version carries the
sha256 of its generator file (tag ``generator_sha256``, set when the track stage registers
it), and `promote` and `serve` download the version and check its file against that before
they act on it. A version whose bytes changed in the artifact store since (a flipped bit, a
replaced object) is refused, naming the version.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import file_sha256
from gan_pipeline.tracking.logged_model import GENERATOR_SHA256_TAG

# Where the logged pyfunc model keeps the generator file (log_model's artifacts={...}).
GENERATOR_DIR = "artifacts"


class IntegrityError(InputError):
    """A registered version's files are not the ones its run logged."""


def expected_sha256(client: MlflowClient, name: str, version: str) -> str:
    """The version's recorded digest; versions registered before the version tag existed
    have it on their run only."""
    try:
        found = client.get_model_version(name, version)
    except MlflowException as err:
        if err.get_http_status_code() != 404:
            raise
        raise InputError(f"model {name} has no version {version} in "
                         f"{mlflow.get_tracking_uri()}") from None
    digest = found.tags.get(GENERATOR_SHA256_TAG)
    if digest is None and found.run_id:
        digest = client.get_run(found.run_id).data.tags.get(GENERATOR_SHA256_TAG)
    if digest is None:
        raise IntegrityError(f"model {name} version {version} records no {GENERATOR_SHA256_TAG}:"
                             f" its files cannot be checked; register it again (dvc repro)")
    return digest


def download_verified(client: MlflowClient, name: str, version: str, dst: Path) -> Path:
    """Download version ``version`` of ``name`` into ``dst`` and return the model's folder,
    once its generator file's sha256 equals the one recorded for the version."""
    expected = expected_sha256(client, name, version)
    model_dir = Path(mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{version}", dst_path=str(dst)))
    files = sorted((model_dir / GENERATOR_DIR).glob("*"))
    if len(files) != 1:
        raise IntegrityError(f"model {name} version {version} holds {len(files)} files in "
                             f"{GENERATOR_DIR}/, not the one generator it was logged with")
    actual = file_sha256(files[0])
    if actual != expected:
        raise IntegrityError(f"model {name} version {version}: its generator file "
                             f"({files[0].name}, sha256 {actual[:12]}…) is not the one its run "
                             f"logged (sha256 {expected[:12]}…): the artifact store's copy was "
                             f"changed; refusing it")
    return model_dir
