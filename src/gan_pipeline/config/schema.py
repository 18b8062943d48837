"""How a YAML config file becomes frozen, typed objects: the models' common base and value
types, a stage's view of params.yaml, and validation errors told as one line per problem
that names the full key, e.g.
``train.batch_size: must be <= prepare.train_images (512), got 1024``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      model_validator)

from gan_pipeline.errors import InputError


class ConfigError(InputError):
    """A params or sources file that cannot be used; the message names the key."""


class KeyedError(ValueError):
    """A check that spans several keys, raised in a model validator: ``key`` is the path of
    the key to blame, below the model that raised it."""

    def __init__(self, key: tuple, message: str, value: Any) -> None:
        super().__init__(message)
        self.key, self.value = key, value


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


def _yaml_number(value: Any) -> Any:
    # PyYAML reads YAML 1.1, where 1e-07 (as `dvc exp run -S` writes floats) is a string.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError("must be a number") from None
    return value


Number = Annotated[float, BeforeValidator(_yaml_number)]
Count = Annotated[int, Field(ge=1)]
Seed = Annotated[int, Field(ge=0)]
Fraction = Annotated[Number, Field(ge=0, lt=1)]  # [0, 1)
Positive = Annotated[Number, Field(gt=0)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

# params.yaml's sections: the hyperparameters, a section per stage, then how the stages run
# (``runtime``, a group per stage that needs one) and where the runs are recorded.
SECTIONS = ("data", "prepare", "model", "train", "sample", "classifier", "evaluate", "runtime",
            "mlflow")
RUNTIME_GROUPS = ("download", "train")


class GridConfig(Section):
    rows: Count
    cols: Count


def _declared_only(cls: type[Section], raw: Any, keys: tuple[str, ...], what: str,
                   holder: str) -> Any:
    """``raw`` (``holder``'s mapping of ``what``s) cut to the fields of ``cls``, once it holds
    every one of ``keys`` and no other."""
    if not isinstance(raw, dict):
        return raw
    for key in raw:
        if key not in keys:
            raise KeyedError((key,), f"unknown {what} ({holder} has {', '.join(keys)})", key)
    for key in keys:
        if key not in raw:
            raise KeyedError((key,), f"missing {what}", None)
    return {key: value for key, value in raw.items() if key in cls.model_fields}


class StageParams(Section):
    """A stage's view of params.yaml: the sections it declares, validated. Every section of
    the file must be there and no other, but the rest are left to the stages that read
    them."""

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, raw: Any) -> Any:
        return _declared_only(cls, raw, SECTIONS, "section", "params.yaml")


class RuntimeView(Section):
    """A stage's view of the runtime section: its own group, validated, as StageParams does
    with the sections."""

    @model_validator(mode="before")
    @classmethod
    def _groups(cls, raw: Any) -> Any:
        return _declared_only(cls, raw, RUNTIME_GROUPS, "group", "runtime")


def _key(loc: tuple, hidden: frozenset[str]) -> str:
    """('mirrors', 0, 'url_mirror', 'sha256') -> 'mirrors[0].sha256' (a union's branch tag,
    in ``hidden``, is no key)."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif part not in hidden and part != "[key]":  # "[key]": the key itself is bad
            key += f".{part}" if key else part
    return key


def _describe(error: dict, hidden: frozenset[str]) -> str:
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, KeyedError):
        return f"{_key(error['loc'] + cause.key, hidden)}: {cause}, got {cause.value!r}"
    key = _key(error["loc"], hidden) or "top level"
    if error["type"] == "missing":
        return f"{key}: missing key"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    message = str(cause) if cause else error["msg"][0].lower() + error["msg"][1:]
    return f"{key}: {message}, got {error['input']!r}"


def validate(model: type[Section], raw: Any, where: str = "",
             hidden: frozenset[str] = frozenset(), **context: Any):
    """``raw`` as a ``model``; a :class:`ConfigError` with a line per problem otherwise, each
    prefixed by ``where`` (the file)."""
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as err:
        raise ConfigError("\n".join(where + _describe(e, hidden) for e in err.errors())
                          ) from None


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
