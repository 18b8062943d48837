"""The documentation: a short README, links that lead somewhere, a one-line summary under
every docs/ page's title, and nothing quoted that does not exist: make targets, scripts,
stages, params keys, and the README's metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from helpers import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# [text](target) and ![alt](target), up to a space (an optional "title"), and <img src=...>.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMG = re.compile(r"<img\s[^>]*?src=[\"']([^\"']+)[\"']", re.IGNORECASE)


def without_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)


def without_code(text: str) -> str:
    """The text outside code blocks and inline code spans, where links are links."""
    return re.sub(r"`[^`\n]*`", "", without_fences(text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but '-' and '_' dropped,
    spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", without_fences(page.read_text()),
                          re.MULTILINE)
    return {slug(h) for h in headings}


def links(page: Path) -> list[str]:
    text = without_code(page.read_text())
    return LINK.findall(text) + IMG.findall(text)


def test_the_readme_is_short():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    broken = []
    for link in links(page):
        if re.match(r"(https?|mailto):", link):
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists() or REPO.resolve() not in [target, *target.parents]:
            broken.append(f"{link}: no such file in the repository")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{link}: no heading with that anchor in {target.name}")
    assert not broken, f"{page.relative_to(REPO)}:\n" + "\n".join(broken)


@pytest.mark.parametrize("page", PAGES[1:], ids=lambda p: str(p.relative_to(REPO)))
def test_every_docs_page_starts_with_a_one_line_summary(page):
    lines = page.read_text().splitlines() + [""]
    filled = [i for i, line in enumerate(lines) if line.strip()]
    assert len(filled) >= 2 and lines[filled[0]].startswith("# "), "no # Title first"
    summary = filled[1]
    assert not lines[summary].startswith("#"), "a heading where the summary should be"
    assert not lines[summary + 1].strip(), "the summary is more than one line"


# What the docs quote, checked against what exists. A line that cites a commit (a 7-hex
# sha in backticks) speaks of that commit's tree, and is not checked.
CITES_A_COMMIT = re.compile(r"`[0-9a-f]{7}`")
MAKE = re.compile(r"\bmake ([a-z][a-z-]*)")
SCRIPT = re.compile(r"\bpython (?:-u )?((?:stages|scripts|benchmarks)/[\w/]+\.py)")
MODULE = re.compile(r"\bpython -m (gan_pipeline(?:\.\w+)+)")
REPRO = re.compile(r"\bdvc repro(?: --\S+)* ([\w./@:][\w./@:-]*)")
PARAMS_SECTIONS = ("data", "prepare", "model", "train", "sample", "classifier", "evaluate",
                   "runtime", "mlflow")
PARAM_KEY = re.compile(rf"`(?:[^`]*?[\s(-])?((?:{'|'.join(PARAMS_SECTIONS)})(?:\.\w+)+)"
                       r"(?=[=:`\s)])")
FILE_SUFFIXES = (".py", ".db", ".yaml", ".json", ".csv", ".png", ".keras", ".md", ".lock",
                 ".npz", ".gif", ".ini", ".env")
# MLflow's own names (its tags and functions) share the mlflow section's prefix.
MLFLOW_NAMES = re.compile(r"^mlflow\.(source|sharedViewState|experimentKind|log_|search_|"
                          r"pyfunc|artifacts|set_|get_)")


def quoted_lines(page: Path) -> list[str]:
    """What a doc shows as code: each line of its fences, and each inline span of the lines
    that cite no commit (as "`...`")."""
    text = page.read_text()
    fenced = re.findall(r"^```.*?^```", text, flags=re.DOTALL | re.MULTILINE)
    quoted = [line for block in fenced for line in block.splitlines()]
    return quoted + [f"`{span}`" for line in without_fences(text).splitlines()
                     if not CITES_A_COMMIT.search(line)
                     for span in re.findall(r"`([^`]+)`", line)]


def stage_names() -> set[str]:
    names = set()
    for file in ("dvc.yaml", "compare/dvc.yaml"):
        names |= set(yaml.safe_load((REPO / file).read_text())["stages"])
    return names


def params_key_exists(key: str) -> bool:
    """In params.yaml, or in translate/params.yaml (the CycleGAN's)."""
    for file in ("params.yaml", "translate/params.yaml"):
        node = yaml.safe_load((REPO / file).read_text())
        for part in key.split("."):
            node = node[part] if isinstance(node, dict) and part in node else KeyError
        if node is not KeyError:
            return True
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_quoted_command_names_what_exists(page):
    targets = set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(),
                             re.MULTILINE))
    stages = stage_names()
    missing = []
    for line in quoted_lines(page):
        missing += [f"make {t}" for t in MAKE.findall(line) if t not in targets]
        missing += [f"python {s}" for s in SCRIPT.findall(line) if not (REPO / s).is_file()]
        missing += [f"python -m {m}" for m in MODULE.findall(line)
                    if not (REPO / "src" / (m.replace(".", "/") + ".py")).is_file()]
        missing += [f"dvc repro {t}" for t in REPRO.findall(line)
                    if not ((REPO / t).is_file() or t.split(":")[-1].split("@")[0] in stages)]
    assert not missing, f"{page.relative_to(REPO)} quotes what does not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_params_key_a_doc_names_exists(page):
    """Or the page says, on a line that cites the commit, which commit had it: a deleted
    lever's rows stay in docs/recipe.md as history."""
    compare = yaml.safe_load((REPO / "compare/params.yaml").read_text())
    history = {key for line in page.read_text().splitlines() if CITES_A_COMMIT.search(line)
               for key in PARAM_KEY.findall(line)}
    unknown = sorted({key for line in quoted_lines(page) for key in PARAM_KEY.findall(line)
                      if not key.endswith(FILE_SUFFIXES) and not MLFLOW_NAMES.match(key)
                      and not params_key_exists(key) and key.split(".")[0] not in compare
                      and key not in history})
    assert not unknown, f"{page.relative_to(REPO)} names params keys that do not exist: " \
                        f"{unknown}"


def test_the_readmes_metrics_are_the_committed_runs():
    """The README's table, figure by figure, against reports/metrics.json (to the digits it
    shows)."""
    metrics = json.loads((REPO / "reports/metrics.json").read_text())
    rows = re.findall(r"^\| `quality\.(\w+)`[^|]*\| ([\d.]+) \| ([\d.]+) \|$",
                      (REPO / "README.md").read_text(), re.MULTILINE)
    assert {key for key, _, _ in rows} == {"fid", "classifier_score", "coverage"}
    for key, committed, real in rows:
        for shown, section in ((committed, "quality"), (real, "real")):
            digits = len(shown.partition(".")[2])
            assert float(shown) == round(metrics[section][key], digits), (key, section)


def test_every_test_a_doc_names_exists():
    """The threat model and the testing page name tests as their evidence."""
    code = "\n".join(p.read_text() for p in (REPO / "tests").glob("*.py"))
    modules = {p.stem for p in (REPO / "tests").glob("test_*.py")}
    named = {name for page in PAGES for name in re.findall(r"`(test_\w+)`", page.read_text())}
    missing = sorted(n for n in named if n not in modules and f"def {n}(" not in code)
    assert not missing, f"the docs name tests that do not exist: {missing}"
