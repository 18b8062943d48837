"""Which stages each module and each params key invalidates, from dvc.yaml,
compare/dvc.yaml and translate/dvc.yaml: docs/invalidation.md (tests/test_dvc_yaml.py checks
it is current).

    python scripts/invalidation_table.py > docs/invalidation.md
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PIPELINES = {"dvc.yaml": "", "compare/dvc.yaml": "compare:", "translate/dvc.yaml": "translate:"}


def _stages() -> dict[str, dict]:
    return {prefix + name: spec for file, prefix in PIPELINES.items()
            for name, spec in yaml.safe_load((REPO / file).read_text())["stages"].items()}


def _keys(raw: dict, depth: int = 2, prefix: str = "") -> list[str]:
    """A params file's keys, down to ``depth`` levels (train.adam, not train.adam.beta_1),
    one more in runtime's groups (runtime.train.precision)."""
    keys = []
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and depth > 1:
            keys += _keys(value, depth - (name != "runtime"), f"{name}.")
        else:
            keys.append(name)
    return keys


def _entries(spec: dict) -> list[str]:
    """A stage's params entries, those of another file as ``file:key``."""
    entries = []
    for entry in spec.get("params", []):
        if isinstance(entry, str):
            entries.append(entry)
        else:
            entries += [f"{file}:{key}" for file, keys in entry.items() for key in keys]
    return entries


def _covers(entry: str, key: str) -> bool:
    """Whether a stage's params entry (``train``, ``compare.runs.${item.name}``) covers
    ``key``, or a key below it."""
    entry = entry.split(".${")[0]
    return key == entry or key.startswith(entry + ".") or entry.startswith(key + ".")


def table() -> str:
    stages = _stages()
    modules = sorted({dep for spec in stages.values() for dep in spec.get("deps", [])
                      if dep.endswith(".py")})
    keys = _keys(yaml.safe_load((REPO / "params.yaml").read_text()))
    keys += [f"{file}:{key}" for file in ("compare/params.yaml", "translate/params.yaml")
             for key in _keys(yaml.safe_load((REPO / file).read_text()))]
    lines = ["# What invalidates which stage", "",
             "Editing a module or changing a params key makes these stages out of date "
             "(`dvc status`); every other stage stays up to date. Made by "
             "`python scripts/invalidation_table.py > docs/invalidation.md` from the deps and "
             "params of dvc.yaml, compare/dvc.yaml (`compare:` marks the comparison's "
             "stages) and translate/dvc.yaml (`translate:`, the CycleGAN's). `track` and "
             "`translate:track` always run.", "",
             "| module | stages |", "| --- | --- |"]
    for module in modules:
        users = [name for name, spec in stages.items() if module in spec.get("deps", [])]
        lines.append(f"| `{module}` | {', '.join(users)} |")
    lines += ["", "| params key | stages |", "| --- | --- |"]
    for key in keys:
        users = [name for name, spec in stages.items()
                 if any(_covers(entry, key) for entry in _entries(spec))]
        lines.append(f"| `{key}` | {', '.join(users) or 'none (no output depends on it)'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table())
