"""The instructor's cycle around grading: hand overrides that survive regrading and show as
such, the Canvas export, and nbgrader's exchange from release to fetched feedback.

- a score set by hand (as formgrader sets it) survives ``python -m course grade --student``;
  the printed table marks it and lists it with the autograder's score, ``grade`` says which
  cell carries it, and grades.csv counts it next to the autograder's total;
- canvas.csv has the columns Canvas's gradebook import requires, a row of points possible
  and one row per student with numbers only;
- the whole exchange cycle in a temporary exchange: release_assignment, fetch_assignment
  and submit as two students, collect, grade, feedback, release_feedback, fetch_feedback.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest

from course import ASSIGNMENT, ROOT
from course.examples import fill_answers
from course.grade import main as grade_main
from nde_grader.gradebook_csv import CANVAS_COLUMNS
from nde_grader.kernel.sandbox import unavailable

from .conftest import one_notebook_course

pytestmark = pytest.mark.slow
NOTEBOOK = "02_gradient_descent"

if unavailable():
    pytest.skip(f"grading needs its sandbox: {unavailable()}", allow_module_level=True)


def _course(where: Path, students=("wrong", "solutions")) -> Path:
    return one_notebook_course(where, NOTEBOOK, students)


def _grade(course: Path, who=None) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        status = grade_main(who, course=course)
    assert status == 0, out.getvalue()
    return out.getvalue()


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """The two students graded once; each test works on a copy of this course."""
    course = _course(tmp_path_factory.mktemp("graded") / "course")
    _grade(course)
    return course


def _copy(graded: Path, where: Path) -> Path:
    shutil.copytree(graded, where / "course", symlinks=True)
    return where / "course"


def test_a_score_set_by_hand_survives_regrading_and_shows_as_such(graded, tmp_path):
    from nbgrader.api import Gradebook

    course = _copy(graded, tmp_path)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # what formgrader does
        grade = gb.find_grade("descent_iterates", NOTEBOOK, ASSIGNMENT, "wrong")
        assert grade.auto_score == 0
        grade.manual_score = 2.0
        gb.db.commit()
    printed = _grade(course, ["wrong"])
    line = "02_gradient_descent/descent_iterates: 2 set by hand (the autograder gave 0)"
    assert f"kept, set by hand: {line}" in printed, printed
    table = printed[printed.index("student "):]
    assert "7/7 h" in table and line in table.split("scores set by hand:")[1], table
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("descent_iterates", NOTEBOOK, ASSIGNMENT, "wrong")
        assert (grade.manual_score, grade.auto_score) == (2.0, 0.0)  # regraded, and the hand score stays
    rows = {r["student_id"]: r for r in _csv(course / "grades.csv")}
    assert rows["wrong"]["raw_score"] == "7" and rows["wrong"]["autograder_score"] == "5"
    assert rows["wrong"]["hand_overrides"] == line and rows["solutions"]["hand_overrides"] == ""
    assert rows["wrong"]["written_to_grade"] == "2"


def test_the_canvas_export_has_the_columns_canvas_requires(graded, tmp_path):
    course = _copy(graded, tmp_path)
    with open(course / "canvas.csv", newline="") as f:
        rows = list(csv.reader(f))
    head, possible, *students = rows
    assert head[:5] == CANVAS_COLUMNS == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert head[5:] == [f"{ASSIGNMENT} {NOTEBOOK}", f"{ASSIGNMENT} total"]
    assert possible[0] == "Points Possible" and possible[5:] == ["10", "10"]
    assert {r[2] for r in students} == {"wrong", "solutions"}
    for row in students:
        assert len(row) == len(head) and all(float(x) >= 0 for x in row[5:])
    assert {r[2]: r[5] for r in students} == {"wrong": "5", "solutions": "7"}  # the written answers: not yet


def _nbgrader(args: list[str], cwd: Path, user: str | None = None) -> str:
    """An nbgrader command; ``user``: as that student (``--student``: the tests run as one
    system user, where each student would run as their own)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if user:  # each student has a home (and nbgrader's cache of submissions) of their own
        args = [*args, f"--student={user}"]
        env["HOME"] = str(cwd)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def test_the_whole_exchange_cycle(tmp_path):
    course = _course(tmp_path / "course", students=())
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    root = [f"--Exchange.root={exchange}"]
    _nbgrader(["release_assignment", ASSIGNMENT, *root], course)
    homes = {}
    for student in ("alice", "bob"):
        home = homes[student] = tmp_path / student
        home.mkdir()
        course_id = ["--course", "neural-divergence", *root]
        _nbgrader(["fetch_assignment", ASSIGNMENT, *course_id], home, student)
        fetched = home / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        assert fetched.exists()
        if student == "alice":  # alice answers; bob hands in the notebook as he got it
            source = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
            nbformat.write(fill_answers(nbformat.read(fetched, as_version=4), source), fetched)
        _nbgrader(["submit", ASSIGNMENT, *course_id], home, student)
    _nbgrader(["collect", ASSIGNMENT, *root], course)
    for student in homes:
        assert (course / "submitted" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb").exists()
        assert (course / "submitted" / student / ASSIGNMENT / "timestamp.txt").exists()
    printed = _grade(course)
    assert "alice" in printed and "bob" in printed
    _nbgrader(["release_feedback", ASSIGNMENT, *root], course)
    for student, home in homes.items():
        _nbgrader(["fetch_feedback", ASSIGNMENT, "--course", "neural-divergence", *root], home, student)
        pages = list((home / ASSIGNMENT / "feedback").rglob(f"{NOTEBOOK}.html"))
        assert len(pages) == 1, f"{student} fetched {pages}"
        text = pages[0].read_text()
        assert ("Autograded: <b>7.0 / 7.0</b>" if student == "alice" else "Autograded: <b>0.0 / 7.0</b>") in text
