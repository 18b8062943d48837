"""dvc.yaml against the code: each stage lists exactly the modules it runs, and the committed
dvc.lock matches the code and params it claims to have been made with."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import REPO
from gan_pipeline.verification.lock import PIPELINES, describe_stale, stale_stages

PACKAGE = "gan_pipeline"
SRC = REPO / "src"


def _module_file(name: str) -> Path | None:
    """The file of project module ``name`` (``gan_pipeline.x.y``), None for anything else."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    path = SRC.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """The nodes under ``if TYPE_CHECKING:``: imports for annotations, which never run."""
    return {inner for node in ast.walk(tree) if isinstance(node, ast.If)
            and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            for stmt in node.body for inner in ast.walk(stmt)}


def _imported_modules(path: Path) -> set[str]:
    names = set()
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            # `from gan_pipeline import cli` imports the module gan_pipeline.cli
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_closure(script: Path) -> set[Path]:
    """The project modules that ``script`` imports, directly or through each other
    (imports inside functions included: they run too)."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        for name in _imported_modules(todo.pop()):
            path = _module_file(name)
            if path is not None and path.is_file() and path not in seen:
                seen.add(path)
                todo.append(path)
    return seen


def _stages() -> dict[str, dict]:
    """Every stage of every pipeline, by the name DVC gives it (``compare/dvc.yaml:run``)."""
    return {prefix + name: spec for file, prefix in PIPELINES.items()
            for name, spec in yaml.safe_load((REPO / file).read_text())["stages"].items()}


def _is_package_marker(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return path.name == "__init__.py" and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        for node in tree.body)


@pytest.mark.parametrize("stage", sorted(_stages()))
def test_each_stage_lists_exactly_its_script_and_the_modules_it_imports(stage):
    spec = _stages()[stage]
    script = REPO / next(word for word in spec["cmd"].split() if word.endswith(".py"))
    # Package __init__ files hold a docstring only (checked here), so they need no listing.
    imported = {p for p in import_closure(script) if not _is_package_marker(p)}
    expected = {script.relative_to(REPO).as_posix(),
                *(p.relative_to(REPO).as_posix() for p in imported)}
    listed = {d for d in spec["deps"] if d.endswith(".py")}
    assert listed == expected, (f"{stage}: missing {sorted(expected - listed)}, "
                                f"not imported {sorted(listed - expected)}")


def test_the_comparison_runs_every_run_of_params_and_plots_each_curve():
    compare = yaml.safe_load((REPO / "compare/dvc.yaml").read_text())
    runs = list(yaml.safe_load((REPO / "compare/params.yaml").read_text())["runs"])
    assert compare["stages"]["run"]["matrix"]["name"] == runs
    [curves] = [p for p in compare["plots"] if isinstance(p, dict)]
    assert list(next(iter(curves.values()))["y"]) == [
        f"../reports/compare/{run}/quality.csv" for run in runs]


def test_package_markers_hold_no_code():
    for path in SRC.rglob("__init__.py"):
        assert _is_package_marker(path), f"{path} holds code: list it as a stage dep"


def test_the_committed_lock_matches_the_code_and_params_of_every_stage_it_holds():
    """A stage in dvc.lock was made from the code and params it lists: a change to any of
    them must land with a rerun (or, for outputs proven unchanged, `dvc commit`) and a new
    lock. `make verify` runs the same check first."""
    stale = stale_stages(REPO, str(Path(sys.executable).parent / "dvc"))
    assert not stale, f"dvc.lock is stale (rerun these stages and commit the lock):\n" \
        f"{describe_stale(stale)}"


def test_the_train_stage_imports_no_tracking_code():
    """Training writes files only: MLflow cannot change, or invalidate, what it makes."""
    closure = import_closure(REPO / "stages/train.py") | {REPO / "stages/train.py"}
    imported = set().union(*(_imported_modules(path) for path in closure))
    assert not {name for name in imported if name.split(".")[0] == "mlflow"}
    assert not {path for path in closure if path.is_relative_to(SRC / PACKAGE / "tracking")}


def test_the_invalidation_table_of_the_docs_is_current():
    """docs/invalidation.md: which stages each module and params key invalidates."""
    done = subprocess.run([sys.executable, str(REPO / "scripts/invalidation_table.py")],
                          capture_output=True, text=True, check=True, timeout=60)
    assert (REPO / "docs/invalidation.md").read_text() == done.stdout, (
        "run: python scripts/invalidation_table.py > docs/invalidation.md")
