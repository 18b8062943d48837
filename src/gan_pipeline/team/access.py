"""Who may do what on the team stack's MLflow server: roles, users, and each user's
credentials file.

Roles (MLflow's role-based permissions, every experiment and registered model):
* ``member``:   EDIT: log runs, register generator versions; deletes nothing
* ``promoter``: a member who may also move the ``champion`` alias (MANAGE on the models;
                see auth_app for why MLflow's EDIT is not enough to keep it from members)
* ``ci``:       READ only
Users with no role see nothing (the server's default permission is NO_PERMISSIONS). The
admin, created by MLflow at the server's first start, creates the params' experiment and
every dataset's registered model itself, so that no member becomes their creator (a
creator gets MANAGE).

Each user gets ``<stack>/credentials/<user>.env`` (mode 0600), to hand to that user only:
their MLflow login and the S3 key pair of their role, to source before `dvc` and the
stages. Passwords are never printed.

    python -m gan_pipeline.team.access bootstrap --stack-dir D --uri URL
    python -m gan_pipeline.team.access add-member NAME [--promoter] --stack-dir D --uri URL
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path

# mlflow.server's FastAPI module, imported with the auth client, warns about Starlette.
warnings.filterwarnings("ignore", message="starlette.middleware.wsgi is deprecated")
from mlflow.exceptions import MlflowException
from mlflow.server.auth.client import AuthServiceClient
from mlflow.tracking import MlflowClient

from gan_pipeline.config.datasets import DATASETS
from gan_pipeline.config.schema import read_yaml
from gan_pipeline.errors import InputError
from gan_pipeline.team import secrets_file
from gan_pipeline.tracking import store

WORKSPACE = "default"  # MLflow's, when workspaces are off
ROLES = {
    "member": [("experiment", "EDIT"), ("registered_model", "EDIT")],
    "promoter": [("experiment", "EDIT"), ("registered_model", "MANAGE")],
    "ci": [("experiment", "READ"), ("registered_model", "READ")],
}
ADMIN, CI_USER = "admin", "ci"
_USER_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")


def _as_admin(secrets: dict[str, str]) -> None:
    os.environ["MLFLOW_TRACKING_USERNAME"] = ADMIN
    os.environ["MLFLOW_TRACKING_PASSWORD"] = secrets["MLFLOW_ADMIN_PASSWORD"]


def _roles(client: AuthServiceClient) -> dict[str, int]:
    """Create the roles the server lacks; their ids by name."""
    found = {role.name: role.id for role in client.list_roles(WORKSPACE)}
    for name, grants in ROLES.items():
        if name not in found:
            found[name] = client.create_role(WORKSPACE, name).id
            for resource_type, permission in grants:
                client.add_role_permission(found[name], resource_type, "*", permission)
    return found


def _has_user(client: AuthServiceClient, name: str) -> bool:
    try:
        client.get_user(name)
        return True
    except MlflowException:
        return False


def write_credentials(stack_dir: Path, user: str, password: str, uri: str, s3_role: str,
                      secrets: dict[str, str]) -> Path:
    """``<stack>/credentials/<user>.env``: what ``user`` sources to use the stack."""
    path = stack_dir / "credentials" / f"{user}.env"
    values = {"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password,
              "AWS_ACCESS_KEY_ID": secrets[f"S3_{s3_role}_ACCESS_KEY_ID"],
              "AWS_SECRET_ACCESS_KEY": secrets[f"S3_{s3_role}_SECRET_ACCESS_KEY"],
              "MLFLOW_TRACKING_URI": uri}
    secrets_file.add(path, values)
    return path


def bootstrap(stack_dir: Path, uri: str, params: Path) -> None:
    """Roles, the CI user, the experiment and the registered models; idempotent."""
    secrets = secrets_file.read(stack_dir / "secrets.env")
    _as_admin(secrets)
    client = AuthServiceClient(uri)
    roles = _roles(client)
    if not _has_user(client, CI_USER):
        client.create_user(CI_USER, secrets["MLFLOW_CI_PASSWORD"])
        client.assign_role(CI_USER, roles["ci"])
        write_credentials(stack_dir, CI_USER, secrets["MLFLOW_CI_PASSWORD"], uri, "CI",
                          secrets)
    mlflow_params = read_yaml(params)["mlflow"]
    os.environ["MLFLOW_TRACKING_URI"] = uri
    store.connect(mlflow_params["experiment"])
    registry = MlflowClient(uri)
    for dataset in DATASETS:
        name = mlflow_params["registered_model"].format(dataset=dataset)
        try:
            registry.get_registered_model(name)
        except MlflowException:
            registry.create_registered_model(name)


def add_member(stack_dir: Path, uri: str, name: str, promoter: bool) -> Path:
    """A new user with the member role (and the promoter role); their credentials file."""
    if not _USER_NAME.match(name) or name in (ADMIN, CI_USER):
        raise InputError(f"member name {name!r}: use 2-32 lower-case letters, digits, _ or -, "
                         f"starting with a letter, and not {ADMIN!r} or {CI_USER!r}")
    secrets = secrets_file.read(stack_dir / "secrets.env")
    _as_admin(secrets)
    client = AuthServiceClient(uri)
    if _has_user(client, name):
        raise InputError(f"MLflow user {name!r} exists already on {uri}")
    roles = _roles(client)
    password = secrets_file.generate("password")
    client.create_user(name, password)
    client.assign_role(name, roles["member"])
    if promoter:
        client.assign_role(name, roles["promoter"])
    return write_credentials(stack_dir, name, password, uri, "MEMBER", secrets)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["bootstrap", "add-member"])
    p.add_argument("name", nargs="?", help="add-member: the new member's user name")
    p.add_argument("--promoter", action="store_true",
                   help="add-member: may also move the champion alias")
    p.add_argument("--stack-dir", type=Path, required=True)
    p.add_argument("--uri", required=True, help="the stack's MLflow server")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = p.parse_args(argv)
    try:
        if args.command == "bootstrap":
            bootstrap(args.stack_dir, args.uri, args.params)
        else:
            if not args.name:
                p.error("add-member needs the member's name")
            path = add_member(args.stack_dir, args.uri, args.name, args.promoter)
            role = "member and promoter" if args.promoter else "member"
            print(f"team-stack: added {args.name} ({role}); hand them {path} (mode 0600), "
                  f"to use as: set -a; . {path.name}; set +a")
    except (InputError, MlflowException) as err:
        sys.exit(f"team-stack: {str(err).splitlines()[0]}")


if __name__ == "__main__":
    main()
