"""Getting MNIST onto disk and into the shape the models train on."""
