"""Command promote: after `dvc repro`, move the `champion` alias to the generator just
trained if its FID beats the champion's by `mlflow.champion_fid_margin`, once the registered
version's generator file is checked against the sha256 its run recorded.

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
from gan_pipeline.tracking import store
from gan_pipeline.tracking.logged_model import find_run_for_generator
from gan_pipeline.tracking.model_integrity import download_verified
from gan_pipeline.tracking.registry import promote


def main(args, params):
    with store.refusals_reported():
        run_id = find_run_for_generator(params.mlflow.experiment, args.generator)
        if run_id is None:
            raise InputError(f"no MLflow run in {store.tracking_uri()} produced "
                             f"{args.generator}")
        client = MlflowClient()
        name = params.mlflow.model_name(params.data.dataset)
        versions = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
        if not versions:
            raise InputError(f"run {run_id} registered no version of {name}")
        version = versions[0].version
        with tempfile.TemporaryDirectory() as tmp:
            download_verified(client, name, version, Path(tmp))
        decision = promote(client, name, version, params.mlflow.champion_fid_margin)
    print(f"promote: {'promoted' if decision.promoted else 'not promoted'}: {decision.reason}")


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--generator", required=True, help="the generator file just trained")
    cli.run(main, p.parse_args(), PromoteParams)
