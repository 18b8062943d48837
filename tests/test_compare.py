"""The compare command: every architecture, the same budget, a picture and a table."""

import subprocess
import sys

import pytest
import yaml

from helpers import REPO, real_params, shrink, synthetic_images
from gan_pipeline.evaluation.classifier import build_classifier
from gan_pipeline.files import save_npz
from gan_pipeline.model_files import save_model


@pytest.mark.slow
def test_compare_trains_every_architecture_and_writes_the_picture_and_table(tmp_path):
    """On CIFAR-10's shape: every architecture adapts to 32×32×3 through config alone."""
    raw = shrink(real_params())
    raw["data"]["dataset"] = "cifar10"
    raw["compare"]["iterations"] = 3
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    save_npz(tmp_path / "raw.npz", synthetic_images("cifar10"))
    # An untrained classifier is enough here.
    save_model(build_classifier((32, 32, 3)), tmp_path / "classifier.keras")
    done = subprocess.run(
        [sys.executable, str(REPO / "stages/compare.py"), "--params", "params.yaml", "--raw",
         "raw.npz", "--classifier", "classifier.keras", "--png",
         "compare.png", "--md", "compare.md"], cwd=tmp_path, capture_output=True, text=True,
        timeout=600)
    assert done.returncode == 0, done.stderr
    rows = (tmp_path / "compare.md").read_text().splitlines()
    assert rows[0].startswith("Same budget for each: 3 iterations at batch 8")
    assert [r.split("|")[1].strip() for r in rows[4:]] == [
        "dcgan", "dcgan_tf", "mlp", "real CIFAR-10 (train vs test)"]
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"
