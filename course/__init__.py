"""Instructor tooling: regenerate the course from its MyST sources, grade submissions.

Run ``python -m course --help`` for the commands.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "divergence"
"""The nbgrader assignment that holds every notebook of the lesson."""

NOTEBOOKS = ROOT / "notebooks"
SOURCE = ROOT / "source"
RELEASE = ROOT / "release"
SUBMITTED = ROOT / "submitted"
REFERENCE_MODULE = ROOT / "nde" / "reference.py"


class CourseError(Exception):
    """A problem with the course's files, worded for the instructor who must fix it."""
