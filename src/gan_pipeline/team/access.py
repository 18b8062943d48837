"""Who may do what on the team stack's MLflow server: roles, users, and each user's
credentials file.

Roles (MLflow's role-based permissions, every experiment and registered model):
* ``member``:   EDIT: log runs, register generator versions; deletes nothing
* ``promoter``: a member who may also move the ``champion`` alias (MANAGE on the models;
                see auth_app for why MLflow's EDIT is not enough to keep it from members)
* ``ci``:       READ only
Users with no role see nothing (the server's default permission is NO_PERMISSIONS). The
admin, created by MLflow at the server's first start, creates the params' experiment and
every dataset's registered model itself, and the CycleGAN's (translate/params.yaml), so that
no member becomes their creator (a creator gets MANAGE).

Each user gets ``<stack>/credentials/<user>.env`` (mode 0600), to hand to that user only:
their MLflow login and their own S3 key pair (CI's is the stack's read-only one; a member's
is made with them and dies with them, gan_pipeline.team.s3_users), to source before `dvc`
and the stages. Passwords and keys are never printed.

    python -m gan_pipeline.team.access bootstrap --stack-dir D --uri URL
    python -m gan_pipeline.team.access add-member NAME [--promoter] --stack-dir D --uri URL
    python -m gan_pipeline.team.access revoke-member NAME --stack-dir D --uri URL
    python -m gan_pipeline.team.access migrate --stack-dir D     # stack stopped
    python -m gan_pipeline.team.access team-models               # for the server's rules
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
from gan_pipeline.team.s3_users import WeedShell
from gan_pipeline.tracking import store

WORKSPACE = "default"  # MLflow's, when workspaces are off
ROLES = {
    "member": [("experiment", "EDIT"), ("registered_model", "EDIT")],
    "promoter": [("experiment", "EDIT"), ("registered_model", "MANAGE")],
    "ci": [("experiment", "READ"), ("registered_model", "READ")],
}
ADMIN, CI_USER = "admin", "ci"
STACK_USERS = (ADMIN, CI_USER, "mlflow-server")  # the last: the server's S3 identity
# The S3 key pair all members shared before each had their own (migrate() replaces it).
SHARED_MEMBER_KEY = ("S3_MEMBER_ACCESS_KEY_ID", "S3_MEMBER_SECRET_ACCESS_KEY")
_USER_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")


def _as_admin(secrets: dict[str, str]) -> None:
    os.environ["MLFLOW_TRACKING_USERNAME"] = ADMIN
    os.environ["MLFLOW_TRACKING_PASSWORD"] = secrets["MLFLOW_ADMIN_PASSWORD"]


def ensure_roles(client: AuthServiceClient) -> dict[str, int]:
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


def credentials_path(stack_dir: Path, user: str) -> Path:
    return stack_dir / "credentials" / f"{user}.env"


def write_credentials(stack_dir: Path, user: str, password: str, uri: str,
                      s3_key: tuple[str, str]) -> Path:
    """``<stack>/credentials/<user>.env``: what ``user`` sources to use the stack."""
    path = credentials_path(stack_dir, user)
    values = {"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password,
              "AWS_ACCESS_KEY_ID": s3_key[0], "AWS_SECRET_ACCESS_KEY": s3_key[1],
              "MLFLOW_TRACKING_URI": uri}
    secrets_file.add(path, values)
    return path


def new_s3_key() -> tuple[str, str]:
    return secrets_file.generate("key_id"), secrets_file.generate("password")


def members(stack_dir: Path) -> list[str]:
    """The users with a credentials file, CI's aside."""
    return sorted(p.stem for p in (stack_dir / "credentials").glob("*.env") if p.stem != CI_USER)


def translate_params(params: Path) -> Path:
    """The CycleGAN's params (translate/params.yaml) beside ``params``."""
    return params.parent / "translate" / "params.yaml"


def team_models(params: Path) -> list[str]:
    """The team's registered models: the params' name pattern, for every dataset, and the
    CycleGAN's (translate/dvc.yaml)."""
    pattern = read_yaml(params)["mlflow"]["registered_model"]
    return [*(pattern.format(dataset=dataset) for dataset in DATASETS),
            read_yaml(translate_params(params))["mlflow"]["registered_model"]]


def stack_settings(stack_dir: Path) -> dict[str, str]:
    """What scripts/team_stack.sh wrote of where the running stack listens."""
    return secrets_file.read(stack_dir / "stack.env")


def _s3_role(client: AuthServiceClient, user: str) -> str:
    return "promoter" if any(r.name == "promoter" for r in client.list_user_roles(user)) \
        else "member"


def sync_s3_users(stack_dir: Path, client: AuthServiceClient) -> None:
    """The S3 gateway's users are the members with a credentials file, each with their
    role's policy; anyone else (a member revoked while the stack was down) is removed."""
    shell = WeedShell(stack_settings(stack_dir))
    shell.put_policies()
    for name in shell.users():
        shell.remove(name)
    for name in members(stack_dir):
        keys = secrets_file.read(credentials_path(stack_dir, name))
        shell.add(name, _s3_role(client, name), keys["AWS_ACCESS_KEY_ID"],
                  keys["AWS_SECRET_ACCESS_KEY"])


