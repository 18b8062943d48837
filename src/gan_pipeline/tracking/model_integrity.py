"""A registered generator version is trusted for what a promoter checked, file by file.

* **Registered** (the track stage): the version carries ``generator_sha256``, ``run_id``,
  ``dataset`` and ``fid`` tags. On the team stack they are written once
  (gan_pipeline.team.auth_app).
* **Promoted** (stages/promote.py): the downloaded model directory must be the promoter's
  own: its generator file is the one they trained (and the version's tag says so), its code
  is this repository's ``pyfunc.py``, and its ``MLmodel`` loads that code and that file.
  Then the sha256 of every file of the directory, with the write-once tags, is recorded on
  the version (``PROMOTION_RECORD_TAG``), which on the team stack only a promoter writes.
* **Used** (promote again, serve): the downloaded directory and the tags must equal the
  record. A file changed, added or removed after promotion (an artifact overwritten through
  the server's artifact proxy, a flipped bit in the store) or a tag changed is refused,
  naming the version and the file or tag.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import file_sha256
from gan_pipeline.tracking import pyfunc
from gan_pipeline.tracking.logged_model import GENERATOR_SHA256_TAG

PROMOTION_RECORD_TAG = "promoted_files_sha256"
# The tags the record covers, and promotion decides by (fid, dataset); the team stack lets
# members write them once (the track stage does), so none changes under a promoted version.
WRITE_ONCE_TAGS = (GENERATOR_SHA256_TAG, "run_id", "dataset", "fid")
# Where the logged pyfunc model keeps the generator file (log_model's artifacts={...}).
GENERATOR_DIR = "artifacts"
CODE_LOADER = "mlflow.pyfunc.loaders.code_model"


class IntegrityError(InputError):
    """A registered version's files are not the ones that were checked."""


def _version(client: MlflowClient, name: str, version: str):
    try:
        return client.get_model_version(name, version)
    except MlflowException as err:
        if err.get_http_status_code() != 404:
            raise
        raise InputError(f"model {name} has no version {version} in "
                         f"{mlflow.get_tracking_uri()}") from None


def download(name: str, version: str, dst: Path) -> Path:
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}",
                                                    dst_path=str(dst)))


def file_digests(model_dir: Path) -> dict[str, str]:
    """The sha256 of every file under ``model_dir``, by relative path."""
    return {path.relative_to(model_dir).as_posix(): file_sha256(path)
            for path in sorted(model_dir.rglob("*")) if path.is_file()}


def check_for_promotion(client: MlflowClient, name: str, version: str, model_dir: Path,
                        generator: Path) -> None:
    """Refuse a version whose directory is not the promoter's generator, loaded by this
    repository's code."""
    label = f"model {name} version {version}"
    digest = file_sha256(generator)
    tagged = _version(client, name, version).tags.get(GENERATOR_SHA256_TAG)
    if tagged != digest:
        raise IntegrityError(f"{label}: its {GENERATOR_SHA256_TAG} tag ({str(tagged)[:12]}…) "
                             f"is not your {generator} ({digest[:12]}…); refusing it")
    files = sorted((model_dir / GENERATOR_DIR).glob("*"))
    if len(files) != 1 or file_sha256(files[0]) != digest:
        shown = ", ".join(f.name for f in files) or "nothing"
        raise IntegrityError(f"{label}: {GENERATOR_DIR}/ holds {shown}, not your {generator} "
                             f"(sha256 {digest[:12]}…): the artifact store's copy was changed; "
                             f"refusing it")
    code = Path(pyfunc.__file__)
    if (model_dir / code.name).read_bytes() != code.read_bytes():
        raise IntegrityError(f"{label}: its {code.name} is not this repository's "
                             f"{code}; refusing it")
    flavor = yaml.safe_load((model_dir / "MLmodel").read_text())["flavors"]
    loads = flavor.get("python_function", {})
    expected = {"loader_module": CODE_LOADER, "code": None,
                "artifacts": {"generator": f"{GENERATOR_DIR}/{files[0].name}"}}
    found = {"loader_module": loads.get("loader_module"), "code": loads.get("code"),
             "artifacts": {k: v.get("path") for k, v in (loads.get("artifacts") or {}).items()}}
    if set(flavor) != {"python_function"} or found != expected or \
            Path(loads.get("model_code_path", "")).name != code.name:
        raise IntegrityError(f"{label}: its MLmodel does not load {code.name} with its "
                             f"generator alone ({json.dumps(found)}); refusing it")


def promotion_record(client: MlflowClient, name: str, version: str, model_dir: Path) -> str:
    """What the promoter vouches for: every file's sha256 and the write-once tags (JSON)."""
    tags = _version(client, name, version).tags
    return json.dumps({"files": file_digests(model_dir),
                       "tags": {key: tags.get(key) for key in WRITE_ONCE_TAGS}},
                      sort_keys=True, separators=(",", ":"))


def recorded(client: MlflowClient, name: str, version: str) -> dict | None:
    """The version's promotion record, if it was promoted."""
    record = _version(client, name, version).tags.get(PROMOTION_RECORD_TAG)
    return None if record is None else json.loads(record)


def download_promoted(client: MlflowClient, name: str, version: str, dst: Path) -> Path:
    """Download a promoted version into ``dst``; its model folder, once every file and tag
    equals its promotion record."""
    label = f"model {name} version {version}"
    record = recorded(client, name, version)
    if record is None:
        raise IntegrityError(f"{label} was never promoted: it has no {PROMOTION_RECORD_TAG} "
                             f"record to check its files against; promote it first "
                             f"(stages/promote.py)")
    tags = _version(client, name, version).tags
    for key, value in record["tags"].items():
        if tags.get(key) != value:
            raise IntegrityError(f"{label}: its tag {key} changed after promotion "
                                 f"({str(value)[:12]}… to {str(tags.get(key))[:12]}…); "
                                 f"refusing it")
    model_dir = download(name, version, dst)
    found, expected = file_digests(model_dir), record["files"]
    for path in sorted(found.keys() | expected.keys()):
        if found.get(path) != expected.get(path):
            what = ("was added" if path not in expected else "is missing"
                    if path not in found else "was changed")
            raise IntegrityError(f"{label}: its file {path} {what} after promotion; "
                                 f"refusing it")
    return model_dir
