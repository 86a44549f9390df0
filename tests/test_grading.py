"""The grader is graded: the shipped example class and the catalog of answer variants,
autograded in one batch through the real `nbgrader autograde` path.

- the course's own answers get full marks on every autograded cell;
- the untouched release gets 0 on every autograded cell;
- every wrong variant (catalog/) loses exactly the points of the cells it names,
  and keeps every other point; every correct alternative keeps every point (the catalog's
  students hand in their notebooks without the demonstrations after the last test cell,
  which cannot change a score: examples.without_teaching_tail);
- every test cell with hidden tests is the one that catches some wrong variant.
"""
from __future__ import annotations

import os
import shutil

import nbformat
import pytest
from nbgrader.utils import is_grade, is_solution

from course import ASSIGNMENT, ROOT
from course.examples import EXAMPLE_WRONG, cells_that_use, load_catalog, without_teaching_tail
from course.trial import batch, run_trial

from .conftest import notebook_paths

CATALOG = load_catalog()


def _shipped(student, only=None, teaching_tail=True):
    def write(folder):
        for nb in sorted((ROOT / "submitted" / student / ASSIGNMENT).glob("*.ipynb")):
            if only is not None and nb.stem not in only:
                continue
            if teaching_tail:
                shutil.copy(nb, folder)
            else:
                nbformat.write(without_teaching_tail(nbformat.read(nb, as_version=4)), folder / nb.name)
    return write


(WRONG,) = [v for v in CATALOG if v.name == EXAMPLE_WRONG]


def _catalog_students():
    return {f"catalog{i:02d}": group for i, group in enumerate(batch(CATALOG))}


def _example_students(teaching_tail: bool = True) -> dict:
    students = {name: _shipped(name, teaching_tail=teaching_tail) for name in ("solutions", "untouched")}
    # "wrong" differs from "solutions" in one notebook only (checked below): grading that one suffices
    students["wrong"] = _shipped("wrong", only={WRONG.notebook}, teaching_tail=teaching_tail)
    return students


@pytest.fixture(scope="module")
def trial():
    return run_trial({**_example_students(), **_catalog_students()}, only_varied=True, keep=frozenset({"solutions"}),
                     teaching_tail=False)


def _test_cells(notebook: str | None = None) -> dict[str, float]:
    """grade_id -> points of every autograded test cell (of one notebook, or all)."""
    out = {}
    for path in notebook_paths("source"):
        if notebook and path.stem != notebook:
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            if is_grade(cell) and not is_solution(cell):
                meta = cell.metadata["nbgrader"]
                out[meta["grade_id"]] = float(meta["points"])
    return out


def test_catalog_is_large_and_covers_every_notebook():
    wrong = [v for v in CATALOG if not v.correct]
    right = [v for v in CATALOG if v.correct]
    assert len(wrong) >= 25 and len(right) >= 10, (len(wrong), len(right))
    assert {p.stem for p in notebook_paths("source")} <= {v.notebook for v in wrong}
    for v in wrong:
        assert v.catches <= set(_test_cells(v.notebook)), f"{v.name} names cells that do not exist: {v.catches}"


@pytest.mark.slow
def test_solutions_get_full_marks(trial):
    assert not trial.outcomes["solutions"].problems
    assert trial.cells["solutions"] == {k: (p, p) for k, p in _test_cells().items()}


@pytest.mark.slow
def test_source_notebooks_run_headless_without_errors_or_stderr(trial):
    """The course's answers, run top to bottom by nbgrader (hidden tests included, headless,
    each notebook in a fresh kernel): no error and nothing on stderr. Stderr made only of
    Python warnings is dropped by nbgrader_config.py first, as for every student."""
    ran = trial.autograded["solutions"]
    assert sorted(ran) == sorted(p.stem for p in notebook_paths("source"))
    problems = [
        f"{name}, cell {cell.id}: {out.get('ename') or out.get('text', '')[:200]!r}"
        for name, nb in ran.items() for cell in nb.cells if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr")
    ]
    assert not problems, "errors or stderr (nbgrader scores such a test cell 0):\n" + "\n".join(problems)


@pytest.mark.slow
def test_untouched_release_gets_zero(trial):
    assert trial.cells["untouched"] == {k: (0.0, p) for k, p in _test_cells().items()}


@pytest.mark.slow
def test_wrong_example_loses_exactly_what_it_breaks(trial):
    shipped = ROOT / "submitted"
    for path in notebook_paths("source"):  # its other notebooks are the solutions, graded above
        if path.stem != WRONG.notebook:
            same = (shipped / "wrong" / ASSIGNMENT / path.name).read_bytes() == (shipped / "solutions" / ASSIGNMENT / path.name).read_bytes()
            assert same, f"submitted/wrong/{ASSIGNMENT}/{path.name} should be the course's answers"
    expected = {k: ((0.0 if k in WRONG.catches else p), p) for k, p in _test_cells(WRONG.notebook).items()}
    assert {k: trial.cells["wrong"].get(k) for k in expected} == expected


