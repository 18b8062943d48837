"""params.yaml, validated into frozen pydantic models: a module per section, each stage
validating only the sections it reads (so that a change to another stage's schema leaves it
up to date), and ``params.Params`` for the whole file."""
