"""What the instructor sees of a graded submission (the feedback pages, what students see,
are read in tests/test_browser.py::test_feedback_reads_offline):

- formgrader's view of a submission, in headless Chromium that reaches nothing but the
  Jupyter server on loopback: every formula typeset by the server's MathJax (no raw $, no
  MathJax error mark), the course's figure shown, a failed test's message wrapped within
  its box, nothing fetched from the internet; screenshots go to
  ``artifacts/screenshots/formgrader/``;
- a written answer left blank, which nbgrader scores 0 by itself, counts as graded in the
  score table and in grades.csv, as in the feedback; an answer written and not graded yet
  waits for a person;
- the report's problem lines wrap between words and keep the hint at their end.
"""
from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from course import ASSIGNMENT, ROOT, course_skeleton, tool_env
from course.autograde import _reason
from course.grade import format_table
from course.text import printable, report_line

from .browser_helpers import Lab, browser, view_problems  # noqa: F401 (browser: a fixture)

NOTEBOOK = "02_gradient_descent"
# 02: the example student "wrong" fails a test whose message is one long line; 03: a course figure
SHOWN = (NOTEBOOK, "03_network")
SCREENSHOTS = ROOT / "artifacts" / "screenshots" / "formgrader"
HINT = ("with L(w) = cosh(1.0 (w - 0.5)), w0 = 0.0, lr = 0.05, steps = 7: descend returned w = 0.568135, the update "
        "rule w <- w - lr dL/dw gives 0.154835 (the hidden tests put other losses in place of L: use L and "
        "backward(), and reset the gradient before each step)")


@pytest.mark.filterwarnings("ignore:Object of type <Submitted")  # nbgrader's own SQLAlchemy warnings
def test_a_blank_written_answer_is_graded_in_the_table_and_the_export(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    from nde_grader.gradebook_csv import CourseGrades, class_grades

    monkeypatch.setenv("PATH", tool_env()["PATH"])  # a new gradebook runs alembic
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        gb.add_grade_cell("test", NOTEBOOK, ASSIGNMENT, max_score=1, cell_type="code")
        gb.add_grade_cell("written", NOTEBOOK, ASSIGNMENT, max_score=2, cell_type="markdown")
        for student in ("blank", "wrote"):
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
            gb.find_grade("test", NOTEBOOK, ASSIGNMENT, student).auto_score = 1.0
        gb.find_grade("written", NOTEBOOK, ASSIGNMENT, "blank").auto_score = 0.0  # what nbgrader gives a blank answer
        gb.db.commit()
        grades = class_grades(gb, ASSIGNMENT)
        head, *rows = CourseGrades().rows(gb)
    blank, wrote = grades["blank"][NOTEBOOK], grades["wrote"][NOTEBOOK]
    assert (blank.to_grade, blank.graded_score, blank.graded_max) == (0, 1.0, 3.0)
    assert (wrote.to_grade, wrote.graded_score, wrote.graded_max) == (1, 1.0, 1.0)
    table = format_table(grades).splitlines()
    shown = {line.split()[0]: line.split()[1:] for line in table if line.split()[0] in grades}
    assert shown == {"blank": ["1/3", "1/3"], "wrote": ["1/1", "+1w", "1/1"]}, table
    waiting = {row[head.index("student_id")]: row[head.index("written_to_grade")] for row in rows}
    assert waiting == {"blank": 0, "wrote": 1}


def test_report_lines_wrap_between_words_and_keep_the_hint(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    line = f"{NOTEBOOK}: descent_iterates: {_reason('AssertionError', HINT)}"
    shown = report_line(line).splitlines()
    assert len(shown) > 1 and all(len(row) <= 80 for row in shown), shown
    assert shown[0].startswith(f"    {NOTEBOOK}") and all(row.startswith("      ") for row in shown[1:])
    assert " ".join(row.strip() for row in shown) == line  # whole, advice included, no word split
    assert printable("word " * 100, 50) == ("word " * 10).strip() + "…"  # a line cut short ends after a word


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory) -> Path:
    """The example student "wrong" graded in SHOWN by `python -m course grade`, in a course
    folder of its own."""
    from course.grade import main as grade_main
    from nde_grader.kernel.sandbox import unavailable

    if unavailable():
        pytest.skip(f"grading needs its sandbox: {unavailable()}")
    course = tmp_path_factory.mktemp("formgrader") / "course"
    course_skeleton(course, notebooks=set(SHOWN), students=("wrong",), images=True)
    out = io.StringIO()
    with redirect_stdout(out):
        assert grade_main(course=course, workers=1) == 0, out.getvalue()
    return course


@pytest.mark.browser
@pytest.mark.slow
def test_formgrader_shows_a_submission_offline(browser, graded_course, tmp_path):  # noqa: F811
    """Formgrader's view of each graded notebook, as an instructor opens it to grade the
    written answers, with nothing reachable but the Jupyter server on loopback."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded_course / 'gradebook.db'}") as gb:
        ids = {name: gb.find_submission_notebook(name, ASSIGNMENT, "wrong").id for name in SHOWN}
    lab = Lab(graded_course, tmp_path / "state", tmp_path / "jupyter.log")
    context, problems, outside, failures = None, [], [], []

    def loopback_only(route):
        if route.request.url.startswith(lab.base + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    try:
        lab.wait_ready()
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", loopback_only)
        page = context.new_page()
        page.on("pageerror", lambda e: failures.append(str(e)))
        for name, submission in ids.items():
            page.goto(f"{lab.base}/formgrader/submissions/{submission}/?token={lab.token}")
            unreadable, found = view_problems(page, name)
            problems += unreadable
            if name == "03_network" and not any(i["src"].startswith("data:image/svg+xml") for i in found["images"]):
                problems.append(f"{name}: the course's figure is not shown")
            page.screenshot(path=str(SCREENSHOTS / f"wrong-{name}.png"), full_page=True)
    finally:
        if context is not None:
            context.close()
        lab.stop()
    problems += [f"fetched from outside the server: {url}" for url in outside]
    problems += [f"a script of the page failed: {e}" for e in failures]
    assert not problems, "\n".join(problems)
