"""Keras model files with the same bytes whichever process saves them."""

import subprocess
import sys
import time

from helpers import REPO
from gan_pipeline.formats.model_files import load_model


def test_keras_model_files_are_byte_deterministic_across_processes(tmp_path):
    # Two processes: Keras writes memory addresses into config.json, which differ between them.
    script = ("import sys; from gan_pipeline.config.params import load_params;"
              "from gan_pipeline.formats.model_files import save_model;"
              "from gan_pipeline.training.models import build_generator;"
              "import keras; keras.utils.set_random_seed(0);"
              f"save_model(build_generator(load_params({str(REPO / 'params.yaml')!r}).model,"
              " (28, 28, 1)), sys.argv[1])")
    for name in ("a.keras", "b.keras"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / name)], check=True,
                       timeout=300)
        time.sleep(1.1)
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()
    generator = load_model(tmp_path / "a.keras")
    assert generator.count_params() == 1_637_121
