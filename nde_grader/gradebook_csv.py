"""Grades out of the gradebook: the course's CSV and a Canvas gradebook CSV (nbgrader export plugins).

    nbgrader export --exporter=nde_grader.gradebook_csv.CourseGrades --to=grades.csv
    nbgrader export --exporter=nde_grader.gradebook_csv.CanvasGrades --to=canvas.csv

(``python -m course grade`` writes both.) A score set by hand in formgrader counts, and
shows as such: ``grades.csv`` gives, next to the score, what the autograder gave and
which cells carry a score set by hand; written answers not graded yet are counted apart.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin


@dataclass
class Override:
    notebook: str
    cell: str
    by_hand: float
    by_autograder: float | None

    def __str__(self) -> str:
        auto = "none" if self.by_autograder is None else f"{self.by_autograder:g}"
        return f"{self.notebook}/{self.cell}: {self.by_hand:g} set by hand (the autograder gave {auto})"


@dataclass
class NotebookGrade:
    score: float = 0.0  # what counts: hand scores where set, else the autograder's (ungraded: 0)
    max_score: float = 0.0
    graded_score: float = 0.0  # the same, over the cells graded so far (written answers: once graded)
    graded_max: float = 0.0
    autograder: float = 0.0  # the autograder's scores alone
    to_grade: int = 0  # written answers not graded by hand yet (``awaits_hand``)
    to_grade_points: float = 0.0
    overrides: list = field(default_factory=list)


def awaits_hand(grade) -> bool:
    """A written answer that no one has graded yet: no score set by hand, none by the
    autograder (nbgrader scores an answer left blank 0 by itself: that one is graded)."""
    return grade.cell.cell_type == "markdown" and grade.manual_score is None and grade.auto_score is None


def notebook_grade(nb) -> NotebookGrade:
    """The grade of one submitted notebook, from its gradebook entries."""
    out = NotebookGrade()
    for g in nb.grades:
        out.score += g.score
        out.max_score += g.max_score
        out.autograder += g.auto_score or 0.0
        if awaits_hand(g):
            out.to_grade += 1
            out.to_grade_points += g.max_score
        else:
            out.graded_score += g.score
            out.graded_max += g.max_score
        if g.cell.cell_type == "code" and g.manual_score is not None:
            out.overrides.append(Override(nb.name, g.name, g.manual_score, g.auto_score))
    return out


def class_grades(gradebook: Gradebook, assignment: str) -> dict:
    """student id -> notebook -> NotebookGrade (None: not submitted)."""
    names = [nb.name for nb in gradebook.find_assignment(assignment).notebooks]
    out = {}
    for student in sorted(gradebook.students, key=lambda s: s.id):
        row = {}
        for name in names:
            try:
                row[name] = notebook_grade(gradebook.find_submission_notebook(name, assignment, student.id))
            except MissingEntry:
                row[name] = None
        out[student.id] = row
    return out


class _Export(ExportPlugin):
    default_to = "grades.csv"

    def _assignments(self, gradebook: Gradebook) -> list:
        return [a for a in gradebook.assignments if not self.assignment or a.name in self.assignment]

    def _students(self, gradebook: Gradebook) -> list:
        # sorted by id: nbgrader orders by names, which the course leaves empty (PostgreSQL then returns any order)
        return sorted((s for s in gradebook.students if not self.student or s.id in self.student), key=lambda s: s.id)

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or self.default_to
        rows = self.rows(gradebook)
        with open(dest, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
        self.log.info("Wrote %d rows to %s", len(rows) - 1, dest)


class CourseGrades(_Export):
    """grades.csv: one row per student and assignment, nbgrader's columns and the course's own."""

    def rows(self, gradebook: Gradebook) -> list:
        head = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
                "late_submission_penalty", "score", "max_score", "autograder_score", "written_to_grade",
                "hand_overrides"]
        rows = [head]
        for assignment in self._assignments(gradebook):
            grades = class_grades(gradebook, assignment.name)
            for student in self._students(gradebook):
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    submission = None
                notebooks = [g for g in grades[student.id].values() if g is not None]
                raw = sum(g.score for g in notebooks)
                penalty = submission.late_submission_penalty if submission else 0.0
                rows.append([
                    assignment.name, assignment.duedate or "", submission.timestamp if submission else "", student.id,
                    student.last_name or "", student.first_name or "", student.email or "", f"{raw:g}",
                    f"{penalty or 0:g}", f"{raw - (penalty or 0):g}", f"{assignment.max_score:g}",
                    f"{sum(g.autograder for g in notebooks):g}", sum(g.to_grade for g in notebooks),
                    "; ".join(str(o) for g in notebooks for o in g.overrides),
                ])
        return rows


CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
"""The columns that Canvas's gradebook import needs before the assignments' columns."""


class CanvasGrades(_Export):
    """canvas.csv, for Canvas's Grades > Import: the student columns Canvas asks for, one
    column per notebook and one for the assignment's total, and the row of points possible.

    Canvas matches students by "SIS User ID" (here: the nbgrader student id, which should
    be the students' SIS ids); "ID" (Canvas's own number) is left empty. A column whose
    name Canvas does not know yet becomes a new assignment on import."""

    default_to = "canvas.csv"

    def rows(self, gradebook: Gradebook) -> list:
        assignments = self._assignments(gradebook)
        columns, possible = [], []
        per_assignment = {}
        for assignment in assignments:
            grades = class_grades(gradebook, assignment.name)
            per_assignment[assignment.name] = grades
            for nb in assignment.notebooks:
                columns.append((assignment.name, nb.name))
                possible.append(f"{nb.max_score:g}")
            columns.append((assignment.name, None))
            possible.append(f"{assignment.max_score:g}")
        head = CANVAS_COLUMNS + [f"{a} {n}" if n else f"{a} total" for a, n in columns]
        rows = [head, ["Points Possible", "", "", "", "", *possible]]
        for student in self._students(gradebook):
            name = ", ".join(p for p in (student.last_name, student.first_name) if p) or student.id
            cells = []
            for assignment, notebook in columns:
                row = per_assignment[assignment][student.id]
                if notebook is None:
                    graded = [g for g in row.values() if g is not None]
                    cells.append(f"{sum(g.score for g in graded):g}" if graded else "")
                else:
                    cells.append("" if row[notebook] is None else f"{row[notebook].score:g}")
            rows.append([name, "", student.id, student.id, "", *cells])
        return rows
