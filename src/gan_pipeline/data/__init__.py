"""Getting a dataset (MNIST by default) onto disk and into the shape the models train on."""
