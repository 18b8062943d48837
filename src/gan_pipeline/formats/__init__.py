"""The files the pipeline writes and reads, and every digest it takes: atomic writes,
archives, models, the training CSVs."""
