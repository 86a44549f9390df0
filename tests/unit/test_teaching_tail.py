"""course/examples.without_teaching_tail: a release notebook handed in without the
demonstrations after its last test cell, as the catalog's trial grades it."""
from __future__ import annotations

import nbformat
import pytest
from nbgrader.utils import is_grade, is_locked, is_solution

from course import ASSIGNMENT, ROOT
from course.examples import without_teaching_tail

RELEASE = sorted((ROOT / "release" / ASSIGNMENT).glob("*.ipynb"))


def _is_test(cell) -> bool:
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


@pytest.mark.parametrize("path", RELEASE, ids=lambda p: p.stem)
def test_only_the_code_after_the_last_test_goes(path):
    nb = nbformat.read(path, as_version=4)
    last = max(i for i, c in enumerate(nb.cells) if _is_test(c))
    kept = without_teaching_tail(nb)
    assert kept.cells[: last + 1] == nb.cells[: last + 1]  # everything up to the last test, unchanged
    tail, kept_tail = nb.cells[last + 1:], kept.cells[last + 1:]
    assert kept_tail == [c for c in tail if c.cell_type != "code" or is_grade(c) or is_locked(c)]
    assert [c for c in kept_tail if is_grade(c)] == [c for c in tail if is_grade(c)]  # written answers stay
    assert len(nb.cells) >= len(kept.cells) and nb == nbformat.read(path, as_version=4)  # the input untouched


def test_a_locked_or_graded_code_cell_after_the_last_test_stays():
    cells = [nbformat.v4.new_code_cell(s) for s in ("answer", "test", "demo", "locked", "graded")]
    meta = [{"solution": True, "grade": False, "grade_id": "a", "locked": False},
            {"solution": False, "grade": True, "grade_id": "t", "points": 1, "locked": True},
            None,
            {"solution": False, "grade": False, "grade_id": "l", "locked": True},
            {"solution": True, "grade": True, "grade_id": "g", "points": 1, "locked": False}]
    for cell, m in zip(cells, meta):
        if m:
            cell.metadata["nbgrader"] = m
    nb = nbformat.v4.new_notebook(cells=cells)
    assert [c.source for c in without_teaching_tail(nb).cells] == ["answer", "test", "locked", "graded"]
    no_tests = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("demo")])
    assert without_teaching_tail(no_tests) == no_tests