def test_the_wrong_example_loses_the_cell_whose_rule_names_its_mistake():
    """The example student's descend never resets the gradient: the rule (docstring) of the
    cell it loses says so, and no cell whose points it keeps claims to check the reset."""
    nb = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{WRONG.notebook}.ipynb", as_version=4)
    rules = {c.metadata["nbgrader"]["grade_id"]: c.source.splitlines()[0] for c in nb.cells
             if c.cell_type == "code" and is_grade(c)}
    assert WRONG.catches and all("reset" in rules[gid] for gid in WRONG.catches), rules
    assert not [gid for gid, rule in rules.items() if "reset" in rule and gid not in WRONG.catches], rules


def _cells_that_use(notebook: str) -> dict[str, set[str]]:
    return cells_that_use(nbformat.read(ROOT / "source" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4))


def test_separately_tested_cells_are_separate():
    """Where a submission may carry variants of several answer cells of one notebook, every
    test cell of it uses exactly one answer, and each variant is caught by tests of its own."""
    for notebook in sorted({v.notebook for v in CATALOG if v.separate}):
        cells = _cells_that_use(notebook)
        owners = {}
        for answer, tests in cells.items():
            for grade_id in tests:
                owners.setdefault(grade_id, set()).add(answer)
        assert set(owners) == set(_test_cells(notebook)), f"{notebook}: test cells that use no answer"
        shared = {g: a for g, a in owners.items() if len(a) > 1}
        assert not shared, f"{notebook}: these test cells use several answers, so SEPARATE_CELLS is wrong: {shared}"
        for v in CATALOG:
            if v.notebook == notebook:
                assert v.catches <= cells[v.cell], f"{v.name} changes {v.cell} but names other cells: {v.catches}"


@pytest.mark.slow
@pytest.mark.parametrize("variant", CATALOG, ids=lambda v: v.name)
def test_variant_is_graded_as_declared(trial, variant):
    student = next(name for name, group in _catalog_students().items() if variant in group)
    got = trial.cells[student]
    own = _cells_that_use(variant.notebook)[variant.cell] if variant.separate else None  # others may vary the rest
    for grade_id, points in _test_cells(variant.notebook).items():
        if own is not None and grade_id not in own:
            continue
        score = got.get(grade_id, (None, points))[0]
        if grade_id in variant.maybe:
            continue
        if grade_id in variant.catches:
            assert score == 0, f"{variant.name} ({variant.why}) should lose the points of {grade_id}"
        else:
            assert score == points, f"{variant.name} lost points in {grade_id}, which is not meant to catch it"


def test_every_hidden_test_catches_a_wrong_answer():
    caught = set().union(*(v.catches for v in CATALOG))
    for path in notebook_paths("source"):
        for cell in nbformat.read(path, as_version=4).cells:
            if "### BEGIN HIDDEN TESTS" in cell.source:
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                assert grade_id in caught, f"no wrong answer in catalog/ is caught by the hidden tests of {grade_id}"


def test_the_rules_table_names_every_entry_and_every_check():
    """catalog/README.md lists each exercise's rules and freedoms with their checks and
    entries: every catalog entry and every hidden check appears there, and nothing else."""
    import re

    table = (ROOT / "catalog" / "README.md").read_text().split("## Every rule", 1)[1]
    named = set(re.findall(r"`([a-z0-9_]+)`", table))
    entries = {v.name for v in CATALOG}
    checks = set(_test_cells())
    assert entries <= named, f"catalog entries missing from the table: {sorted(entries - named)}"
    assert checks <= named, f"checks missing from the table: {sorted(checks - named)}"
    for row in table.splitlines():
        cells = row.split("|")
        if len(cells) > 4 and cells[4].strip() and "---" not in row and "catalog entries" not in row:
            listed = set(re.findall(r"`([a-z0-9_]+)`", cells[4]))
            assert listed <= entries, f"the table names entries that do not exist: {sorted(listed - entries)}"


def _fresh_students() -> dict:
    """The example class without the demonstrations after the last test cells: the scores
    compared are those of test cells, which the demonstrations cannot change."""
    if os.environ.get("NDE_POOL_EQUIVALENCE") == "all":  # the whole catalog too: twice the grading time
        return {**_example_students(teaching_tail=False), **_catalog_students()}
    return _example_students(teaching_tail=False)


@pytest.mark.slow
def test_kernels_forked_from_the_zygote_grade_as_fresh_ones(trial):
    """The example class (and with NDE_POOL_EQUIVALENCE=all the whole catalog) graded with
    every kernel started from scratch: every cell scores as with kernels forked from the
    zygote (the trial above)."""
    students = _fresh_students()
    fresh = run_trial(students, only_varied=True, zygote=False, teaching_tail=False)
    for name in students:
        assert fresh.cells[name] == trial.cells[name], f"{name} scores otherwise with fresh kernels"
