"""Every script in benchmarks/ runs, at a tiny size, on the real config shrunk: a benchmark
that no longer starts (a renamed function, a deleted param) fails here, not in the next
measurement session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import REPO, free_ports, real_params, shrink, synthetic_images
from servers import start, stop
from gan_pipeline.data.prepare import prepare
from gan_pipeline.formats.files import save_npz

pytestmark = pytest.mark.slow
TIMEOUT_S = 600


def benchmark(script: str, *args: str, cwd: Path = REPO) -> str:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, untrained_classifier) -> Path:
    """params.yaml shrunk, with its data and classifier where the stages keep them."""
    work = tmp_path_factory.mktemp("bench")
    raw = shrink(real_params(), iterations=2, sample_interval=2)
    (work / "params.yaml").write_text(yaml.safe_dump(raw))
    images = synthetic_images()
    save_npz(work / "data/raw/dataset.npz", images)
    save_npz(work / "data/prepared/dataset.npz", prepare(images, "all"))
    (work / "models").mkdir()
    shutil.copy2(untrained_classifier, work / "models/classifier.keras")
    return work


def test_train_throughput(mnist_shaped_data):
    out = benchmark("train_throughput.py", "--data", str(mnist_shaped_data), "--iterations",
                    "1", "--rounds", "1", "--warmup", "1", "--variants",
                    "seed_loop,bf16+r1,fp32+fused+start128")
    assert "seed_loop" in out and "bf16+r1" in out and "GFLOP per iteration" in out
    assert "fp32+fused+start128" in out


def test_thread_bits(workdir, tmp_path):
    benchmark("thread_bits.py", "--params", str(workdir / "params.yaml"), "--data",
              str(workdir / "data/prepared/dataset.npz"), "--iterations", "2", "--settings",
              "1,0,all", "1,0,0", "--out", str(tmp_path / "rows.json"))
    rows = yaml.safe_load((tmp_path / "rows.json").read_text())["rows"]
    assert [r["cpus"] for r in rows] == ["all", "0"]
    assert rows[0]["generator_sha256"] == rows[1]["generator_sha256"]  # same threads


def test_seed_spread(workdir, tmp_path):
    """Two seeds of a few iterations: a fid, but no coverage yet, which has no relative
    spread, and says so."""
    done = subprocess.run([sys.executable, str(REPO / "benchmarks/seed_spread.py"),
                           "--iterations", "2", "--seeds", "1", "2", "--out",
                           str(tmp_path / "tolerances.json")], cwd=workdir,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert "seed 2: 2 iterations" in done.stdout and "fid: mean" in done.stdout, done.stderr
    assert done.returncode == 1 and "coverage is 0 for every seed" in done.stderr
    assert not (tmp_path / "tolerances.json").exists()


def test_recipe_ablation(workdir, tmp_path):
    compare = yaml.safe_load((REPO / "compare/params.yaml").read_text())
    compare["eval_interval"] = 2
    (tmp_path / "compare.yaml").write_text(yaml.safe_dump(compare))
    benchmark("recipe_ablation.py", "--rows", "1", "--minutes", "0.001", "--params",
              str(workdir / "params.yaml"), "--compare", str(tmp_path / "compare.yaml"),
              "--data", str(workdir / "data/prepared/dataset.npz"), "--classifier",
              str(workdir / "models/classifier.keras"), "--out", str(tmp_path / "t.md"),
              "--keep", str(tmp_path / "kept"))
    table = (tmp_path / "t.md").read_text()
    assert "the recipe, on this host" in table
    # A budget in minutes ends the row by the clock, not by the book's 20,000-iteration cap.
    kept = yaml.safe_load((tmp_path / "kept/row1/compare.yaml").read_text())
    assert kept["runs"]["row1"]["train.iterations"] == 1_000_000
    assert "| 1 |" in table.splitlines()[-1]  # the budget stopped it at iteration 1
    # docs/recipe.md's headroom plot is drawn from what --keep leaves
    done = subprocess.run([sys.executable, str(REPO / "scripts/headroom_plot.py"), "--out",
                           str(tmp_path / "h.png"), f"recipe={tmp_path / 'kept/row1/quality.csv'}"],
                          capture_output=True, text=True, timeout=TIMEOUT_S,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks/recipe_ablation.py"),
                           "--rows", "16", "--out", str(tmp_path / "x.md")],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 2 and "needs train.ema, deleted after its ablation" in \
        done.stderr, done.stderr
    done = subprocess.run([sys.executable, str(REPO / "benchmarks/recipe_ablation.py"),
                           "--rows", "45", "--out", str(tmp_path / "x.md")],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 2 and "its code is not in this repository" in done.stderr, \
        done.stderr


def test_serve_latency(workdir, tmp_path):
    """Against a real `mlflow models serve` of a generator logged as the track stage logs
    it."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    script = ("import sys, mlflow, keras\n"
              "from gan_pipeline.training.models import build_generator\n"
              "from gan_pipeline.config.params import load_params\n"
              "from gan_pipeline.formats.model_files import save_model\n"
              "from gan_pipeline.tracking.logged_model import log_generator\n"
              "params = load_params(sys.argv[1])\n"
              "save_model(build_generator(params.model, (28, 28, 1)), 'g.keras')\n"
              "mlflow.set_experiment('bench')\n"
              "with mlflow.start_run():\n"
              "    log_generator('g.keras', 100, (28, 28, 1), 'bench-generator')\n")
    subprocess.run([sys.executable, "-c", script, str(workdir / "params.yaml")], cwd=tmp_path,
                   env={**os.environ, "MLFLOW_TRACKING_URI": store}, check=True,
                   capture_output=True, timeout=TIMEOUT_S)
    port = free_ports()[0]
    server = start([sys.executable, "-m", "mlflow", "models", "serve", "-m",
                    "models:/bench-generator/1", "--env-manager", "local", "-p", str(port)],
                   f"http://127.0.0.1:{port}/ping", tmp_path / "serve.log",
                   {"MLFLOW_TRACKING_URI": store})
    try:
        out = benchmark("serve_latency.py", "--url", f"http://127.0.0.1:{port}/invocations",
                        "--requests", "4", "--concurrency", "2", "--max-seconds", "60")
    finally:
        stop(server)
    assert "p50" in out and "p99" in out


def test_auth_overhead(built_repo, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(built_repo[0], repo, symlinks=True)
    out = benchmark("auth_overhead.py", "--repo", str(repo), "--repeats", "1", "--servers",
                    "open,auth-cached")
    assert "open" in out and "auth-cached" in out
