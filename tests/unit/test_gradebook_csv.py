"""nde_grader/gradebook_csv.py: grades.csv and canvas.csv from a gradebook (one in memory here)."""
from __future__ import annotations

import csv
import logging

import pytest

from nde_grader import gradebook_csv as export

from .fakes import Assignment, Grade, Gradebook, Notebook, Student


def test_a_written_answer_awaits_a_person_until_scored():
    assert export.awaits_hand(Grade("why", "markdown", 3))
    assert not export.awaits_hand(Grade("why", "markdown", 3, auto_score=0))  # left blank: nbgrader scored it
    assert not export.awaits_hand(Grade("why", "markdown", 3, manual_score=2))
    assert not export.awaits_hand(Grade("t", "code", 3))  # a test cell is never the hand's to wait for


def test_a_notebooks_grade_counts_hand_scores_and_leaves_pending_answers_apart():
    nb = type("NB", (), {"name": "04_dv_bound", "grades": [
        Grade("dv_value", "code", 2, auto_score=2),
        Grade("dv_stability", "code", 3, auto_score=0, manual_score=1.5),
        Grade("dv_sd_values", "code", 1, auto_score=None, manual_score=1),
        Grade("why", "markdown", 4),
        Grade("how", "markdown", 2, auto_score=0, manual_score=2),
    ]})()
    g = export.notebook_grade(nb)
    assert (g.score, g.max_score) == (2 + 1.5 + 1 + 0 + 2, 12)
    assert (g.graded_score, g.graded_max) == (6.5, 8)
    assert g.autograder == 2
    assert (g.to_grade, g.to_grade_points) == (1, 4)
    assert [str(o) for o in g.overrides] == [
        "04_dv_bound/dv_stability: 1.5 set by hand (the autograder gave 0)",
        "04_dv_bound/dv_sd_values: 1 set by hand (the autograder gave none)",
    ]  # a written answer scored by hand is grading, not an override


def course_gradebook() -> Gradebook:
    notebooks = [Notebook("01_problem", 5), Notebook("02_gradient_descent", 4)]
    gb = Gradebook([Assignment("divergence", notebooks, duedate="2026-12-01 23:59:00")],
                   # nbgrader returns students in any order: the files sort them by id
                   [Student("zoe", "Zoë", "Ångström", "zoe@example.org"), Student("ada", "Ada"), Student("bob")])
    gb.submit("divergence", "ada", "01_problem", [Grade("a", "code", 2, auto_score=2),
                                                  Grade("w", "markdown", 3)], penalty=0.5)
    gb.submit("divergence", "ada", "02_gradient_descent", [Grade("b", "code", 4, auto_score=0, manual_score=3)])
    gb.submit("divergence", "zoe", "01_problem", [Grade("a", "code", 2, auto_score=0),
                                                  Grade("w", "markdown", 3, manual_score=3)])
    return gb


def read(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_class_grades_gives_none_for_a_notebook_not_handed_in():
    grades = export.class_grades(course_gradebook(), "divergence")
    assert list(grades) == ["ada", "bob", "zoe"]
    assert grades["bob"] == {"01_problem": None, "02_gradient_descent": None}
    assert grades["zoe"]["02_gradient_descent"] is None and grades["zoe"]["01_problem"].score == 3


def test_grades_csv(tmp_path):
    to = tmp_path / "grades.csv"
    export.CourseGrades(to=str(to), log=logging.getLogger("unit")).export(course_gradebook())
    rows = read(to)
    assert rows[0][-5:] == ["score", "max_score", "autograder_score", "written_to_grade", "hand_overrides"]
    by_id = {row[3]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert [row[3] for row in rows[1:]] == ["ada", "bob", "zoe"]
    ada, bob, zoe = by_id["ada"], by_id["bob"], by_id["zoe"]
    assert (ada["raw_score"], ada["late_submission_penalty"], ada["score"], ada["max_score"]) == ("5", "0.5", "4.5", "9")
    assert (ada["autograder_score"], ada["written_to_grade"], ada["first_name"]) == ("2", "1", "Ada")
    assert ada["hand_overrides"] == "02_gradient_descent/b: 3 set by hand (the autograder gave 0)"
    assert ada["duedate"] == "2026-12-01 23:59:00" and ada["timestamp"] == "2026-12-01 10:00:00"
    assert (bob["raw_score"], bob["score"], bob["timestamp"], bob["written_to_grade"]) == ("0", "0", "", "0")
    assert (zoe["last_name"], zoe["email"], zoe["score"], zoe["hand_overrides"]) == (
        "Ångström", "zoe@example.org", "3", "")


def test_the_export_is_limited_to_the_students_asked_for(tmp_path):
    to = tmp_path / "grades.csv"
    export.CourseGrades(to=str(to), student=["zoe"], log=logging.getLogger("unit")).export(course_gradebook())
    assert [row[3] for row in read(to)[1:]] == ["zoe"]


def test_canvas_csv(tmp_path):
    to = tmp_path / "canvas.csv"
    export.CanvasGrades(to=str(to), log=logging.getLogger("unit")).export(course_gradebook())
    head, possible, *students = read(to)
    assert head == export.CANVAS_COLUMNS + ["divergence 01_problem", "divergence 02_gradient_descent", "divergence total"]
    assert possible == ["Points Possible", "", "", "", "", "5", "4", "9"]
    assert students == [
        ["Ada", "", "ada", "ada", "", "2", "3", "5"],  # the total of what counts, before any late penalty
        ["bob", "", "bob", "bob", "", "", "", ""],  # nothing handed in: empty, not 0
        ["Ångström, Zoë", "", "zoe", "zoe", "", "3", "", "3"],
    ]


def test_the_default_file_names():
    assert export.CourseGrades().default_to == "grades.csv" and export.CanvasGrades().default_to == "canvas.csv"


@pytest.mark.parametrize("exporter", [export.CourseGrades, export.CanvasGrades])
def test_an_empty_class_writes_the_header_only(tmp_path, exporter):
    to = tmp_path / "out.csv"
    gb = Gradebook([Assignment("divergence", [Notebook("01_problem", 5)])], [])
    exporter(to=str(to), log=logging.getLogger("unit")).export(gb)
    assert len(read(to)) == (1 if exporter is export.CourseGrades else 2)
