"""The similarity report ranks copies first and flags no honest answer.

A class of eight hands in notebooks 03 and 05: three students who wrote their own `Net` and
`DVTrainer.step` (tests/similarity/, three different designs each), one who copied the
first of them verbatim (with a comment that tries to break out of the report's page), one
who copied the second and renamed every variable and added comments, one who handed in
the course's own answers, one whose notebooks are a link and a broken file, and one who
copied the third's Net into a notebook with a cell whose grade_id is a list.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from course import ASSIGNMENT, ROOT
from course.similarity import COURSE, compare, main

HERE = Path(__file__).parent / "similarity"
GIVEN_STEP = "            # YOUR CODE HERE\n            raise NotImplementedError()\n"


def _notebook(stem: str, net: str | None = None, step: str | None = None) -> nbformat.NotebookNode:
    """The release's notebook with the student's Net (03) or DVTrainer.step body (05) in its answer cell."""
    nb = nbformat.read(ROOT / "release" / ASSIGNMENT / f"{stem}.ipynb", as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "net" and net is not None:
            cell.source = net
        if grade_id == "trainer" and step is not None:
            assert GIVEN_STEP in cell.source
            cell.source = cell.source.replace(GIVEN_STEP, step)
    return nb


def _hand_in(submitted: Path, student: str, net: str, step: str) -> None:
    folder = submitted / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(_notebook("03_network", net=net), folder / "03_network.ipynb")
    nbformat.write(_notebook("05_trainer", step=step), folder / "05_trainer.ipynb")


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    submitted = tmp_path_factory.mktemp("class") / "submitted"
    code = {name: (HERE / f"{name}.py").read_text() for name in
            ("net_a", "net_b", "net_c", "net_b_renamed", "step_a", "step_b", "step_c", "step_b_renamed")}
    for who in "abc":
        _hand_in(submitted, f"honest_{who}", code[f"net_{who}"], code[f"step_{who}"])
    hostile = "# </pre><script>alert('copied')</script>\n"
    _hand_in(submitted, "copies_a", code["net_a"] + hostile, code["step_a"])
    _hand_in(submitted, "renames_b", code["net_b_renamed"], code["step_b_renamed"])
    folder = submitted / "course_copy" / ASSIGNMENT
    folder.mkdir(parents=True)
    for stem in ("03_network", "05_trainer"):
        shutil.copy(ROOT / "submitted" / "solutions" / ASSIGNMENT / f"{stem}.ipynb", folder)
    folder = submitted / "odd" / ASSIGNMENT
    folder.mkdir(parents=True)
    os.symlink(ROOT / "source" / ASSIGNMENT / "03_network.ipynb", folder / "03_network.ipynb")  # the answers
    (folder / "05_trainer.ipynb").write_text('{"cells": [')
    odd = _notebook("03_network", net=code["net_c"])  # a grade_id that is no name: read as no answer
    odd.cells[0].metadata["nbgrader"] = {"grade_id": ["not", "a", "name"]}
    folder = submitted / "odd_metadata" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(odd, folder / "03_network.ipynb")
    return submitted


def test_copies_rank_first_and_honest_answers_are_not_flagged(klass):
    pairs, problems, _ = compare(klass, ROOT)
    copies = {(nb, first, second) for nb in ("03_network", "05_trainer")
              for first, second in (("copies_a", "honest_a"), ("honest_b", "renames_b"), ("course_copy", COURSE))}
    flagged = {(p.notebook, p.first, p.second) for p in pairs if p.flagged}
    copies |= {("03_network", "honest_c", "odd_metadata")}  # it handed in honest_c's Net
    assert flagged == copies, f"flagged {sorted(flagged)}, expected the copies {sorted(copies)}"
    top = {(p.notebook, p.first, p.second) for p in pairs[:len(copies)]}
    assert top == copies, "the copies are not the highest-ranked pairs"
    honest = [p for p in pairs if {p.first, p.second} <= {"honest_a", "honest_b", "honest_c", COURSE}]
    assert honest and max(p.score for p in honest) < min(p.score for p in pairs if p.flagged)
    assert any("odd: 03_network.ipynb: not a regular file" in x for x in problems), problems
    assert any("odd: 05_trainer.ipynb: not a notebook" in x for x in problems), problems
    assert any(p.first == "honest_c" and p.second == "odd_metadata" and p.score == 1.0 for p in pairs)


def test_the_report_pages_escape_what_students_wrote(klass, tmp_path, capsys):
    out = tmp_path / "similarity"
    assert main(klass, ROOT, out) == 0
    printed = capsys.readouterr().out
    assert "7 pairs flagged" in printed and "03_network: copies_a and honest_a" in printed
    pages = sorted(p.name for p in out.glob("*.html"))
    assert "index.html" in pages and "03_network__copies_a__honest_a.html" in pages and len(pages) == 8
    page = (out / "03_network__copies_a__honest_a.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "default-src 'none'" in page  # no script would run even if one got through
    rows = (out / "similarity.csv").read_text().splitlines()
    assert rows[0].startswith("notebook,first,second") and len(rows) > 7
