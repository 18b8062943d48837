"""MLflow at the edge: the store, the runs the track stage records, the logged and
registered generator, its pyfunc model, and the registry's champion."""
