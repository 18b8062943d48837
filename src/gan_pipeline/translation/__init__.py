"""CycleGAN between two domains made from MNIST (translate/dvc.yaml, docs/translation.md)."""
