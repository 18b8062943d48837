"""How good the generator is, measured in the feature space of a classifier of its dataset."""
