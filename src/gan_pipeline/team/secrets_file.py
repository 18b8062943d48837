"""The team stack's secrets: shell-sourceable ``KEY=value`` files, mode 0600: the stack's own,
generated at its first start, and each user's credentials.

It lives in the stack's folder (``.team-stack/``, ignored by git and outside every DVC
output). A file that others can read is refused, as ssh refuses such a key. Writes go to a
temporary file in the same folder, made 0600 before anything is written, and replace the
old file in one rename, so an interrupted write leaves the old file whole.

    python -m gan_pipeline.team.secrets_file ensure FILE   # generate what is missing
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import sys
import tempfile
from pathlib import Path

from gan_pipeline.errors import InputError

# What the stack's first start generates: its admin, its read-only CI user, PostgreSQL's
# password, the S3 key pairs of the MLflow server and of CI (read-only), and the key that
# signs MLflow's sessions. Each member's S3 key pair is made with them (team.access).
STACK_SECRETS = {
    "MLFLOW_ADMIN_PASSWORD": "password", "MLFLOW_CI_PASSWORD": "password",
    "PG_PASSWORD": "password", "MLFLOW_FLASK_SERVER_SECRET_KEY": "password",
    "S3_SERVER_ACCESS_KEY_ID": "key_id", "S3_SERVER_SECRET_ACCESS_KEY": "password",
    "S3_CI_ACCESS_KEY_ID": "key_id", "S3_CI_SECRET_ACCESS_KEY": "password",
}
# Values need no quoting in a shell: url-safe secrets, and URLs.
_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=([A-Za-z0-9_.:/@%+=-]+)$")


def generate(kind: str) -> str:
    """A fresh secret: 32 url-safe random bytes for a password, 20 upper-case letters and
    digits for an S3 access key id (the shape AWS uses). A password never starts with "-":
    a command line would take it for an option (`dvc remote modify --local team
    secret_access_key -q...` fails), and one draw in 64 did."""
    if kind == "key_id":
        return "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(20))
    while (password := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return password


def read(path: Path) -> dict[str, str]:
    """The secrets in ``path``; refused, naming the file, if others may read it or a line is
    not ``KEY=value``."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InputError(f"{path} holds the team stack's secrets but has mode {mode:04o}: "
                         f"others may read it; run `chmod 600 {path}`")
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            match = _LINE.match(line)
            if match is None:
                raise InputError(f"{path}:{number}: not a KEY=value line of the secrets file")
            values[match[1]] = match[2]
    return values


def add(path: Path, new: dict[str, str]) -> None:
    """Write ``new`` into ``path`` beside what it holds (a key it holds is refused)."""
    current = read(path) if path.exists() else {}
    taken = sorted(set(new) & set(current))
    if taken:
        raise InputError(f"{path} already holds {', '.join(taken)}")
    write(path, {**current, **new})


def write(path: Path, values: dict[str, str]) -> None:
    """Replace ``path`` with ``values``, in one rename."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write("# The team stack's secrets (make team-stack). Keep this file 0600.\n")
            out.write("".join(f"{key}={value}\n" for key, value in values.items()))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure(path: Path) -> dict[str, str]:
    """The stack's secrets, generating those ``path`` does not hold yet."""
    current = read(path) if path.exists() else {}
    missing = {key: generate(kind) for key, kind in STACK_SECRETS.items() if key not in current}
    if missing:
        add(path, missing)
    return {**current, **missing}


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "ensure":
        sys.exit("usage: python -m gan_pipeline.team.secrets_file ensure FILE")
    try:
        ensure(Path(sys.argv[2]))
    except InputError as err:
        sys.exit(f"team-stack: {err}")
