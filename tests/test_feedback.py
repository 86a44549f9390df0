"""Feedback shows the visible tests' results and never the hidden tests or the course's answers."""
from __future__ import annotations

import html
import re

import pytest

from course import ASSIGNMENT, ROOT, course_skeleton
from course.examples import load_catalog, write_submission
from course.autograde import autograde
from course.nbgrader_cli import nbgrader, prepare_gradebook

pytestmark = pytest.mark.slow
NOTEBOOK = "02_gradient_descent"


@pytest.fixture(scope="module")
def feedback(tmp_path_factory) -> dict[str, str]:
    """student -> text of the feedback HTML for 02, for a wrong answer and an untouched copy."""
    course = tmp_path_factory.mktemp("feedback-course")
    course_skeleton(course, notebooks={NOTEBOOK})
    prepare_gradebook(course)
    write_submission(course, "wrong", ASSIGNMENT, [v for v in load_catalog() if v.name == "descent_keeps_gradient"])
    write_submission(course, "untouched", ASSIGNMENT, fill=False)
    autograde(course)
    status, log = nbgrader(["generate_feedback", ASSIGNMENT, "--force", "--log-level=WARN"], course)
    assert status == 0, log
    out = {}
    for student in ("wrong", "untouched"):
        page = (course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
        out[student] = html.unescape(re.sub(r"<[^>]+>", "", page))
    return out


def hidden_and_answer_code() -> list[str]:
    """Lines that only the source notebook has: hidden tests and the course's answers."""
    import nbformat

    nb = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    secret = ["BEGIN HIDDEN TESTS", "END HIDDEN TESTS"]
    for cell in nb.cells:
        for block in re.findall(r"### BEGIN (?:HIDDEN TESTS|SOLUTION)\n(.*?)### END", cell.source, re.S):
            secret += [line.strip() for line in block.splitlines() if len(line.strip()) > 12]
    return secret


def test_feedback_shows_results_but_no_hidden_tests_nor_answers(feedback):
    """One test, so that pytest-xdist builds the feedback once."""
    secret = hidden_and_answer_code()
    assert 'check("gradient_descent.descent_iterates")' in secret
    for student in ("wrong", "untouched"):
        shown = secret
        if student == "wrong":  # its answer is the course's minus one line: only the hidden tests count
            shown = [s for s in secret if "check(" in s or "HIDDEN" in s or "nde_grader" in s]
        leaked = [s for s in shown if s in feedback[student]]
        assert not leaked, f"the feedback of {student} shows {leaked}"
        assert "not shown:" not in feedback[student], "SafeView refused some of the course's own content"
    text = feedback["wrong"]
    summary = re.search(r"Autograded: ([\d.]+) / ([\d.]+)", text)
    assert summary and summary.groups() == ("5.0", "7.0"), summary and summary.group(0)
    assert "written answers still to be graded by hand" in text, "the summary hides that the total is not known yet"
    lost = re.findall(r"Test: ([^\n]*): ([\d.]+) / ([\d.]+)\n", text)
    assert [(s, top) for _, s, top in lost if s != top] == [("0.0", "2.0")], lost
    assert "the update rule w <- w - lr dL/dw gives" in text, "the hidden test's message to the student is missing"
    assert "descend reproduces the iterates" in text, "the test cell's docstring (what it checks) is missing"
    assert "NotImplementedError" in feedback["untouched"]
    # written answers left blank are scored 0 by nbgrader: graded, not waiting for a person
    assert "to be graded by hand" not in feedback["untouched"], "a blank written answer shown as still to grade"
    assert "written answers still to be graded" not in feedback["untouched"]
