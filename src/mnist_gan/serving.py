"""The registered generator as an MLflow pyfunc: noise vectors in, images out.

Kept free of the rest of the package so that a served model needs only Keras and NumPy.
"""

from __future__ import annotations

import mlflow.models
import mlflow.pyfunc
import numpy as np


class GeneratorModel(mlflow.pyfunc.PythonModel):
    """``predict(z)`` with z of shape (n, z_dim) returns (n, 28, 28, 1) images in [-1, 1]."""

    def load_context(self, context) -> None:
        import keras

        self.generator = keras.models.load_model(context.artifacts["generator"], compile=False)
        self.z_dim = int(self.generator.input_shape[-1])

    def predict(self, context, model_input, params=None) -> np.ndarray:
        z = np.asarray(model_input.to_numpy() if hasattr(model_input, "to_numpy")
                       else model_input)
        if z.ndim != 2 or z.shape[1] != self.z_dim or z.shape[0] == 0:
            raise ValueError(f"expected a non-empty batch of noise vectors of shape "
                             f"(n, {self.z_dim}), got {z.shape}")
        if not np.issubdtype(z.dtype, np.number):
            raise ValueError(f"noise vectors must be numeric, got dtype {z.dtype}")
        z = z.astype(np.float32)
        if not np.isfinite(z).all():
            raise ValueError("noise vectors must be finite")
        return np.asarray(self.generator(z, training=False))


# Logged as "models from code" (see tracking.log_generator): MLflow runs this file to get the model.
mlflow.models.set_model(GeneratorModel())
