"""`make verify` and `make reproduce`: what ties the committed trained artifacts to the code
(see docs/reproducibility.md)."""
