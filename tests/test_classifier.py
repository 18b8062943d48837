"""The evaluation classifier, trained by its real stage on the real MNIST."""

import json
import subprocess
import sys

import pytest

from helpers import REPO


@pytest.mark.slow
def test_classifier_reaches_99_percent_on_full_mnist(real_mnist, tmp_path):
    """The repository's own classifier params on all 60,000 images (about a minute)."""
    metrics = tmp_path / "classifier.json"
    subprocess.run([sys.executable, str(REPO / "stages" / "train_classifier.py"), "--params",
                    str(REPO / "params.yaml"), "--raw", str(real_mnist), "--model",
                    str(tmp_path / "classifier.keras"), "--metrics", str(metrics)],
                   check=True, timeout=900)
    assert json.loads(metrics.read_text())["test_accuracy"] >= 0.990
