"""A small CNN, trained offline and seeded on the dataset's training images, whose penultimate
layer is the feature space of the FID-style metrics (as TF-GAN's ``mnist_frechet_distance``
uses its MNIST classifier)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf
from keras import layers

if TYPE_CHECKING:  # the section's schema is no dependency of the stages that use this
    from gan_pipeline.config.classifier import ClassifierConfig


FEATURES_LAYER = "features"


def build_classifier(image_shape: tuple[int, int, int]) -> keras.Sequential:
    """Two conv blocks, a 128-unit feature layer and a softmax over the 10 classes."""
    return keras.Sequential(
        [
            keras.Input(shape=image_shape),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(128, activation="relu", name=FEATURES_LAYER),
            layers.Dropout(0.25),
            layers.Dense(10, activation="softmax"),
        ],
        name="classifier",
    )


def train_classifier(cfg: ClassifierConfig, images: np.ndarray, labels: np.ndarray
                     ) -> keras.Model:
    """Fit on ``images`` in [-1, 1] (N×H×W×C), the generator's output range."""
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_classifier(images.shape[1:])
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images, labels, batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=True,
              verbose=2)
    return model


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    probs = model.predict(images, batch_size=1000, verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == labels))


def features_and_probs(model: keras.Model) -> keras.Model:
    """A model mapping images to (penultimate features, class probabilities)."""
    return keras.Model(model.inputs, [model.get_layer(FEATURES_LAYER).output, model.outputs[0]])
