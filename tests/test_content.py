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


# --- comparisons over seeds: the verdict is printed by the cell, the prose only reads it -------

OVER_SEEDS = re.compile(r"\brange\((?:seeds|SEEDS)\)")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.S)
DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+")
OUTCOME = re.compile(r"\b(ahead|behind|wins?|beats?|outperforms?|better than|worse than|closer to|further from)\b", re.I)
READS_OR_CONDITIONS = re.compile(r"\b(if|where|whether|when|verdicts?|prints?|printed|lines?|counts?)\b", re.I)


def _cells(md: Path) -> list[tuple[str, str]]:
    """(kind, text) of each cell of a MyST notebook: "code" for code cells, "markdown" otherwise."""
    import jupytext

    nb = jupytext.read(md)
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def _comparisons(md: Path) -> list[tuple[str, str]]:
    """(the code of each cell that runs over seeds, the prose that follows it up to the next code cell)."""
    cells, out = _cells(md), []
    for i, (kind, source) in enumerate(cells):
        if kind == "code" and OVER_SEEDS.search(source):
            prose = []
            for later_kind, text in cells[i + 1:]:
                if later_kind == "code":
                    break
                prose.append(text)
            out.append((source, "\n".join(prose)))
    return out


LATER = [md for md in SOURCES if md.stem[:2] in ("05", "06", "07", "08")]


@pytest.mark.parametrize("md", LATER, ids=lambda p: p.stem)
def test_comparisons_over_seeds_print_their_verdict_and_the_prose_states_none(md):
    """Each cell of 05-07 that compares over seeds prints its verdict with nde_student.verdict
    (chosen by the numbers: the mean difference, its SE, decided or not at 2 SE); the prose
    after it states no measured number and no outcome unless it says how to read the printed
    verdict or states a condition, so that it stays true whatever the seeds give."""
    comparisons = _comparisons(md)
    assert comparisons, f"{md.stem}: no comparison over seeds found (the pattern {OVER_SEEDS.pattern} changed?)"
    for source, prose in comparisons:
        first = source.strip().splitlines()[0]
        assert "verdict(" in source, f"{md.stem}, the cell '{first}': a comparison over seeds prints no verdict(...)"
        words = MATH.sub(" ", prose)
        numbers = DECIMAL.findall(words)
        assert not numbers, f"{md.stem}, after '{first}': the prose states measured numbers {numbers}"
        for sentence in re.split(r"(?<=[.!?:])\s+", words):
            if OUTCOME.search(sentence):
                assert READS_OR_CONDITIONS.search(sentence), (
                    f"{md.stem}, after '{first}': this sentence states an outcome that the seeds decide: {sentence!r}")


def test_the_verdict_follows_the_numbers():
    from nde_student import verdict

    named = {"what": "A minus B", "higher": "A ahead", "lower": "B ahead"}
    ahead = verdict([1.0, 1.2, 0.9, 1.1], [0.0, 0.1, 0.0, 0.2], **named)
    assert "A ahead, decided at 2 SE" in ahead and "positive in 4 of 4 seeds" in ahead
    behind = verdict([0.0, 0.1, 0.0, 0.2], [1.0, 1.2, 0.9, 1.1], **named)
    assert "B ahead, decided at 2 SE" in behind and "positive in 0 of 4 seeds" in behind
    undecided = verdict([0.3, -0.2, 0.1, -0.1], 0.0, **named)  # mean 0.025, SE 0.11
    assert "not decided" in undecided and "ahead" not in undecided
    assert "+0.0250" in undecided and "SE 0.1109" in undecided
    with pytest.raises(ValueError):
        verdict([1.0], 0.0, **named)
