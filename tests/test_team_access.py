"""The team stack keeps its promises against strangers and against its own users
(scripts/team_stack.sh, gan_pipeline.team; the threat model in docs/mlflow.md): MLflow's
basic-auth app with roles and the team's rules, PostgreSQL with scram-sha-256, S3 with a key
per member behind nginx, the secrets in no output, log or command line, and every change
to a promoted model caught. Real servers on 127.0.0.1, started as `make team-stack` starts
them; each attack is sent as the user it names, and must end refused, changing nothing."""

from __future__ import annotations

import glob
import hashlib
import json
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
from gan_pipeline.team import secrets_file

pytestmark = pytest.mark.slow
MODEL = "dcgan-mnist-generator"
API = "/api/2.0/mlflow"


def as_user(stack: Stack, user: str, monkeypatch) -> MlflowClient:
    for key, value in mlflow_env(stack.credentials(user)).items():
        monkeypatch.setenv(key, value)
    return MlflowClient(stack.mlflow)


def login(stack: Stack, user: str) -> tuple[str, str]:
    if user == "admin":
        return "admin", stack.secrets()["MLFLOW_ADMIN_PASSWORD"]
    return user, stack.credentials(user)["MLFLOW_TRACKING_PASSWORD"]


def call(stack: Stack, user: str, method: str, route: str, prefix: str = API,
         **kwargs) -> requests.Response:
    """One plain HTTP request to the MLflow server as ``user``."""
    return requests.request(method, f"{stack.mlflow}{prefix}/{route}", timeout=30,
                            auth=login(stack, user), **kwargs)


def refused(answer: requests.Response, user: str) -> str:
    """The one-line refusal, naming the user."""
    assert answer.status_code == 403, (answer.status_code, answer.text)
    line = answer.text.strip()
    assert "\n" not in line and line.startswith(f"Permission denied: user '{user}' may not "), \
        line
    return line


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


