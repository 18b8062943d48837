"""The registered generator as an MLflow pyfunc: noise vectors in, images out.

Kept free of the rest of the package so that a served model needs only Keras and NumPy.
"""

from __future__ import annotations

import mlflow.models
import mlflow.pyfunc
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE


OUTPUT_SCALES = ("tanh", "uint8")


def _bad_request(message: str) -> MlflowException:
    # INVALID_PARAMETER_VALUE makes `mlflow models serve` answer 400 rather than 500.
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class GeneratorModel(mlflow.pyfunc.PythonModel):
    """``predict(z)`` with z of shape (n, z_dim) returns (n, H, W, C) images in [-1, 1];
    with ``params={"scale": "uint8"}``, pixel values in [0, 255] instead."""

    def load_context(self, context) -> None:
        import keras

        self.generator = keras.models.load_model(context.artifacts["generator"], compile=False)
        self.z_dim = int(self.generator.input_shape[-1])

    def predict(self, context, model_input, params=None) -> np.ndarray:
        z = np.asarray(model_input.to_numpy() if hasattr(model_input, "to_numpy")
                       else model_input)
        if z.ndim != 2 or z.shape[1] != self.z_dim or z.shape[0] == 0:
            raise _bad_request(f"expected a non-empty batch of noise vectors of shape "
                               f"(n, {self.z_dim}), got {z.shape}")
        if not np.issubdtype(z.dtype, np.number):
            raise _bad_request(f"noise vectors must be numeric, got dtype {z.dtype}")
        z = z.astype(np.float32)
        if not np.isfinite(z).all():
            raise _bad_request("noise vectors must be finite")
        scale = (params or {}).get("scale", "tanh")
        if scale not in OUTPUT_SCALES:
            raise _bad_request(f"params.scale must be one of {OUTPUT_SCALES}, got {scale!r}")
        images = np.asarray(self.generator(z, training=False), dtype=np.float32)
        if scale == "uint8":
            return np.rint((images + 1.0) * 127.5).clip(0, 255).astype(np.float32)
        return images


# Logged as "models from code" (see tracking.log_generator): MLflow runs this file to get the model.
mlflow.models.set_model(GeneratorModel())
