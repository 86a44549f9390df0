"""Borrowed answers score 0: the catalog of cheating submissions (tests/cheats.py), graded.

For every strategy, one student whose every answer cell, in the notebooks it is graded on
(``SCOPE``: three in turn, every notebook meeting several strategies, or all of them), takes the
course's own implementation by that route instead of writing it: importing the course's
packages, reading the instructor's files (source notebooks, the reference module) or
another student's, taking it from modules or objects loaded in the kernel, from the kernel's
history, through hooks that run after later cells, or from what the grader gives
``from_notebook``, or another student's notebook. Graded through the real ``grade`` path (course/trial.py runs
course/autograde.py's ``autograde``, nbgrader with the sandbox):

- every test cell of every notebook graded scores 0;
- the instructor's report names, for each notebook, what the answers reached for.

The control: the same cheating cells, run where the answers are in reach (a plain
kernel in a course folder, with the hidden tests run inside the kernel, as nbgrader
does by default, and the course's answers imported by the notebook, as they once were)
pass tests there. Without that, a cheat that merely crashes would
prove nothing. The control runs each strategy on one notebook, the notebooks in turn
(``NDE_CHEAT_CONTROL=all``: every strategy on every notebook).
"""
from __future__ import annotations

import ast
import os
import shutil

import nbformat
import pytest
from nbgrader.utils import is_grade, is_solution

from course import ASSIGNMENT, ROOT, course_skeleton
from course.nbgrader_cli import prepare_gradebook
from course.trial import run_trial
from nde_grader.kernel.sandbox import unavailable
from nde_grader.reference_build import notebook_exports

from .cheats import IN_MEMORY, REACH, STRATEGIES, cheat_cell
from .conftest import execute, notebook_paths

pytestmark = pytest.mark.slow
NOTEBOOKS = [p.stem for p in notebook_paths("source")]