def s3_client(endpoint: str, keys: dict[str, str] | None):
    config = botocore.config.Config(signature_version=botocore.UNSIGNED) if keys is None \
        else botocore.config.Config(retries={"max_attempts": 1})
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config,
                        aws_access_key_id=keys and keys["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=keys and keys["AWS_SECRET_ACCESS_KEY"])


def server_s3(stack: Stack):
    """The MLflow server's key, the way it comes: straight to the gateway."""
    secrets = stack.secrets()
    return s3_client(stack.gateway, {
        "AWS_ACCESS_KEY_ID": secrets["S3_SERVER_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": secrets["S3_SERVER_SECRET_ACCESS_KEY"]})


def s3_code(attempt) -> int:
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        attempt()
    return failed.value.response["ResponseMetadata"]["HTTPStatusCode"]


def objects(s3, prefix: str) -> dict[str, str]:
    """Every object under ``prefix``, with its ETag."""
    return {o["Key"]: o["ETag"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=prefix) for o in page.get("Contents", [])}


def flip_a_byte(s3, key: str) -> bytes:
    """Flip one byte of an object in place (as bit rot or an intruder would); returns the
    original bytes."""
    original = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key,
                  Body=original[:100] + bytes([original[100] ^ 0xFF]) + original[101:])
    return original


@pytest.fixture(scope="module")
def champion(team_stack, pushed) -> str:
    """Bob, a promoter, promotes alice's version 1: the team model's champion."""
    done = command(team_stack, "bob", "promote.py", "--generator", "models/generator.keras",
                   repo=pushed)
    assert done.returncode == 0, done.stderr
    assert "promote: promoted: version 1" in done.stdout, done.stdout
    return "1"


def registry_state(stack: Stack) -> dict:
    """What the attacks must leave as it was: the team model, its versions, aliases, tags."""
    model = call(stack, "ci", "GET", "registered-models/get", params={"name": MODEL})
    versions = call(stack, "ci", "GET", "model-versions/search",
                    params={"filter": f"name = '{MODEL}'"})
    assert model.ok and versions.ok, (model.text, versions.text)
    drop = ("last_updated_timestamp",)
    return {"model": {k: v for k, v in model.json()["registered_model"].items() if k not in drop},
            "versions": [{k: v for k, v in mv.items() if k not in drop}
                         for mv in versions.json()["model_versions"]]}


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


def test_only_a_promoter_moves_the_champion(team_stack, pushed):
    """Attack 2, by the promote command and directly, before bob promotes (`champion`)."""
    for user in ("alice", "ci"):
        done = command(team_stack, user, "promote.py", "--generator",
                       "models/generator.keras", repo=pushed)
        line = refusal_line(done)
        assert f"refused user '{user}'" in line and "registered-models/alias" in line, line
        for prefix in (API, "/ajax-api/2.0/mlflow"):
            line = refused(call(team_stack, user, "POST", "registered-models/alias",
                                prefix=prefix, json={"name": MODEL, "alias": "champion",
                                                     "version": "1"}), user)
            assert "registered-models/alias" in line, line


def test_ci_reads_but_creates_registers_and_deletes_nothing(team_stack, pushed, champion,
                                                            monkeypatch):
    ci = as_user(team_stack, "ci", monkeypatch)
    [version] = ci.search_model_versions(f"name = '{MODEL}'")
    experiment = ci.get_experiment_by_name("dcgan-mnist").experiment_id
    attempts = {
        "register": lambda: ci.create_model_version(MODEL, version.source, version.run_id),
        "move an alias": lambda: ci.set_registered_model_alias(MODEL, "champion",
                                                               version.version),
        "delete a run": lambda: ci.delete_run(version.run_id),
        "delete a model": lambda: ci.delete_registered_model(MODEL),
        "create an experiment": lambda: ci.create_experiment("ci-experiment"),
        "create a run": lambda: ci.create_run(experiment),
        "create a model": lambda: ci.create_registered_model("ci-model"),
    }
    for what, attempt in attempts.items():
        with pytest.raises(MlflowException) as failed:
            attempt()
        assert failed.value.get_http_status_code() == 403, what
        assert "user 'ci' may not" in failed.value.message, (what, failed.value.message)
    prompt = {"name": "ci-prompt", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}
    refused(call(team_stack, "ci", "POST", "registered-models/create", json=prompt), "ci")
    assert not [m.name for m in ci.search_registered_models() if m.name.startswith("ci-")]
    assert not ci.search_experiments(filter_string="name = 'ci-experiment'")


def test_a_member_changes_nothing_of_the_team_model_but_its_new_versions(team_stack,
                                                                         champion):
    before = registry_state(team_stack)
    attempts = [  # (method, route, body): attacks 4, 5 and 8, and their neighbours
        ("POST", "registered-models/rename", {"name": MODEL, "new_name": "renamed"}),
        ("PATCH", "registered-models/update", {"name": MODEL, "description": "mine"}),
        ("POST", "registered-models/set-tag", {"name": MODEL, "key": "k", "value": "v"}),
        ("DELETE", "registered-models/delete", {"name": MODEL}),
        ("POST", "registered-models/alias", {"name": MODEL, "alias": "mine", "version": "1"}),
        ("DELETE", "registered-models/alias", {"name": MODEL, "alias": "champion"}),
        ("DELETE", "model-versions/delete", {"name": MODEL, "version": "1"}),
        ("POST", "model-versions/transition-stage",
         {"name": MODEL, "version": "1", "stage": "Production",
          "archive_existing_versions": False}),
        ("POST", "model-versions/set-tag",
         {"name": MODEL, "version": "1", "key": "generator_sha256", "value": "0" * 64}),
        ("DELETE", "model-versions/delete-tag",
         {"name": MODEL, "version": "1", "key": "generator_sha256"}),
        ("POST", "model-versions/set-tag",
         {"name": MODEL, "version": "1", "key": "run_id", "value": "another"}),
        ("POST", "model-versions/set-tag",
         {"name": MODEL, "version": "1", "key": "fid", "value": "0.1"}),
        ("POST", "model-versions/set-tag",
         {"name": MODEL, "version": "1", "key": "promoted_files_sha256", "value": "{}"}),
    ]
    for method, route, body in attempts:
        for prefix in (API, "/ajax-api/2.0/mlflow"):
            line = refused(call(team_stack, "alice", method, route, prefix=prefix,
                                json=body), "alice")
            assert f"'{MODEL}'" in line, line
    assert registry_state(team_stack) == before
    # Attack 5: a team model's name. Taken, MLflow says so (log_model relies on it); free
    # (a promoter deleted that model), only a promoter or the admin creates it.
    taken = call(team_stack, "alice", "POST", "registered-models/create", json={"name": MODEL})
    assert taken.status_code == 400 and "RESOURCE_ALREADY_EXISTS" in taken.text, taken.text
    free = "dcgan-cifar10-generator"
    assert call(team_stack, "bob", "DELETE", "registered-models/delete", json={"name": free}).ok
    refused(call(team_stack, "alice", "POST", "registered-models/create", json={"name": free}),
            "alice")
    assert call(team_stack, "bob", "POST", "registered-models/create", json={"name": free}).ok
    # Its end: her own run's version registers (members register), but it gets
    # neither the champion nor a promotion record.
    source, run_id = before["versions"][0]["source"], before["versions"][0]["run_id"]
    registered = {"source": source, "run_id": run_id,  # source: models:/<logged model id>
                  "model_id": source.removeprefix("models:/")}
    mine = call(team_stack, "alice", "POST", "model-versions/create", json={
        "name": MODEL, **registered,
        "tags": [{"key": "promoted_files_sha256", "value": "{}"}]})
    refused(mine, "alice")
    mine = call(team_stack, "alice", "POST", "model-versions/create",
                json={"name": MODEL, **registered})
    assert mine.ok, mine.text
    version = mine.json()["model_version"]["version"]
    refused(call(team_stack, "alice", "POST", "registered-models/alias",
                 json={"name": MODEL, "alias": "champion", "version": version}), "alice")
    champion_now = call(team_stack, "ci", "GET", "registered-models/alias",
                        params={"name": MODEL, "alias": "champion"})
    assert champion_now.json()["model_version"]["version"] == champion


def test_a_request_whose_query_and_body_disagree_changes_nothing(team_stack, champion):
    """Attack 7 and its destructive variants: MLflow's permission check reads a DELETE's
    query unless its body is JSON; its handlers read the body whatever its type."""
    before = registry_state(team_stack)
    assert call(team_stack, "alice", "POST", "registered-models/create",
                json={"name": "alices-model"}).ok  # hers: she may MANAGE it
    targets = [("registered-models/alias", {"alias": "champion"}),
               ("model-versions/delete", {"version": champion}),
               ("registered-models/delete", {})]
    for user in ("alice", "ci"):
        for route, extra in targets:
            query = {"name": "alices-model", **extra}
            team = json.dumps({"name": MODEL, **extra})
            for kwargs in [{"data": team, "headers": {"Content-Type": "text/plain"}},
                           {"data": team, "headers": {}},
                           {"data": team, "headers": {"Content-Type": "application/json"}},
                           {}]:
                line = refused(call(team_stack, user, "DELETE", route, params=query,
                                    **kwargs), user)
                assert route in line, line
    assert registry_state(team_stack) == before


def test_experiments_keep_their_artifacts_under_the_servers_root(team_stack, pushed):
    """Attack 9: else the server writes where the location says, with its own S3 key."""
    for i, location in enumerate(["s3://dcgan/dvc/files/md5", "mlflow-artifacts:/../dvc",
                                  "file:///tmp/elsewhere"]):
        for user in ("alice", "bob", "admin"):
            line = refused(call(team_stack, user, "POST", "experiments/create", json={
                "name": f"{user}-{i}", "artifact_location": location}), user)
            assert "under the server's root mlflow-artifacts:/" in line, line
    assert call(team_stack, "alice", "POST", "experiments/create",
                json={"name": "alices-experiment"}).ok


def test_only_the_admin_grants_permissions(team_stack, champion):
    """Attack 10: promoting is not administering."""
    grants = [("/api/3.0/mlflow", "users/permissions/grant",
               {"username": "alice", "resource_type": "registered_model",
                "resource_id": MODEL, "permission": "MANAGE"}),
              (API, "registered-models/permissions/create",
               {"name": MODEL, "username": "alice", "permission": "MANAGE"}),
              (API, "experiments/permissions/create",
               {"experiment_id": "1", "username": "alice", "permission": "MANAGE"}),
              ("/api/3.0/mlflow", "roles/assign", {"username": "alice", "role_id": 1}),
              (API, "users/create", {"username": "mallory", "password": "x" * 16})]
    for user in ("bob", "alice", "ci"):
        for prefix, route, body in grants:
            line = refused(call(team_stack, user, "POST", route, prefix=prefix, json=body),
                           user)
            assert route in line, line
    refused(call(team_stack, "alice", "POST", "registered-models/alias",
                 json={"name": MODEL, "alias": "champion", "version": champion}), "alice")


def test_a_route_with_no_rule_is_refused(team_stack):
    """MLFLOW_BASIC_AUTH_FAIL_CLOSED: no validator, no access (a 404 would mean it passed)."""
    for user in ("alice", "ci"):
        line = refused(call(team_stack, user, "GET", "no-such-route"), user)
        assert "no-such-route" in line, line


def test_member_keys_write_new_objects_and_nothing_else(team_stack, pushed):
    """Attacks 11 and 12, and the run cache: a member adds objects to DVC's cache, and
    neither overwrites nor deletes one, nor writes a run-cache entry."""
    alice, bob, ci = (s3_client(team_stack.s3, team_stack.credentials(u))
                      for u in ("alice", "bob", "ci"))
    assert len({team_stack.credentials(u)["AWS_ACCESS_KEY_ID"]
                for u in ("alice", "bob", "ci")}) == 3
    before = objects(ci, "")
    [cached, *_] = [k for k in before if k.startswith("dvc/files/md5/")]
    [entry, *_] = [k for k in before if k.startswith("dvc/runs/")]
    new = "dvc/files/md5/00/" + "0" * 30
    alice.put_object(Bucket=BUCKET, Key=new, Body=b"new")  # a member adds to the cache
    assert s3_code(lambda: alice.put_object(Bucket=BUCKET, Key=cached, Body=b"x")) == 412
    assert s3_code(lambda: alice.copy_object(Bucket=BUCKET, Key=cached,
                                             CopySource={"Bucket": BUCKET, "Key": new})) == 412
    assert s3_code(lambda: alice.delete_object(Bucket=BUCKET, Key=cached)) == 403
    errors = alice.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": cached}]})["Errors"]
    assert [e["Code"] for e in errors] == ["AccessDenied"]
    for key in (entry, "dvc/runs/00/forged/entry", "mlflow/1/forged"):
        assert s3_code(lambda: alice.put_object(Bucket=BUCKET, Key=key, Body=b"x")) == 403
    assert s3_code(lambda: bob.put_object(Bucket=BUCKET, Key=cached, Body=b"x")) == 412
    assert s3_code(lambda: bob.delete_object(Bucket=BUCKET, Key=cached)) == 403
    assert s3_code(lambda: ci.put_object(Bucket=BUCKET, Key=new + "1", Body=b"x")) == 403
    # DVC's own run-cache push, as alice: refused (DVC says so, but exits 0).
    done = run(["dvc", "push", "--run-cache"], pushed, check=False)
    assert "AccessDenied" in done.stdout + done.stderr, done.stdout + done.stderr
    # A promoter pushes the run cache again (DVC rewrites its entries every time).
    done = run(["dvc", "push", "--run-cache", "-r", "promoter"], pushed)
    assert "ERROR" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert objects(ci, "") == {**before, new: objects(ci, new)[new]}


def test_revoking_a_member_during_their_push_touches_nobody_elses(team_stack, pushed,
                                                                  tmp_path):
    carol = team_stack.add_member("carol")
    others = objects(server_s3(team_stack), "")
    log = tmp_path / "push.log"
    with log.open("w") as out:  # carol pushes object after object until her key dies
        pushing = subprocess.Popen([sys.executable, "-c", """
import sys, boto3, botocore
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')
for i in range(4000):
    try:
        s3.put_object(Bucket=sys.argv[2], Key=f'dvc/files/md5/cc/{i:030d}', Body=bytes(2**18))
    except botocore.exceptions.ClientError as err:
        sys.exit(f"stopped after {i} objects: {err.response['Error']['Code']}")
""", team_stack.s3, BUCKET], stdout=out, stderr=subprocess.STDOUT, env={
            **os.environ, **{k: carol[k] for k in ("AWS_ACCESS_KEY_ID",
                                                   "AWS_SECRET_ACCESS_KEY")}})
    try:
        done = team_stack.revoke("carol")
    finally:
        pushing.wait(timeout=300)
    assert done.returncode == 0 and "revoked carol" in done.stdout, done.stdout + done.stderr
    assert "InvalidAccessKeyId" in log.read_text(), log.read_text()  # cut off mid-push
    assert not (team_stack.dir / "credentials/carol.env").exists()
    assert requests.get(f"{team_stack.mlflow}{API}/experiments/search?max_results=1",
                        auth=("carol", carol["MLFLOW_TRACKING_PASSWORD"]),
                        timeout=30).status_code == 401
    after = objects(server_s3(team_stack), "")
    assert {k: after.get(k) for k in others} == others  # nothing of anyone's lost
    for user in ("alice", "bob", "ci"):
        assert s3_client(team_stack.s3, team_stack.credentials(user)).list_objects_v2(
            Bucket=BUCKET, MaxKeys=1)["KeyCount"] == 1
    again = team_stack.revoke("carol")
    assert again.returncode != 0 and "no member 'carol'" in again.stderr, again.stderr


def test_serve_checks_and_serves_the_champion(team_stack, pushed, champion):
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
    assert f"version {champion}: its files are the promoted ones" in output, output
    assert proc.returncode is not None and not subprocess.run(
        ["pgrep", "-f", f"-p {port}"], capture_output=True, timeout=30).stdout


def test_a_promoted_model_changed_afterwards_is_refused_naming_the_file(team_stack, pushed,
                                                                        champion):
    """The artifact proxy lets a member with EDIT on the experiment overwrite a run's
    artifacts (MLflow's design): the promotion record makes that harmless. So is a flipped
    bit in the store."""
    store = server_s3(team_stack)
    keys = [k for k in objects(store, "mlflow/") if "/models/m-" in k]
    # The generator's logged model, by its pyfunc.py (the CycleGAN's translator is another).
    generator = {k.removesuffix("pyfunc.py").split("/artifacts/")[0] for k in keys
                 if k.endswith("/pyfunc.py")}
    model_files = {k: k.rsplit("/artifacts/", 1)[-1] for k in keys
                   if k.split("/artifacts/")[0] in generator}
    assert {"MLmodel", "pyfunc.py"} <= set(model_files.values()), model_files
    proxy = f"{team_stack.mlflow}/api/2.0/mlflow-artifacts/artifacts"
    for key, name in sorted(model_files.items()):
        if name not in ("MLmodel", "pyfunc.py", "artifacts/generator.keras"):
            continue
        original = store.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        if name == "artifacts/generator.keras":  # bit rot, in the store itself
            flip_a_byte(store, key)
        else:  # alice, through the server's artifact proxy
            answer = requests.put(f"{proxy}/{key.removeprefix('mlflow/')}", timeout=60,
                                  data=original + b"\n# changed\n",
                                  auth=login(team_stack, "alice"))
            assert answer.ok, answer.text
        try:
            for script, args in [("promote.py", ["--generator", "models/generator.keras"]),
                                 ("serve.py", ["--port", str(free_ports()[0])])]:
                line = refusal_line(command(team_stack, "bob", script, *args, repo=pushed))
                assert f"model {MODEL} version {champion}: its file {name} was changed " \
                       f"after promotion" in line, line
        finally:
            store.put_object(Bucket=BUCKET, Key=key, Body=original)


def test_a_tampered_remote_object_or_cache_file_never_lands(team_stack, pushed, tmp_path):
    bob = team_stack.credentials("bob")
    use_s3_remote(pushed, team_stack, bob, name="tamper", prefix="dvc/tamper")
    run(["dvc", "push", "-r", "tamper", "models/generator.keras"], pushed)
    good = (pushed / "models/generator.keras").read_bytes()
    md5 = hashlib.md5(good).hexdigest()
    flip_a_byte(server_s3(team_stack), f"dvc/tamper/files/md5/{md5[:2]}/{md5[2:]}")
    b = tmp_path / "clone"
    run(["git", "clone", "-q", str(pushed), str(b)], tmp_path)
    use_s3_remote(b, team_stack, bob, prefix="dvc/tamper")
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


def test_s3_refuses_unsigned_and_wrong_keys(team_stack, pushed):
    assert s3_code(lambda: s3_client(team_stack.s3, None).list_objects_v2(Bucket=BUCKET)) \
        == 403
    wrong = {"AWS_ACCESS_KEY_ID": "AKIANOTAKEY000000000", "AWS_SECRET_ACCESS_KEY": "nope"}
    assert s3_code(lambda: s3_client(team_stack.s3, wrong).list_objects_v2(Bucket=BUCKET)) \
        == 403


def test_the_stack_runs_hardened(team_stack):
    """nginx's workers are not root, a body over the limit is refused before it is read,
    SeaweedFS reports nothing home, and the MLflow server fails closed."""
    workers = [line.split() for line in subprocess.run(
        ["ps", "-o", "user=,args=", "-C", "nginx"], capture_output=True, text=True,
        timeout=30).stdout.splitlines() if "worker process" in line]
    assert workers and all(user != "root" for user, *_ in workers), workers
    host, port = team_stack.s3.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"PUT /{BUCKET}/dvc/files/md5/00/big HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"Content-Length: {2 * 2**30}\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 413"), "a 2 GiB body was not refused"
    log = (team_stack.dir / "seaweedfs.log").read_text()
    assert "master" in log.lower() and "anonymous" not in log.lower(), log[-2000:]
    server_env = [Path(f"/proc/{pid}/environ").read_bytes() for pid in subprocess.run(
        ["pgrep", "-f", "mlflow server --app-name dcgan-auth"], capture_output=True,
        text=True, timeout=30).stdout.split()]
    assert server_env and all(b"MLFLOW_BASIC_AUTH_FAIL_CLOSED=true" in e for e in server_env)


def test_an_insecure_or_old_stack_folder_is_refused_and_migrates(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    trusting = tmp_path / "old"
    (trusting / "pg").mkdir(parents=True)
    (trusting / "pg/PG_VERSION").write_text("15\n")
    (trusting / "pg/pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
    open_secrets = tmp_path / "open"
    open_secrets.mkdir()
    (open_secrets / "secrets.env").write_text("PG_PASSWORD=x\n")
    (open_secrets / "secrets.env").chmod(0o644)
    shared = tmp_path / "shared"  # a stack of an earlier team_stack.sh: one member key
    shared_key = {"S3_MEMBER_ACCESS_KEY_ID": "SHAREDKEY00000000000",
                  "S3_MEMBER_SECRET_ACCESS_KEY": "shared-secret"}
    secrets_file.add(shared / "secrets.env", {"PG_PASSWORD": "x", **shared_key})
    for user in ("alice", "bob"):
        secrets_file.add(shared / "credentials" / f"{user}.env", {
            "MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": f"{user}-password",
            "AWS_ACCESS_KEY_ID": shared_key["S3_MEMBER_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": shared_key["S3_MEMBER_SECRET_ACCESS_KEY"]})
    for folder, reason in [(trusting, "trust authentication"), (open_secrets, "mode 0644"),
                           (shared, "make team-migrate")]:
        done = subprocess.run(["bash", str(REPO / "scripts/team_stack.sh")], timeout=120,
                              env={**env, "STACK_DIR": str(folder)}, capture_output=True,
                              text=True)
        assert done.returncode == 1 and reason in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "up at" not in done.stdout
    done = subprocess.run(["make", "-s", "-C", str(REPO), "team-migrate",
                           f"STACK_DIR={shared}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "2 members got their own (alice, bob)" in done.stdout, \
        done.stdout + done.stderr
    keys = [secrets_file.read(shared / "credentials" / f"{u}.env") for u in ("alice", "bob")]
    assert len({k["AWS_ACCESS_KEY_ID"] for k in keys} | {"SHAREDKEY00000000000"}) == 3
    assert [k["MLFLOW_TRACKING_PASSWORD"] for k in keys] == ["alice-password", "bob-password"]
    assert set(secrets_file.read(shared / "secrets.env")) == {"PG_PASSWORD"}


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
        ports |= {s3_port + i for i in (1, 2, 3, 4, 10, 11, 12, 13, 14)}  # SeaweedFS's own
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
        keys = team_stack.credentials(path.stem)
        secrets |= {keys["MLFLOW_TRACKING_PASSWORD"], keys["AWS_SECRET_ACCESS_KEY"]}
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
