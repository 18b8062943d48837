"""How good the generator is, measured in the feature space of an MNIST classifier."""
