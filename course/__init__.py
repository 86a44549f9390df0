"""Instructor tooling: regenerate the course from its MyST sources, grade submissions.

Run ``python -m course --help`` for the commands.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "divergence"
"""The nbgrader assignment that holds every notebook of the lesson."""

NOTEBOOKS = ROOT / "notebooks"
SOURCE = ROOT / "source"
RELEASE = ROOT / "release"


class CourseError(Exception):
    """A problem with the course's files, worded for the instructor who must fix it."""


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for nbgrader and Jupyter subprocesses: this Python's scripts
    folder first on PATH (nbgrader runs `alembic` from there), whether or not the
    virtual environment was activated."""
    scripts = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=os.pathsep.join([scripts, os.environ.get("PATH", "")]), **extra)
