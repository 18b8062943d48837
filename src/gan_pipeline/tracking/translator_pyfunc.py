"""The registered CycleGAN generator (A → B) as an MLflow pyfunc: images in, images out.

Kept free of the rest of the package so that a served model needs only Keras and NumPy.
"""

from __future__ import annotations

import mlflow.models
import mlflow.pyfunc
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE


class TranslatorModel(mlflow.pyfunc.PythonModel):
    """``predict(x)`` with x of shape (n, H, W, C) in [-1, 1] returns G(x), the same shape."""

    def load_context(self, context) -> None:
        import keras

        self.net = keras.models.load_model(context.artifacts["translator"], compile=False)
        self.shape = tuple(self.net.input_shape[1:])

    def predict(self, context, model_input, params=None) -> np.ndarray:
        x = np.asarray(model_input.to_numpy() if hasattr(model_input, "to_numpy")
                       else model_input)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.shape or x.shape[0] == 0:
            raise MlflowException(f"expected a non-empty batch of images of shape "
                                  f"(n, {', '.join(map(str, self.shape))}), got {x.shape}",
                                  error_code=INVALID_PARAMETER_VALUE)
        x = x.astype(np.float32)
        if not np.isfinite(x).all() or np.abs(x).max() > 1:
            raise MlflowException("images must be finite and in [-1, 1]",
                                  error_code=INVALID_PARAMETER_VALUE)
        return np.asarray(self.net(x, training=False), dtype=np.float32)


# Logged as "models from code": MLflow runs this file to get the model.
mlflow.models.set_model(TranslatorModel())