def _defined(source: str) -> dict[str, str]:
    """The functions and classes an answer cell of the course defines, in order."""
    return {n.name: "class" if isinstance(n, ast.ClassDef) else "def"
            for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def cheating_notebook(notebook: str, strategy: str, base: str = "release") -> nbformat.NotebookNode:
    """The release (or source) notebook with every code answer cell replaced by a cheat."""
    source = {c.id: c for c in nbformat.read(ROOT / "source" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4).cells}
    nb = nbformat.read(ROOT / base / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and is_solution(cell):
            cell.source = cheat_cell(strategy, _defined(source[cell.id].source.replace("### BEGIN SOLUTION", "")))
    return nb


PER_STRATEGY = 3
"""How many notebooks each strategy is graded on by default: the notebooks in turn, so that
every notebook meets several strategies; the route that depends on the notebook
(``provided_answers``: what the grader gives ``from_notebook`` grows notebook by notebook)
is graded on all of them. ``NDE_CHEATS=all``: every strategy on every notebook (about six
minutes more here)."""
EVERY_NOTEBOOK = ("provided_answers",)


def graded_notebooks() -> dict[str, list[str]]:
    """strategy -> the notebooks it is graded on: among those its route reaches (``REACH``),
    the next ``PER_STRATEGY`` in turn (more where the strategies of that reach would leave
    one of its notebooks out), continuing where the strategy before with the same reach
    stopped."""
    reach = {s: tuple(n for n in NOTEBOOKS if n in REACH.get(s, NOTEBOOKS)) for s in STRATEGIES}
    scope, turn = {}, {}
    for strategy in STRATEGIES:
        mine = reach[strategy]
        if os.environ.get("NDE_CHEATS") == "all" or strategy in EVERY_NOTEBOOK:
            scope[strategy] = list(mine)
            continue
        sharing = sum(1 for s in STRATEGIES if reach[s] == mine and s not in EVERY_NOTEBOOK)
        count = min(len(mine), max(PER_STRATEGY, -(-len(mine) // sharing)))  # the group covers its reach
        start = turn.get(mine, 0)
        scope[strategy] = sorted(mine[(start + k) % len(mine)] for k in range(count))
        turn[mine] = start + count
    return scope


SCOPE = graded_notebooks()


def _writer(strategy: str):
    def write(folder):
        for notebook in SCOPE[strategy]:
            nbformat.write(cheating_notebook(notebook, strategy), folder / f"{notebook}.ipynb")
    return write


def _test_cells(notebook: str) -> dict[str, float]:
    nb = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if is_grade(c) and not is_solution(c) and c.cell_type == "code"}


@pytest.fixture(scope="module")
def graded():
    why = unavailable()
    if why:
        pytest.skip(f"grading refuses to start without its sandbox here: {why}")
    return run_trial({f"cheat_{s}": _writer(s) for s in STRATEGIES})


def test_the_catalog_covers_every_route():
    assert len(STRATEGIES) >= 8
    for notebook in NOTEBOOKS:
        met = [s for s in STRATEGIES if notebook in SCOPE[s]]
        assert len(met) >= 2, f"{notebook} is graded against {met} only"
    routes = " ".join(why for why, _ in STRATEGIES.values())
    for route in ("import", "source notebook", "reference module", "another student", "loaded in the kernel",
                  "objects alive", "history", "hooks", "from_notebook"):
        assert route in routes, f"no cheating strategy takes the route: {route}"


@pytest.mark.parametrize("strategy", list(STRATEGIES), ids=str)
def test_a_borrowed_answer_scores_zero(graded, strategy):
    student = f"cheat_{strategy}"
    cells = graded.cells[student]
    for notebook in SCOPE[strategy]:
        for grade_id, points in _test_cells(notebook).items():
            score, max_score = cells.get(grade_id, (None, points))
            assert score == 0, f"{strategy}: {notebook}, {grade_id} scored {score} of {max_score} with a borrowed answer"
    problems = graded.outcomes[student].problems
    for notebook in SCOPE[strategy]:
        assert any(p.startswith(f"{notebook}: review ") for p in problems), (
            f"{strategy}: the report gives no reason for {notebook}: {problems}"
        )


# --- the control ------------------------------------------------------------------------


def _exports(notebook: str) -> str:
    """The course's code of the notebook's cells tagged export (what ``provide`` hands over)."""
    return notebook_exports(nbformat.read(ROOT / "source" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4), notebook)


def _control_pairs() -> list[tuple[str, str]]:
    """(strategy, notebook) pairs of the control: by default each strategy once, on the
    notebooks in turn (among those its route reaches)."""
    reach = {s: [n for n in NOTEBOOKS if n in REACH.get(s, NOTEBOOKS)] for s in STRATEGIES}
    # what the grader gives from_notebook is the code of the cells tagged export: a notebook
    # without them (02) gives the route nothing to borrow, even where nothing protects it
    reach["provided_answers"] = [n for n in reach["provided_answers"] if _exports(n)]
    if os.environ.get("NDE_CHEAT_CONTROL") == "all":
        return [(s, n) for s in STRATEGIES for n in reach[s]]
    return [(s, reach[s][i % len(reach[s])]) for i, s in enumerate(STRATEGIES)]


@pytest.fixture(scope="module")
def exposed_course(tmp_path_factory):
    """A course folder as nbgrader grades by default: source/, the gradebook, the reference
    module and the other students' submissions next to the folder where the kernel runs."""
    course = tmp_path_factory.mktemp("exposed")
    course_skeleton(course, students=("solutions",))
    shutil.copytree(ROOT / "nde_grader" / "reference", course / "nde_grader" / "reference",
                    ignore=shutil.ignore_patterns("__pycache__"))
    prepare_gradebook(course)
    return course


@pytest.mark.parametrize("strategy,notebook", _control_pairs(), ids=lambda x: x)
def test_the_cheat_works_where_answers_are_in_reach(exposed_course, strategy, notebook):
    folder = exposed_course / "autograded" / strategy / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for earlier in NOTEBOOKS:  # the notebooks before it, answered, for from_notebook
        if earlier < notebook:
            shutil.copy(ROOT / "submitted" / "solutions" / ASSIGNMENT / f"{earlier}.ipynb", folder)
    path = folder / f"{notebook}.ipynb"
    nb = cheating_notebook(notebook, strategy, base="source")
    if strategy in IN_MEMORY:  # the answers loaded in the kernel, as the notebooks once imported them
        nb.cells.insert(0, nbformat.v4.new_code_cell(  # every notebook's module, loaded (they load on first use)
            "import nde_grader.reference as _answers\nfor _name in _answers.__all__:\n    getattr(_answers, _name)"))
    if strategy == "provided_answers":  # a grader that gave from_notebook this notebook's answers too
        provided = {n: _exports(n) for n in NOTEBOOKS}
        nb.cells.insert(0, nbformat.v4.new_code_cell(f"import nde_student.earlier\nnde_student.earlier.provide({provided!r})"))
    nbformat.write(nb, path)
    ran = execute(path, allow_errors=True)
    passed = [c.metadata["nbgrader"]["grade_id"] for c in ran.cells
              if c.cell_type == "code" and is_grade(c) and not is_solution(c)
              and not any(o.output_type == "error" for o in c.outputs)]
    assert passed, f"{strategy} borrows nothing in {notebook} even where the answers are in reach: the cheat is broken"


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_a_route_that_names_notebooks_names_them_all(strategy):
    """A route that lists the course's notebooks (to read or to ask for) lists every one: a
    list that stops at an older last notebook makes the route borrow nothing in the newer
    ones, and the control above, which tries one notebook a route, may not see it."""
    import re

    _, code = STRATEGIES[strategy]
    named = set(re.findall(r"\b(0\d_[a-z_]+?)(?:\.ipynb)?\b", code))
    assert not named or named == set(NOTEBOOKS), f"{strategy} names {sorted(named)}, not every notebook"
