"""Sharing trained artifacts: a team's stack (`scripts/team_stack.sh`: PostgreSQL, SeaweedFS's
S3 gateway, an MLflow server) on 127.0.0.1; clone A pushes, fresh clones pull or reproduce
without training; bad remotes fail with DVC's message naming them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
import yaml

from helpers import free_ports
from repo_helpers import ran_stages, run
from team_stack import BUCKET, use_s3_remote
from gan_pipeline.verification.lock import PIPELINES

pytestmark = pytest.mark.slow


def output_digests(repo: Path) -> dict[str, str]:
    """sha256 of every file under each output the locks of both pipelines name (their stages
    run from the repo root, so the paths are the root's)."""
    locks = [yaml.safe_load((repo / file).with_suffix(".lock").read_text())["stages"]
             for file in PIPELINES]
    paths = {out["path"] for lock in locks for stage in lock.values()
             for out in stage.get("outs", [])}
    files = [f for p in paths for f in ([repo / p] if (repo / p).is_file()
                                        else sorted((repo / p).rglob("*")))]
    return {str(f.relative_to(repo)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in files if f.is_file()}


def clone(source: Path, dest: Path, stack, keys: dict | None = None) -> Path:
    """A fresh clone of ``source`` with the team remote, as member alice (or ``keys``)."""
    run(["git", "clone", "-q", str(source), str(dest)], dest.parent)
    use_s3_remote(dest, stack, keys or stack.credentials("alice"))
    return dest


def test_a_fresh_clone_pulls_the_same_bytes(team_stack, pushed, tmp_path):
    b = clone(pushed, tmp_path / "clone-b", team_stack)
    run(["dvc", "pull"], b)
    assert output_digests(b) == output_digests(pushed)
    assert ran_stages(run(["dvc", "repro", "--pull"], b).stdout) == ["track"]


def test_a_fresh_clone_reproduces_from_the_remote_without_training(team_stack, pushed, tmp_path):
    c = clone(pushed, tmp_path / "clone-c", team_stack)
    done = run(["dvc", "repro", "--pull"], c)
    # Only track runs: it records the restored outputs in this clone's new MLflow store.
    assert ran_stages(done.stdout) == ["track"], done.stdout
    assert "recorded a new run of this generator" in done.stdout
    status = run(["dvc", "status", "dvc.yaml"], c).stdout
    assert status == "track:\n\talways changed\n", status  # every other stage up to date
    # The comparison and the CycleGAN, left out of the default repro, come from the remote
    # the same way (the CycleGAN's track records it in this clone's store).
    done = run(["dvc", "repro", "--pull", "compare/dvc.yaml"], c)
    assert ran_stages(done.stdout) == [], done.stdout
    done = run(["dvc", "repro", "--pull", "translate/dvc.yaml"], c)
    assert ran_stages(done.stdout) == ["translate/dvc.yaml:track"], done.stdout
    assert output_digests(c) == output_digests(pushed)
    assert run(["dvc", "status"], c).stdout == (
        "track:\n\talways changed\ntranslate/dvc.yaml:track:\n\talways changed\n")


def test_mlflow_artifacts_land_in_the_object_store(team_stack, pushed):
    ci = team_stack.credentials("ci")  # CI's read-only key pair lists the bucket
    s3 = boto3.client("s3", endpoint_url=team_stack.s3, region_name="us-east-1",
                      aws_access_key_id=ci["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=ci["AWS_SECRET_ACCESS_KEY"])
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for o in page.get("Contents", [])]
    assert any(k.startswith("mlflow/") and k.endswith("generator.keras") for k in keys)
    assert any(k.startswith("dvc/files/md5/") for k in keys)
    assert any(k.startswith("dvc/runs/") for k in keys)  # the run cache


def test_an_unreachable_remote_fails_naming_it(team_stack, pushed, tmp_path):
    b = clone(pushed, tmp_path / "clone-b", team_stack)
    run(["dvc", "remote", "modify", "--local", "team", "endpointurl",
         f"http://127.0.0.1:{free_ports()[0]}"], b)
    for cmd in (["dvc", "pull"], ["dvc", "push"]):
        done = run([*cmd, "-v"], b, check=False)
        assert done.returncode != 0
        assert "127.0.0.1" in done.stdout + done.stderr
    assert not (b / "models/generator.keras").exists()


def test_objects_missing_from_the_remote_are_named(team_stack, pushed, tmp_path):
    b = clone(pushed, tmp_path / "clone-b", team_stack)
    (b / ".dvc/config.local").write_text((b / ".dvc/config.local").read_text().replace(
        f"s3://{BUCKET}/dvc", f"s3://{BUCKET}/empty"))
    done = run(["dvc", "pull"], b, check=False)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "models/generator.keras" in output and "missing" in output.lower(), output


def test_a_rerun_completes_an_interrupted_push_and_pull(team_stack, pushed, tmp_path):
    """An interrupted transfer has moved some objects and not others: a push or pull of
    some outputs only. The rerun of the whole command completes it."""
    use_s3_remote(pushed, team_stack, team_stack.credentials("bob"), name="partial",
                  prefix="dvc/partial")  # a promoter's key writes all of dvc/
    run(["dvc", "push", "-r", "partial", "models/generator.keras"], pushed)
    run(["dvc", "push", "-r", "partial"], pushed)
    b = clone(pushed, tmp_path / "clone-b", team_stack)
    run(["dvc", "remote", "modify", "--local", "team", "url", f"s3://{BUCKET}/dvc/partial"], b)
    run(["dvc", "pull", "reports/samples.png"], b)
    assert not (b / "models/generator.keras").exists()
    run(["dvc", "pull"], b)
    assert output_digests(b) == output_digests(pushed)
