"""A gradebook in memory, shaped as the parts of nbgrader's ``Gradebook`` that the course reads.

nbgrader's own gradebook needs a database and runs ``alembic`` on first use (seconds);
these tests need only its answers. A grade's ``score`` follows nbgrader's rule: the
score set by hand where there is one, else the autograder's, else 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nbgrader.api import MissingEntry


@dataclass
class Cell:
    cell_type: str


@dataclass
class Grade:
    name: str
    cell_type: str
    max_score: float
    auto_score: float | None = None
    manual_score: float | None = None

    @property
    def cell(self) -> Cell:
        return Cell(self.cell_type)

    @property
    def score(self) -> float:
        if self.manual_score is not None:
            return self.manual_score
        return self.auto_score if self.auto_score is not None else 0.0


@dataclass
class SubmittedNotebook:
    name: str
    grades: list[Grade]


@dataclass
class Notebook:
    name: str
    max_score: float


@dataclass
class Assignment:
    name: str
    notebooks: list[Notebook]
    duedate: str | None = None

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks)


@dataclass
class Student:
    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@dataclass
class Submission:
    timestamp: str = "2026-12-01 10:00:00"
    late_submission_penalty: float | None = None


@dataclass
class Gradebook:
    assignments: list[Assignment]
    students: list[Student]
    notebooks: dict = field(default_factory=dict)
    """(assignment, notebook, student) -> SubmittedNotebook."""
    submissions: dict = field(default_factory=dict)
    """(assignment, student) -> Submission."""

    def find_assignment(self, name: str) -> Assignment:
        return next(a for a in self.assignments if a.name == name)

    def find_submission_notebook(self, notebook: str, assignment: str, student: str) -> SubmittedNotebook:
        try:
            return self.notebooks[assignment, notebook, student]
        except KeyError:
            raise MissingEntry() from None

    def find_submission(self, assignment: str, student: str) -> Submission:
        try:
            return self.submissions[assignment, student]
        except KeyError:
            raise MissingEntry() from None

    def find_grade(self, grade_id: str, notebook: str, assignment: str, student: str) -> Grade:
        for grade in self.find_submission_notebook(notebook, assignment, student).grades:
            if grade.name == grade_id:
                return grade
        raise MissingEntry()

    def submit(self, assignment: str, student: str, notebook: str, grades: list[Grade],
               penalty: float | None = None) -> None:
        self.notebooks[assignment, notebook, student] = SubmittedNotebook(notebook, grades)
        self.submissions.setdefault((assignment, student), Submission(late_submission_penalty=penalty))

    # ``with Gradebook(url) as gb`` in the code under test
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
