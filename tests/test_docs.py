"""The documentation: a short README, links that lead somewhere, and a one-line summary under
every docs/ page's title."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
