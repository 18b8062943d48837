"""Command promote: after `dvc repro`, move the `champion` alias to the generator just
trained if its FID beats the champion's by `mlflow.champion_fid_margin`, once the registered
version is checked to be this generator file loaded by this repository's code; a promoted
version gets the sha256 of each of its files recorded, which `serve` checks
(gan_pipeline.tracking.model_integrity).

It acts on the shared model registry, not on files, so it is a command, not a DVC stage:
    python stages/promote.py --params params.yaml --generator models/generator.keras
On the team stack, moving the alias takes the promoter role (docs/mlflow.md).
"""

import tempfile
from pathlib import Path

from mlflow.tracking import MlflowClient

from gan_pipeline import cli
from gan_pipeline.config.mlflow import PromoteParams
from gan_pipeline.errors import InputError
from gan_pipeline.formats.digests import file_sha256
from gan_pipeline.tracking import store
from gan_pipeline.tracking.logged_model import GENERATOR_SHA256_TAG, find_run_for_generator
from gan_pipeline.tracking.model_integrity import (PROMOTION_RECORD_TAG, check_for_promotion,
                                                   download, download_promoted,
                                                   promotion_record, recorded)
from gan_pipeline.tracking.registry import promote


def main(args, params):
    with store.refusals_reported():
        run_id = find_run_for_generator(params.mlflow.experiment, args.generator)
        if run_id is None:
            raise InputError(f"no MLflow run in {store.tracking_uri()} produced "
                             f"{args.generator}")
        client = MlflowClient()
        name = params.mlflow.model_name(params.data.dataset)
        # The version the track stage registered: this file's digest, written once. Others
        # of the same run (anyone may register one) are not the one being vouched for.
        digest = file_sha256(args.generator)
        versions = sorted(int(v.version) for v in client.search_model_versions(
            f"name = '{name}' and run_id = '{run_id}'")
            if v.tags.get(GENERATOR_SHA256_TAG) == digest)
        if not versions:
            raise InputError(f"run {run_id} registered no version of {name} tagged with "
                             f"{args.generator}'s sha256")
        version = str(versions[0])
        with tempfile.TemporaryDirectory() as tmp:
            if recorded(client, name, version) is not None:  # promoted before: unchanged?
                download_promoted(client, name, version, Path(tmp))
                record = None
            else:
                model_dir = download(name, version, Path(tmp))
                check_for_promotion(client, name, version, model_dir, Path(args.generator))
                record = promotion_record(client, name, version, model_dir)
        decision = promote(client, name, version, params.mlflow.champion_fid_margin)
        if decision.promoted and record is not None:
            client.set_model_version_tag(name, version, PROMOTION_RECORD_TAG, record)
    print(f"promote: {'promoted' if decision.promoted else 'not promoted'}: {decision.reason}")


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--generator", required=True, help="the generator file just trained")
    cli.run(main, p.parse_args(), PromoteParams)