def bootstrap(stack_dir: Path, uri: str, params: Path) -> None:
    """Roles, the CI user, the experiment and the registered models; idempotent."""
    secrets = secrets_file.read(stack_dir / "secrets.env")
    _as_admin(secrets)
    client = AuthServiceClient(uri)
    roles = ensure_roles(client)
    if not _has_user(client, CI_USER):
        client.create_user(CI_USER, secrets["MLFLOW_CI_PASSWORD"])
        client.assign_role(CI_USER, roles["ci"])
        write_credentials(stack_dir, CI_USER, secrets["MLFLOW_CI_PASSWORD"], uri,
                          (secrets["S3_CI_ACCESS_KEY_ID"], secrets["S3_CI_SECRET_ACCESS_KEY"]))
    sync_s3_users(stack_dir, client)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    for experiment in (read_yaml(params)["mlflow"]["experiment"],
                       read_yaml(translate_params(params))["mlflow"]["experiment"]):
        store.connect(experiment)
    registry = MlflowClient(uri)
    for name in team_models(params):
        try:
            registry.get_registered_model(name)
        except MlflowException:
            registry.create_registered_model(name)


def add_member(stack_dir: Path, uri: str, name: str, promoter: bool) -> Path:
    """A new user with the member role (and the promoter role); their credentials file."""
    if not _USER_NAME.match(name) or name in STACK_USERS:
        raise InputError(f"member name {name!r}: use 2-32 lower-case letters, digits, _ or -, "
                         f"starting with a letter, and none of {', '.join(STACK_USERS)}")
    _as_admin(secrets_file.read(stack_dir / "secrets.env"))
    client = AuthServiceClient(uri)
    if _has_user(client, name):
        raise InputError(f"MLflow user {name!r} exists already on {uri}")
    roles = ensure_roles(client)
    if credentials_path(stack_dir, name).exists():
        raise InputError(f"{credentials_path(stack_dir, name)} exists already: revoke "
                         f"{name} first (make team-revoke NAME={name})")
    password, s3_key = secrets_file.generate("password"), new_s3_key()
    client.create_user(name, password)
    client.assign_role(name, roles["member"])
    if promoter:
        client.assign_role(name, roles["promoter"])
    path = write_credentials(stack_dir, name, password, uri, s3_key)
    WeedShell(stack_settings(stack_dir)).add(name, "promoter" if promoter else "member",
                                             *s3_key)
    return path


def revoke_member(stack_dir: Path, uri: str, name: str) -> None:
    """Remove ``name``'s S3 key, MLflow login and credentials file; nobody else's."""
    if name in STACK_USERS:
        raise InputError(f"{name!r} is the stack's own user, not a member")
    _as_admin(secrets_file.read(stack_dir / "secrets.env"))
    client = AuthServiceClient(uri)
    shell = WeedShell(stack_settings(stack_dir))
    known = [_has_user(client, name), name in shell.users(),
             credentials_path(stack_dir, name).exists()]
    if not any(known):
        raise InputError(f"no member {name!r} on {uri}")
    if known[1]:
        shell.remove(name)
    if known[0]:
        client.delete_user(name)
    credentials_path(stack_dir, name).unlink(missing_ok=True)


def migrate(stack_dir: Path) -> list[str]:
    """Give each member of a stack made before per-member keys their own S3 key pair, and
    forget the pair they shared; the members migrated (hand each their new file)."""
    secrets_path = stack_dir / "secrets.env"
    secrets = secrets_file.read(secrets_path)
    if SHARED_MEMBER_KEY[0] not in secrets:
        return []
    shared = secrets[SHARED_MEMBER_KEY[0]]
    migrated = []
    for name in members(stack_dir):
        path = credentials_path(stack_dir, name)
        values = secrets_file.read(path)
        if values.get("AWS_ACCESS_KEY_ID") == shared:
            values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"] = new_s3_key()
            secrets_file.write(path, values)
            migrated.append(name)
    secrets_file.write(secrets_path, {k: v for k, v in secrets.items()
                                      if k not in SHARED_MEMBER_KEY})
    return migrated


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["bootstrap", "add-member", "revoke-member", "migrate",
                                        "team-models"])
    p.add_argument("name", nargs="?", help="add-member, revoke-member: the member's name")
    p.add_argument("--promoter", action="store_true",
                   help="add-member: may also move the champion alias")
    p.add_argument("--stack-dir", type=Path)
    p.add_argument("--uri", help="the stack's MLflow server")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = p.parse_args(argv)
    needs = {"bootstrap": ("stack_dir", "uri"), "add-member": ("stack_dir", "uri", "name"),
             "revoke-member": ("stack_dir", "uri", "name"), "migrate": ("stack_dir",),
             "team-models": ()}[args.command]
    missing = [f"--{n.replace('_', '-')}" if n != "name" else "the member's name"
               for n in needs if not getattr(args, n)]
    if missing:
        p.error(f"{args.command} needs {', '.join(missing)}")
    try:
        if args.command == "bootstrap":
            bootstrap(args.stack_dir, args.uri, args.params)
        elif args.command == "add-member":
            path = add_member(args.stack_dir, args.uri, args.name, args.promoter)
            role = "member and promoter" if args.promoter else "member"
            print(f"team-stack: added {args.name} ({role}); hand them {path} (mode 0600), "
                  f"to use as: set -a; . {path.name}; set +a")
        elif args.command == "revoke-member":
            revoke_member(args.stack_dir, args.uri, args.name)
            print(f"team-stack: revoked {args.name}: their MLflow login and S3 key no longer "
                  f"work; nobody else's changed")
        elif args.command == "migrate":
            moved = migrate(args.stack_dir)
            print(f"team-stack: {args.stack_dir} has no shared member key any more; "
                  f"{len(moved)} members got their own ({', '.join(moved) or 'none'}): hand "
                  f"each their new credentials file")
        else:
            print(",".join(team_models(args.params)))
    except (InputError, MlflowException) as err:
        sys.exit(f"team-stack: {str(err).splitlines()[0]}")


if __name__ == "__main__":
    main()
