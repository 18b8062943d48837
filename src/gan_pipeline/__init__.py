"""DCGAN on MNIST: the logic behind the DVC stages in ``stages/``."""
