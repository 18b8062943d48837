"""What MLflow's authentication costs a pipeline run: the track stage (the only stage that
talks to MLflow) recording the same outputs into servers side by side, one open and two of
the team stack's `dcgan-auth` app with a member's login, alternating, each run into a
new experiment (so each records the whole run: params, curves, artifacts, the registered
generator).

    python benchmarks/auth_overhead.py --repo PATH --repeats 3

PATH: a repo whose pipeline has run (its outputs present), e.g. this one after `dvc repro`.
The servers use SQLite and local artifacts in a temporary folder, so the difference is the
auth app's: the password check on every request (a slow hash, by design) and the permission
lookups. The third server caches a checked password for AUTH_CACHE_TTL_S, as the stack's
does.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from mlflow.server.auth.client import AuthServiceClient
from mlflow.tracking import MlflowClient

from gan_pipeline.team.access import ensure_roles, team_models
from gan_pipeline.team.auth_app import TEAM_MODELS_VARIABLE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import free_ports  # noqa: E402
from servers import start, stop  # noqa: E402

# What the team stack's auth.ini sets (scripts/team_stack.sh).
AUTH_CACHE_TTL_S = 60
ADMIN = ("admin", "benchmark-admin-password")


def track_command(repo: Path, params: Path) -> list[str]:
    cmd = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]["track"]["cmd"]
    words = shlex.split(cmd.replace("--params params.yaml", f"--params {params}"))
    return [sys.executable, *words[words.index("python") + 1:]]  # after "PYTHONPATH=src"


def add_member(uri: str, member: tuple[str, str], params: Path) -> None:
    """As the stack's bootstrap and `make team-member` do: the admin makes the team's
    models and the member, with the member role."""
    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = ADMIN
    try:
        client = AuthServiceClient(uri)
        client.create_user(*member)
        client.assign_role(member[0], ensure_roles(client)["member"])
        for name in team_models(params):
            MlflowClient(uri).create_registered_model(name)
    finally:
        del os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", type=Path, default=Path("."))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--servers", default="open,auth,auth-cached",
                   help="which of the three servers to run (open is the baseline)")
    args = p.parse_args()
    repo = args.repo.resolve()
    params = yaml.safe_load((repo / "params.yaml").read_text())
    root = Path(tempfile.mkdtemp(prefix="auth-overhead-"))
    for name, ttl in [("auth", 0), ("auth-cached", AUTH_CACHE_TTL_S)]:
        (root / f"{name}.ini").write_text(
            "[mlflow]\ndefault_permission = EDIT\n"
            f"database_uri = sqlite:///{root}/{name}-users.db\nadmin_username = admin\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            f"auth_cache_ttl_seconds = {ttl}\n")
    servers = {}
    for name, app in [("open", []), ("auth", ["--app-name", "dcgan-auth"]),
                      ("auth-cached", ["--app-name", "dcgan-auth"])]:
        if name not in args.servers.split(","):
            continue
        port = free_ports()[0]
        env = {"MLFLOW_AUTH_CONFIG_PATH": str(root / f"{name}.ini"),
               "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN[1],
               "MLFLOW_FLASK_SERVER_SECRET_KEY": "benchmark-session-key",
               TEAM_MODELS_VARIABLE: ",".join(team_models(repo / "params.yaml"))} if app else {}
        servers[name] = (f"http://127.0.0.1:{port}", start(
            [sys.executable, "-m", "mlflow", "server", *app, "--host", "127.0.0.1", "--port",
             str(port), "--workers", "1", "--backend-store-uri",
             f"sqlite:///{root}/{name}.db", "--artifacts-destination", str(root / name)],
            f"http://127.0.0.1:{port}/health", root / f"{name}.log", env))
    member = ("member", "benchmark-member-password")
    for name in servers.keys() - {"open"}:
        add_member(servers[name][0], member, repo / "params.yaml")
    seconds: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for i in range(args.repeats):
            for name, (uri, _) in servers.items():
                run_params = {**params, "mlflow": {**params["mlflow"],
                                                   "experiment": f"bench-{name}-{i}"}}
                path = root / f"params-{name}-{i}.yaml"
                path.write_text(yaml.safe_dump(run_params, sort_keys=False))
                env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": "src"}
                if name != "open":
                    env |= {"MLFLOW_TRACKING_USERNAME": member[0],
                            "MLFLOW_TRACKING_PASSWORD": member[1]}
                start_s = time.perf_counter()
                done = subprocess.run(track_command(repo, path), cwd=repo, env=env,
                                      capture_output=True, text=True, timeout=900)
                if done.returncode != 0:
                    sys.exit(f"the track stage failed against {name}:\n{done.stderr}")
                seconds[name].append(time.perf_counter() - start_s)
                print(f"{name} run {i + 1}: {seconds[name][-1]:.2f} s", flush=True)
    finally:
        for _, proc in servers.values():
            stop(proc)
    open_s = statistics.median(seconds["open"])
    print(f"track stage, median of {args.repeats}: open {open_s:.2f} s")
    for name in sorted(servers.keys() - {"open"}):
        median = statistics.median(seconds[name])
        print(f"  {name}: {median:.2f} s, +{median - open_s:.2f} s "
              f"({median / open_s - 1:+.0%})")


if __name__ == "__main__":
    main()
