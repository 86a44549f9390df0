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


def course_skeleton(where: Path, notebooks=None, students=(), images: bool = False) -> Path:
    """A course folder that nbgrader can grade, made in ``where`` from this repository:
    nbgrader_config.py, the source/ and release/ of ``notebooks`` (stems; every notebook by
    default: a later notebook's kernel is given the course's answers of the earlier ones,
    read from source/), the shipped submissions of ``students`` (the example class's names)
    for those notebooks, and images/ when asked (the feedback and formgrader show them)."""
    import shutil

    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", where)
    trees = ["source", "release", *(f"submitted/{student}" for student in students)]
    for tree in trees:
        folder = where / tree / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted((ROOT / tree / ASSIGNMENT).glob("*.ipynb")):
            if notebooks is None or path.stem in notebooks:
                shutil.copy(path, folder)
    if images:
        shutil.copytree(ROOT / "images", where / "images", dirs_exist_ok=True)
    return where
