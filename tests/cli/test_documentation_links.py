"""README.md stays the short first page an admin reads, every page of docs/ is reachable from it, and every relative
link in README.md and docs/ leads to a file that exists and, when it names one, a heading of that file.

Anchors are worked out the way GitHub renders a heading's id: the heading's text in lower case, anything but
letters, digits, spaces, hyphens and underscores dropped (so the backticks and asterisks of inline markup), spaces
turned into hyphens, and a repeated id given -1, -2, ... in order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_LIMIT_BYTES = 15 * 1024

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# An inline link or image: [text](target) or [text](target "title"); the text may hold `code`.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def documentation_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def outside_code(text: str) -> list[str]:
    """The lines of a Markdown page that are not in a fenced code block."""
    lines, fence = [], ""
    for line in text.splitlines():
        marker = re.match(r"^\s*(```|~~~)", line)
        if marker:
            fence = "" if fence == marker.group(1) else (fence or marker.group(1))
            continue
        if not fence:
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading counts by its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in outside_code(path.read_text(encoding="utf-8")):
        heading = HEADING.match(line)
        if not heading:
            continue
        anchor = github_anchor(heading.group(2))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    targets = []
    for line in outside_code(path.read_text(encoding="utf-8")):
        targets.extend(target for target in LINK.findall(line) if not SCHEME.match(target))
    return targets


def broken_links(path: Path) -> list[tuple[str, str]]:
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.is_file():
            broken.append((target, "no such file"))
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append((target, f"no heading with the id {anchor!r} in {linked.name}"))
    return broken


def test_the_readme_stays_under_15_kb():
    size = len((ROOT / "README.md").read_bytes())
    assert size < README_LIMIT_BYTES, f"README.md is {size} bytes; move a section into docs/ and link it"


def test_every_docs_page_is_linked_from_the_readme():
    readme = ROOT / "README.md"
    linked = {(readme.parent / target.partition("#")[0]).resolve() for target in relative_links(readme)}
    pages = sorted((ROOT / "docs").glob("*.md"))
    assert pages, "docs/ holds no page"
    assert [page.name for page in pages if page.resolve() not in linked] == []


@pytest.mark.parametrize("page", documentation_pages(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page: Path):
    assert broken_links(page) == []


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path: Path):
    (tmp_path / "other.md").write_text("# A `code` heading: *here*\n\n## Twice\n\n## Twice\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-code-heading-here) [ok](other.md#twice-1) [ok](#mine) [web](https://example.com/x.md)\n"
        "[gone](missing.md) [wrong](other.md#nowhere) [third](other.md#twice-2)\n"
        "```\n[in a fence](fenced.md)\n```\n"
        "# Mine\n",
        encoding="utf-8",
    )
    assert [target for target, _ in broken_links(page)] == ["missing.md", "other.md#nowhere", "other.md#twice-2"]
