"""Command serve: serve a promoted generator version (the champion by default) with
`mlflow models serve`, once each of its files is checked against the sha256 recorded at its
promotion. It serves the checked copy, so what answers is what was checked.

    python stages/serve.py --params params.yaml [--version 3] [--port 5001]
"""

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gan_pipeline import cli
from gan_pipeline.config.mlflow import PromoteParams
from gan_pipeline.errors import InputError
from gan_pipeline.tracking import store
from gan_pipeline.tracking.model_integrity import download_promoted
from gan_pipeline.tracking.registry import CHAMPION


def main(args, params):
    name = params.mlflow.model_name(params.data.dataset)
    with tempfile.TemporaryDirectory(prefix="serve-") as tmp, store.refusals_reported():
        store.open_store()
        client = MlflowClient()
        if args.version:
            version = args.version
        else:
            try:
                version = client.get_model_version_by_alias(name, CHAMPION).version
            except MlflowException as err:
                if store.refusal(err):
                    raise
                raise InputError(f"model {name} has no {CHAMPION} alias in "
                                 f"{store.tracking_uri()}: promote a version first "
                                 f"(stages/promote.py) or pass --version") from None
        model_dir = download_promoted(client, name, str(version), Path(tmp))
        print(f"serve: {name} version {version}: its files are the promoted ones; serving "
              f"it on "
              f"http://{args.host}:{args.port}/invocations", flush=True)
        # It starts `uvicorn` by name: this interpreter's environment first.
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        server = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve",
                                   "-m", str(model_dir), "--env-manager", "local",
                                   "-h", args.host, "-p", str(args.port)],
                                  env={**os.environ, "PATH": path}, start_new_session=True)
        # SIGTERM, like Ctrl-C, stops the server and removes the checked copy.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            code = server.wait()
        except KeyboardInterrupt:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the workers it started
            server.wait(timeout=30)
            code = 0  # stopped as asked
    sys.exit(code)


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--version", help=f"the version to serve (default: the {CHAMPION})")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5001)
    cli.run(main, p.parse_args(), PromoteParams)
