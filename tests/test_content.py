"""The text holds together: cited equations exist, links and figures resolve, nothing is interactive."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from course import ROOT
from course.build import markdown_sources

SOURCES = markdown_sources()
TAG = re.compile(r"\\tag\{([^}]+)\}")
LINK = re.compile(r"\]\((\d\d_[a-z_]+)\.ipynb(?:#([^)\s]+))?\)")
CITATION = re.compile(r"\[\(([^)\]]+)\)\]\((\d\d_[a-z_]+)\.ipynb")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.M)


def _text(md: Path) -> str:
    return md.read_text(encoding="utf-8")


ANCHOR = re.compile(r'^\+\+\+ \{.*"anchor": "([a-z0-9-]+)"', re.M)


def jupyterlab_anchor(heading: str) -> str:
    """The id JupyterLab gives a rendered heading: its text with spaces turned into '-'."""
    return heading.replace(" ", "-")


def test_equation_tags_are_unique():
    tags = [t for md in SOURCES for t in TAG.findall(_text(md))]
    assert len(tags) == len(set(tags)), f"an equation tag is defined twice: {tags}"


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_links_to_other_notebooks_resolve(md):
    for target, anchor in LINK.findall(_text(md)):
        target_md = md.parent / f"{target}.md"
        assert target_md.exists(), f"{md.name} links to {target}.ipynb, which does not exist"
        if anchor.startswith("cell-id="):  # a cell that names its id: JupyterLab opens the notebook there
            ids = set(ANCHOR.findall(_text(target_md)))
            assert anchor[len("cell-id="):] in ids, f"{md.name}: no cell of {target} has the anchor {anchor} ({sorted(ids)})"
        elif anchor:
            anchors = {jupyterlab_anchor(h) for h in HEADING.findall(_text(target_md))}
            assert anchor in anchors, f"{md.name}: no heading of {target} has the anchor #{anchor} ({sorted(anchors)})"


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_cited_equations_exist_where_they_are_cited_from(md):
    for tag, target in CITATION.findall(_text(md)):
        target_text = _text(md.parent / f"{target}.md")
        assert f"\\tag{{{tag}}}" in target_text, f"{md.name} cites ({tag}) in {target}, which has no \\tag{{{tag}}}"


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_figures_are_our_svg_files_and_parse(md):
    for src in IMAGE.findall(_text(md)):
        assert src.startswith("../../images/") and src.endswith(".svg"), f"{md.name}: figure {src} is not in images/"
        path = (md.parent / src).resolve()
        assert path.is_file(), f"{md.name}: {src} does not exist"
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg") and (root.get("viewBox") or root.get("width")), f"{path.name} lacks a size"


def test_every_image_file_is_used():
    used = {Path(src).name for md in SOURCES for src in IMAGE.findall(_text(md))}
    for svg in (ROOT / "images").glob("*.svg"):
        assert svg.name in used, f"images/{svg.name} is not shown by any notebook"


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_nothing_waits_for_a_person_or_runs_shell_escapes(md):
    for block in re.findall(r"```\{code-cell\}.*?```", _text(md), re.S):
        assert not re.search(r"(^|[^.\w])input\(", block), f"{md.name}: input() blocks headless runs"
        assert not re.search(r"^\s*!", block, re.M), f"{md.name}: shell escapes are not portable"
        assert "%load_ext jdc" not in block, f"{md.name}: jdc is imported, not loaded as an extension"
