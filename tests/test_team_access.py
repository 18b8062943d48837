"""The team stack lets in only its members (scripts/team_stack.sh, gan_pipeline.team): MLflow's
basic-auth app with roles, PostgreSQL with scram-sha-256, S3 with a key pair per role, the
secrets in no output, log or command line, and tampered artifacts caught. Real servers on
127.0.0.1, started as `make team-stack` starts them."""

from __future__ import annotations

import glob
import hashlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import botocore
import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from helpers import REPO, free_ports
from repo_helpers import run
from servers import wait_for
from team_stack import BUCKET, Stack, mlflow_env, running_stack, use_s3_remote

pytestmark = pytest.mark.slow
MODEL = "dcgan-mnist-generator"
API = "/api/2.0/mlflow"


def as_user(stack: Stack, user: str, monkeypatch) -> MlflowClient:
    for key, value in mlflow_env(stack.credentials(user)).items():
        monkeypatch.setenv(key, value)
    return MlflowClient(stack.mlflow)


def refusal_line(done: subprocess.CompletedProcess) -> str:
    """The one line a refused command ends with (before it: MLflow's download progress
    bar), and no traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip().splitlines()[-1]


def command(stack: Stack, user: str, script: str, *args: str, repo: Path,
            password: str | None = None) -> subprocess.CompletedProcess:
    """A command of stages/ run in ``repo`` as ``user`` (with ``password`` instead of
    theirs), its output kept for the secrets check."""
    env = {**os.environ, **mlflow_env(stack.credentials(user))}
    if password is not None:
        env["MLFLOW_TRACKING_PASSWORD"] = password
    done = subprocess.run([sys.executable, str(REPO / "stages" / script), "--params",
                           "params.yaml", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300)
    stack.output += [done.stdout, done.stderr]
    return done


def s3_client(stack: Stack, keys: dict[str, str] | None):
    config = botocore.config.Config(signature_version=botocore.UNSIGNED) if keys is None \
        else None
    return boto3.client("s3", endpoint_url=stack.s3, region_name="us-east-1", config=config,
                        aws_access_key_id=keys and keys["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=keys and keys["AWS_SECRET_ACCESS_KEY"])


def server_s3(stack: Stack):
    secrets = stack.secrets()
    return s3_client(stack, {"AWS_ACCESS_KEY_ID": secrets["S3_SERVER_ACCESS_KEY_ID"],
                             "AWS_SECRET_ACCESS_KEY": secrets["S3_SERVER_SECRET_ACCESS_KEY"]})


def objects(s3, prefix: str) -> list[str]:
    return [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=prefix) for o in page.get("Contents", [])]


def flip_a_byte(s3, key: str) -> bytes:
    """Flip one byte of an object in place (as bit rot or an intruder would); returns the
    original bytes."""
    original = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key,
                  Body=original[:100] + bytes([original[100] ^ 0xFF]) + original[101:])
    return original


def test_no_or_wrong_credentials_get_401(team_stack):
    for path, body in [("/experiments/create", {"name": "x"}),
                       ("/registered-models/create", {"name": MODEL + "-x"})]:
        assert requests.post(team_stack.mlflow + API + path, json=body,
                             timeout=30).status_code == 401
        assert requests.post(team_stack.mlflow + API + path, json=body, timeout=30,
                             auth=("admin", "not-the-password")).status_code == 401
    assert requests.get(team_stack.mlflow + API + "/experiments/search?max_results=1",
                        timeout=30).status_code == 401


def test_a_command_with_a_wrong_password_fails_in_one_line_naming_the_user(team_stack,
                                                                          pushed):
    done = command(team_stack, "alice", "promote.py", "--generator",
                   "models/generator.keras", repo=pushed, password="not-her-password")
    line = refusal_line(done)
    assert "refused user 'alice'" in line and "(401, wrong or missing credentials)" in line


def test_a_members_pipeline_run_is_recorded_with_its_generators_digest(team_stack, pushed,
                                                                       monkeypatch):
    ci = as_user(team_stack, "ci", monkeypatch)  # CI reads all of it
    experiment = ci.get_experiment_by_name("dcgan-mnist")
    [run_] = ci.search_runs([experiment.experiment_id], "tags.generator_sha256 != ''")
    assert "quality/fid" in run_.data.metrics
    digest = hashlib.sha256((pushed / "models/generator.keras").read_bytes()).hexdigest()
    [version] = ci.search_model_versions(f"name = '{MODEL}' and run_id = '{run_.info.run_id}'")
    assert version.tags["generator_sha256"] == digest


def test_ci_may_read_but_not_register_promote_or_delete(team_stack, pushed, monkeypatch):
    ci = as_user(team_stack, "ci", monkeypatch)
    [version] = ci.search_model_versions(f"name = '{MODEL}'")
    attempts = {
        "register": lambda: ci.create_model_version(MODEL, version.source, version.run_id),
        "move an alias": lambda: ci.set_registered_model_alias(MODEL, "champion",
                                                               version.version),
        "delete a run": lambda: ci.delete_run(version.run_id),
        "delete a model": lambda: ci.delete_registered_model(MODEL),
    }
    for what, attempt in attempts.items():
        with pytest.raises(MlflowException) as refused:
            attempt()
        assert refused.value.get_http_status_code() == 403, what
    done = command(team_stack, "ci", "promote.py", "--generator", "models/generator.keras",
                   repo=pushed)
    line = refusal_line(done)
    assert "refused user 'ci'" in line and "403" in line and "alias" in line, line


def test_only_a_promoter_moves_the_champion(team_stack, pushed):
    done = command(team_stack, "alice", "promote.py", "--generator",
                   "models/generator.keras", repo=pushed)
    line = refusal_line(done)
    assert "refused user 'alice'" in line and "'champion' alias" in line, line
    team_stack.add_member("bob", promoter=True)
    done = command(team_stack, "bob", "promote.py", "--generator", "models/generator.keras",
                   repo=pushed)
    assert done.returncode == 0, done.stderr
    assert "promote: promoted: version 1" in done.stdout, done.stdout


def test_serve_checks_and_serves_the_champion(team_stack, pushed):
    port = free_ports()[0]
    env = {**os.environ, **mlflow_env(team_stack.credentials("ci"))}
    log = pushed.parent / "serve.log"
    proc = subprocess.Popen([sys.executable, str(REPO / "stages/serve.py"), "--params",
                             "params.yaml", "--port", str(port)], cwd=pushed, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/ping", proc, timeout_s=180)
        answer = requests.post(f"http://127.0.0.1:{port}/invocations", timeout=60,
                               json={"inputs": [[0.0] * 100]})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 1
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # serve.py stops the server it started
        proc.wait(timeout=60)
    output = log.read_text()
    team_stack.output.append(output)
    assert "version 1: generator file checked" in output, output
    assert proc.returncode is not None and not subprocess.run(
        ["pgrep", "-f", f"-p {port}"], capture_output=True, timeout=30).stdout


def test_a_tampered_registered_model_is_refused_naming_its_version(team_stack, pushed):
    s3 = server_s3(team_stack)
    [key] = [k for k in objects(s3, "mlflow/") if k.endswith("generator.keras")]
    original = flip_a_byte(s3, key)
    try:
        for script, args in [("promote.py", ["--generator", "models/generator.keras"]),
                             ("serve.py", ["--port", str(free_ports()[0])])]:
            line = refusal_line(command(team_stack, "bob", script, *args, repo=pushed))
            assert f"model {MODEL} version 1" in line and "changed" in line, line
    finally:
        s3.put_object(Bucket=BUCKET, Key=key, Body=original)


def test_a_tampered_remote_object_or_cache_file_never_lands(team_stack, pushed, tmp_path):
    alice = team_stack.credentials("alice")
    use_s3_remote(pushed, team_stack, alice, name="tamper", prefix="tamper")
    run(["dvc", "push", "-r", "tamper", "models/generator.keras"], pushed)
    good = (pushed / "models/generator.keras").read_bytes()
    md5 = hashlib.md5(good).hexdigest()
    s3 = server_s3(team_stack)
    flip_a_byte(s3, f"tamper/files/md5/{md5[:2]}/{md5[2:]}")
    b = tmp_path / "clone"
    run(["git", "clone", "-q", str(pushed), str(b)], tmp_path)
    use_s3_remote(b, team_stack, alice, prefix="tamper")
    done = run(["dvc", "pull", "models/generator.keras"], b, check=False)
    assert done.returncode != 0
    assert "models/generator.keras" in done.stdout + done.stderr
    assert not (b / "models/generator.keras").exists()
    # A good remote, and then a flipped byte in the local cache, its read-only mode kept
    # (as bit rot leaves it): `make pull`'s cache check names and drops it, and the pull
    # fetches good bytes again.
    run(["dvc", "remote", "modify", "--local", "team", "url", f"s3://{BUCKET}/dvc"], b)
    run(["dvc", "pull", "models/generator.keras"], b)
    cached = b / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.write_bytes(good[:100] + bytes([good[100] ^ 0xFF]) + good[101:])
    cached.chmod(0o444)
    (b / "models/generator.keras").unlink()
    done = run([sys.executable, "-m", "gan_pipeline.verification.cache_check"], b)
    assert "models/generator.keras: the cache file" in done.stderr, done.stderr
    run(["dvc", "pull", "models/generator.keras"], b)
    assert (b / "models/generator.keras").read_bytes() == good


def test_postgresql_refuses_connections_without_the_password(team_stack):
    psql = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1]
    for host, password in [("127.0.0.1", None), ("127.0.0.1", "wrong"),
                           (str(team_stack.dir / "pg-run"), None)]:
        env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
        env.pop("PGPASSFILE", None)
        done = subprocess.run([psql, "-h", host, "-p", str(team_stack.pg_port), "-U", "mlflow",
                               "-d", "mlflow", "-w", "-c", "select 1"], env=env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode != 0, (host, done.stdout)
        assert "password" in done.stderr, done.stderr


def test_s3_refuses_unsigned_wrong_and_read_only_writes(team_stack, pushed):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3_client(team_stack, None).list_objects_v2(Bucket=BUCKET)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    wrong = {"AWS_ACCESS_KEY_ID": "AKIANOTAKEY000000000", "AWS_SECRET_ACCESS_KEY": "nope"}
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3_client(team_stack, wrong).list_objects_v2(Bucket=BUCKET)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    ci = s3_client(team_stack, team_stack.credentials("ci"))
    assert objects(ci, "dvc/")  # CI reads the remote...
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ci.put_object(Bucket=BUCKET, Key="dvc/by-ci", Body=b"x")  # ...and writes nothing
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_an_insecure_stack_folder_or_secrets_file_is_refused(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "TEAM_STACK_HOST": "0.0.0.0"}
    trusting = tmp_path / "old"
    (trusting / "pg").mkdir(parents=True)
    (trusting / "pg/PG_VERSION").write_text("15\n")
    (trusting / "pg/pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
    open_secrets = tmp_path / "open"
    open_secrets.mkdir()
    (open_secrets / "secrets.env").write_text("PG_PASSWORD=x\n")
    (open_secrets / "secrets.env").chmod(0o644)
    for folder, reason in [(trusting, "trust authentication"), (open_secrets, "mode 0644")]:
        done = subprocess.run(["bash", str(REPO / "scripts/team_stack.sh")], timeout=120,
                              env={**env, "STACK_DIR": str(folder)}, capture_output=True,
                              text=True)
        assert done.returncode == 1 and reason in done.stderr, done.stderr
        assert "up at" not in done.stdout


def non_loopback_ipv4() -> str | None:
    done = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                          capture_output=True, text=True, timeout=30)
    addresses = [line.split()[3].split("/")[0] for line in done.stdout.splitlines()]
    return addresses[0] if addresses else None


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return True
    except OSError:  # refused: nothing listens on that address
        return False


@pytest.mark.skipif(non_loopback_ipv4() is None, reason="this host has no other IPv4 address")
def test_beyond_loopback_only_mlflow_and_the_s3_front_listen_there():
    host = non_loopback_ipv4()
    with running_stack({"TEAM_STACK_HOST": host}) as stack:
        s3_port = int(stack.s3.rsplit(":", 1)[1])
        mlflow_port = int(stack.mlflow.rsplit(":", 1)[1])
        ports = {stack.pg_port, s3_port, mlflow_port}
        ports |= {s3_port + i for i in (1, 2, 3, 10, 11, 12, 13)}  # SeaweedFS's own
        # Connecting, not reading `ss`: on one CI host `ss` listed none of the stack's
        # sockets, and a connection also catches a server bound to 0.0.0.0.
        assert sorted(port for port in ports if accepts(host, port)) == \
            sorted([s3_port, mlflow_port])
        assert requests.get(f"http://{host}:{s3_port}/healthz",
                            timeout=30).headers["Server"].startswith("nginx")
        s3 = boto3.client("s3", endpoint_url=f"http://{host}:{s3_port}",
                          region_name="us-east-1",
                          **{k.lower(): v for k, v in stack.credentials("ci").items()
                             if k.startswith("AWS_")})
        assert s3.list_objects_v2(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert requests.get(f"http://{host}:{stack.mlflow.rsplit(':', 1)[1]}"
                            f"{API}/experiments/search?max_results=1",
                            timeout=30).status_code == 401


def test_no_secret_in_any_output_log_command_line_or_mlflow_param(team_stack, pushed,
                                                                  monkeypatch):
    """Last of the module: after every command above has written its output."""
    secrets = set(team_stack.secrets().values())
    for path in (team_stack.dir / "credentials").glob("*.env"):
        secrets.add(team_stack.credentials(path.stem)["MLFLOW_TRACKING_PASSWORD"])
    texts = {"the stack's and the commands' output": "\n".join(team_stack.output)}
    for path in team_stack.dir.rglob("*"):
        inside = path.relative_to(team_stack.dir).parts[0]
        if path.is_file() and inside not in ("secrets.env", "credentials", "pg", "s3"):
            texts[str(path)] = path.read_text(errors="replace")
    for rel in ("params.yaml", "dvc.lock", ".dvc/config", "reports/metrics.json"):
        texts[rel] = (pushed / rel).read_text()
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            texts[cmdline] = Path(cmdline).read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:  # the process ended
            pass
    ci = as_user(team_stack, "ci", monkeypatch)
    for run_ in ci.search_runs([ci.get_experiment_by_name("dcgan-mnist").experiment_id]):
        texts[f"run {run_.info.run_id}"] = repr(run_.data.params) + repr(run_.data.tags)
    assert len(texts) > 10 and all(len(s) >= 20 for s in secrets)
    leaks = [(where, s[:4] + "…") for where, text in texts.items() for s in secrets if s in text]
    assert not leaks, leaks
