"""The team stack's S3 users: one SeaweedFS IAM user, with its own key pair, per member.

Made and removed while the stack runs, through `weed shell` on 127.0.0.1 (the secrets go to
its standard input, never a command line). The gateway takes a change within a second.
What a key may do is its role's IAM policy, on the stack's bucket:

* ``member``: list the bucket, read every object, write objects under ``dvc/files/``
  (DVC's content-addressed cache);
* ``promoter``: also the rest of ``dvc/``, the run cache (``dvc/runs/``) included: a
  restored stage's outputs are what a promoter pushed.

No policy grants a delete. No policy can refuse an overwrite either (SeaweedFS checks no
condition on an object that exists): the stack's nginx adds ``If-None-Match: *`` to every
write but the MLflow server's, which the gateway refuses (412) where the object exists.
CI's read-only key and the server's are the gateway's static identities
(scripts/team_stack.sh).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from gan_pipeline.errors import InputError

SHELL_TIMEOUT_S = 60


def policies(bucket: str) -> dict[str, dict]:
    """Each role's IAM policy document."""
    def allow(actions: list[str], *resources: str) -> dict:
        return {"Effect": "Allow", "Action": actions,
                "Resource": [f"arn:aws:s3:::{bucket}{r}" for r in resources]}

    read = [allow(["s3:ListBucket"], ""), allow(["s3:GetObject"], "/*")]
    write = ["s3:PutObject", "s3:AbortMultipartUpload"]
    return {"member": {"Version": "2012-10-17",
                       "Statement": [*read, allow(write, "/dvc/files/*")]},
            "promoter": {"Version": "2012-10-17",
                         "Statement": [*read, allow(write, "/dvc/*")]}}


def policy_name(role: str) -> str:
    return f"team-{role}"


class WeedShell:
    """`weed shell` against the stack's master and filer (``stack.env``)."""

    def __init__(self, stack: dict[str, str]):
        self.args = ["weed", "shell", f"-master={stack['SEAWEEDFS_MASTER']}",
                     f"-filer={stack['SEAWEEDFS_FILER']}"]
        self.bucket = stack["BUCKET"]

    def run(self, commands: list[str], allowed_errors: tuple[str, ...] = ()) -> str:
        """Run ``commands``; their standard output. An error is refused, naming the command
        (never its arguments: they may hold a secret)."""
        done = subprocess.run(self.args, input="\n".join(commands) + "\n", text=True,
                              capture_output=True, timeout=SHELL_TIMEOUT_S)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        unexpected = [e for e in errors if not any(a in e for a in allowed_errors)]
        if done.returncode != 0 or unexpected:
            verbs = ", ".join(c.split()[0] for c in commands)
            raise InputError(f"team-stack: SeaweedFS's shell failed ({verbs}): "
                             f"{(unexpected or [f'exit {done.returncode}'])[0]}")
        return done.stdout

    def put_policies(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            commands = []
            for role, document in policies(self.bucket).items():
                path = Path(tmp) / f"{role}.json"
                path.write_text(json.dumps(document))
                commands.append(f"s3.policy -put -name={policy_name(role)} -file={path}")
            self.run(commands)

    def users(self) -> list[str]:
        listed = self.run(["s3.user.list"]).strip()
        start = listed.find("[")
        return [] if start < 0 else [u["name"] for u in json.loads(listed[start:]) or []]

    def add(self, name: str, role: str, key_id: str, secret: str) -> None:
        self.run([f"s3.user.create -name={name} -access_key={key_id} -secret_key={secret}",
                  f"s3.policy.attach -policy={policy_name(role)} -user={name}"])

    def remove(self, name: str) -> None:
        self.run([f"s3.user.delete -name={name}"])
