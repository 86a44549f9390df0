"""nbgrader's commands, run the way the grader runs them: each in a process of its own,
with the grading environment (headless, figures kept as images), killed with whatever it
started past its time limit or when the process that started it dies.

Used by one student's grading (course/autograde.py), the command (course/grade.py), the
engine (course/engine.py) and the trial (course/trial.py).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import ASSIGNMENT, CourseError, tool_env


def _env(extra: dict | None = None) -> dict:
    env = tool_env(NDE_HEADLESS="1", PYTHONWARNINGS="ignore::DeprecationWarning")
    # figures drawn by a notebook stay in it as images, for the feedback
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env.update(extra or {})
    return env


def _die_with_parent() -> None:
    """In the nbgrader child: be killed when the process that started it dies (a Dask worker
    shut down, a grader stopped with Ctrl-C), instead of grading on for nobody."""
    from nde_grader.kernel.zygote import die_with_parent

    try:
        die_with_parent()
    except (OSError, AttributeError):
        pass


def nbgrader(args: list[str], course: Path, timeout: float | None = None, env: dict | None = None) -> tuple[int, str]:
    """Run nbgrader in ``course``; return (exit status, log).

    A run past ``timeout`` seconds is killed with whatever it started (it runs in its own
    process group) and returns status -9. (Each notebook's time budget is kept by the
    executor itself; this limit only stops an nbgrader that hangs.)"""
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nbgrader", *args], cwd=course, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=_env(env), start_new_session=True, preexec_fn=_die_with_parent,
        )
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            status = -9
        log.seek(0)
        return status, log.read()


def prepare_gradebook(course: Path, assignment: str = ASSIGNMENT, db_url: str | None = None) -> None:
    """Record the assignment's cells in the gradebook (nbgrader reads them from source/);
    ``db_url``: another gradebook than the course's SQLite file (PostgreSQL)."""
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        status, log = nbgrader(
            ["generate_assignment", assignment, "--force", f"--CourseDirectory.release_directory={tmp}", "--log-level=WARN",
             *([f"--CourseDirectory.db_url={db_url}"] if db_url else [])],
            course,
        )
    if status:
        raise CourseError(f"could not record {assignment} in the gradebook:\n{log}")


def students(course: Path, assignment: str = ASSIGNMENT) -> list[str]:
    root = course / "submitted"
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir()) if root.exists() else []
