"""Autograde a class: every folder under submitted/, one student at a time.

Each student is graded by its own ``nbgrader autograde`` process with a time limit, so
a submission that hangs, crashes its kernel or cannot be read costs that student
points, with a reason, and never the grades of the others.  Feedback and the CSV
export follow; the table of scores is printed last.

Timeouts (see also nbgrader_config.py):
  per cell        Execute.timeout = 60 s; the kernel is interrupted and grading goes on
  per notebook    NOTEBOOK_BUDGET_S: a student's process may run this long per notebook
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import ASSIGNMENT, ROOT, CourseError

NOTEBOOK_BUDGET_S = int(os.environ.get("NDE_NOTEBOOK_BUDGET_S", 180))


@dataclass
class Outcome:
    student: str
    seconds: float
    problems: list[str] = field(default_factory=list)


def _env() -> dict:
    env = dict(os.environ, NDE_HEADLESS="1", PYTHONWARNINGS="ignore::DeprecationWarning")
    env.setdefault("MPLBACKEND", "agg")
    return env


def nbgrader(args: list[str], course: Path, timeout: float | None = None) -> tuple[int, str]:
    """Run nbgrader in ``course``; return (exit status, log).  A run past ``timeout`` is
    killed with its kernels (it runs in its own process group) and returns status -9."""
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nbgrader", *args], cwd=course, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=_env(), start_new_session=True,
        )
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            status = -9
        log.seek(0)
        return status, log.read()


def prepare_gradebook(course: Path, assignment: str = ASSIGNMENT) -> None:
    """Record the assignment's cells in the gradebook (nbgrader reads them from source/)."""
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        status, log = nbgrader(
            ["generate_assignment", assignment, "--force", f"--CourseDirectory.release_directory={tmp}", "--log-level=WARN"],
            course,
        )
    if status:
        raise CourseError(f"could not record {assignment} in the gradebook:\n{log}")


def students(course: Path, assignment: str = ASSIGNMENT) -> list[str]:
    root = course / "submitted"
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir()) if root.exists() else []


def problems_in(log: str) -> list[str]:
    """The lines of an nbgrader log that tell a student or instructor what went wrong."""
    keep = []
    for line in log.splitlines():
        if "Attribute 'checksum' for cell" in line:
            continue  # normal for test cells whose hidden tests the release leaves out
        if line.startswith(("[AutogradeApp | ERROR]", "[AutogradeApp | WARNING]")) or "Error" in line[:40]:
            text = line.split("]", 1)[-1].strip()
            if text and text not in keep:
                keep.append(text)
    return keep[:8]


def autograde(course: Path, who: list[str] | None = None, assignment: str = ASSIGNMENT) -> list[Outcome]:
    n_notebooks = len(list((course / "source" / assignment).glob("*.ipynb")))
    outcomes = []
    for student in who or students(course, assignment):
        start = time.perf_counter()
        status, log = nbgrader(
            ["autograde", assignment, f"--student={student}", "--force"], course,
            timeout=NOTEBOOK_BUDGET_S * max(n_notebooks, 1),
        )
        outcome = Outcome(student, time.perf_counter() - start, problems_in(log))
        if status == -9:
            outcome.problems.insert(0, f"stopped after {NOTEBOOK_BUDGET_S * n_notebooks} s: the submission ran too long")
        elif status:
            outcome.problems.insert(0, f"nbgrader autograde exited with status {status}")
        outcomes.append(outcome)
    return outcomes


def scores(course: Path, assignment: str = ASSIGNMENT) -> dict[str, dict[str, tuple]]:
    """student -> notebook -> (auto score, auto max, written answers left to grade by hand)."""
    from nbgrader.api import Gradebook, MissingEntry

    table: dict[str, dict[str, tuple]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        names = [nb.name for nb in gb.find_assignment(assignment).notebooks]
        for student in students(course, assignment):
            row = {}
            for name in names:
                try:
                    nb = gb.find_submission_notebook(name, assignment, student)
                except MissingEntry:
                    row[name] = None
                    continue
                auto = [g for g in nb.grades if g.cell.cell_type == "code"]
                manual = [g for g in nb.grades if g.cell.cell_type == "markdown"]
                row[name] = (
                    sum(g.score for g in auto),
                    sum(g.max_score for g in auto),
                    sum(1 for g in manual if g.needs_manual_grade),
                )
            table[student] = row
    return table


def format_table(table: dict[str, dict[str, tuple]]) -> str:
    notebooks = sorted({nb for row in table.values() for nb in row})
    width = max([len("student")] + [len(s) for s in table])
    head = f"{'student':<{width}}  " + "  ".join(f"{nb[:18]:>18}" for nb in notebooks) + "  " + f"{'auto total':>12}"
    lines = [head, "-" * len(head)]
    for student, row in table.items():
        cells, got, out_of = [], 0.0, 0.0
        for nb in notebooks:
            entry = row.get(nb)
            if entry is None:
                cells.append(f"{'not graded':>18}")
                continue
            score, max_score, pending = entry
            got, out_of = got + score, out_of + max_score
            cells.append(f"{f'{score:g}/{max_score:g}' + (f' +{pending}w' if pending else ''):>18}")
        lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {f'{got:g}/{out_of:g}':>12}")
    lines.append("(+Nw: N written answers to grade by hand in formgrader; their points are not in the totals)")
    return "\n".join(lines)


def main(who: list[str] | None = None, course: Path = ROOT) -> int:
    if not students(course):
        raise CourseError(f"nothing to grade: no submitted/<student>/{ASSIGNMENT}/ folders under {course}")
    prepare_gradebook(course)
    outcomes = autograde(course, who)
    for o in outcomes:
        print(f"graded {o.student:<16} in {o.seconds:5.1f} s" + ("" if not o.problems else ":"))
        for p in o.problems:
            print(f"    {p}")
    status, log = nbgrader(["generate_feedback", ASSIGNMENT, "--force", "--log-level=WARN"], course)
    if status:
        print(f"generate_feedback reported a problem:\n{log}")
    status, log = nbgrader(["export", "--to=grades.csv", "--log-level=WARN"], course)
    if status:
        print(f"export reported a problem:\n{log}")
    print()
    print(format_table(scores(course)))
    print(f"\nFeedback: {course / 'feedback'}/<student>/{ASSIGNMENT}/*.html   Export: {course / 'grades.csv'}")
    return 0
