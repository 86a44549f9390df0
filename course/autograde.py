"""Grade one student at a time: the per-student work of ``python -m course grade``.

Each student is graded by its own ``nbgrader autograde`` process with time limits, so a
submission that hangs, crashes its kernel or cannot be read costs that student points,
with a reason, and never the grades of the others. What is graded is the vetted copy of
course/submission.py. When nbgrader cannot finish a notebook (a dead kernel, a notebook
past its time budget, an error of its own), the student's notebooks are graded one by
one; a cell that kills the kernel is replaced by an error (an answer cell) or left out
and scored 0 (a test cell), and the notebook is graded again.

Every kernel runs in the grading sandbox (nde_grader/kernel/sandbox.py, on bubblewrap): a
scratch folder with only the student's notebooks, a file system without the course's
repository, the gradebook or other students, namespaces of its own, no network. The grader decides each test
cell itself and runs the hidden checks outside the kernel (nde_grader/execute.py); what
happened to each notebook comes back in its journal (nde_grader/journal.py), never from
nbgrader's log.

Timeouts (see also nbgrader_config.py):
  per cell        Execute.timeout = NDE_CELL_TIMEOUT (60 s); the kernel is interrupted,
                  the cell fails, grading goes on
  per notebook    NOTEBOOK_BUDGET_S = NDE_NOTEBOOK_BUDGET_S (300 s), kept by the
                  executor: past it the notebook stops and the tests not run score 0
  per nbgrader    a run longer than its notebooks' budgets and a minute is killed (a
                  fault of nbgrader or of the grader itself); its notebook scores 0

A Dask worker calls ``autograde`` for one student in a scratch course (course/worker.py),
sent by the course's engine (course/engine.py); ``course grade`` (course/grade.py) is the
command around them.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nde_grader.cells import grade_id
from nde_grader.journal import DONE, KERNEL_DIED, NOTEBOOK_BUDGET_S, RUNNING, STOPPED, Journal
from nde_grader.review import suspicious

from . import ASSIGNMENT
from .nbgrader_cli import nbgrader, students
from .submission import Files, check_submission, stage
from .text import printable

CRASH_RETRIES = 4
"""How many cells that kill the kernel are taken out of one notebook before it scores 0."""


@dataclass
class Outcome:
    student: str
    seconds: float
    problems: list[str] = field(default_factory=list)
    notebook_seconds: dict[str, float] = field(default_factory=dict)
    """notebook -> seconds its last grading took in the executor (from its journal)."""


_NOISE = (
    "Attribute 'checksum' for cell",  # normal for test cells whose hidden tests the release leaves out
    "Missing grade cell", "exists multiple times", "No submitted file", "Skipping unknown notebook",  # checked before
    "Removing failed", "Removing existing", "There was an error processing", "Please see the", "Traceback",
    "Timeout waiting for execute reply", "Interrupting kernel", "Kernel died",  # named per cell after grading
    "does not exist in the database",
)


def problems_in(log: str) -> list[str]:
    """The lines of an nbgrader log that tell a student or instructor what went wrong."""
    keep = []
    for line in log.splitlines():
        if not line.startswith(("[AutogradeApp | ERROR]", "[AutogradeApp | WARNING]")) or any(n in line for n in _NOISE):
            continue
        text = line.split("]", 1)[-1].strip()
        if text and text not in keep:
            keep.append(text)
    return keep[:8]


# --- after grading: why cells lost their points -----------------------------------------------


_HINTS = {
    "CellTimeoutError": "ran past the per-cell time limit (an infinite loop?)",
    "KeyboardInterrupt": "stopped at the per-cell time limit (an infinite loop?)",
    "StdinNotImplementedError": "asks for input(), which nobody can answer while grading",
    "MemoryError": "asked for more memory than there is",
}


def _reason(ename: str, value: str) -> str:
    value = printable(value.strip().splitlines()[0] if value.strip() else "", 2000)  # whole: its advice comes last
    hint = _HINTS.get(ename) or ("ran out of memory" if "allocate" in value and "memory" in value else "")
    return f"{ename}{': ' + value if value else ''}{' -- ' + hint if hint else ''}"


def _cell_errors(path: Path, journal: Journal | None) -> list[str]:
    """Why the answer and test cells of an autograded notebook failed, one line per reason:
    a test cell's from the grader's verdict (the journal), an answer cell's from its error;
    and the graded cells that wrote to stderr (which costs nothing), for a person to look at."""
    from nbgrader.utils import is_grade, is_solution

    if not path.exists():
        return []
    nb = nbformat.read(path, as_version=4)
    verdicts = journal.verdicts if journal else {}
    reasons: dict[str, list[str]] = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.cell_type != "code" or not gid:
            continue
        if is_grade(cell) and not is_solution(cell):
            verdict = verdicts.get(gid)
            if verdict is None or not verdict.passed:
                ename, _, value = (verdict.why if verdict else "NoVerdict: the grader did not decide it").partition(": ")
                reasons.setdefault(_reason(ename, value), []).append(gid)
        else:
            error = next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)
            if error is not None:
                reasons.setdefault(_reason(str(error.get("ename", "Error")), str(error.get("evalue", ""))), []).append(gid)
        stderr = "".join(o.text for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stderr")
        if stderr.strip() and is_grade(cell):
            first = printable(stderr.strip().splitlines()[0], 120)
            reasons.setdefault(f"wrote to stderr, not a warning (no points lost; shown in the feedback): {first}",
                               []).append(gid)
    return [f"{path.stem}: {', '.join(gids)}: {why}" for why, gids in reasons.items()]


def _review(path: Path) -> list[str]:
    """Answer cells that reach for the course's answers (imports of the instructor's
    packages, files, loaded modules, the kernel's history or hooks): named for a person."""
    from nbgrader.utils import is_solution

    if not path.exists():
        return []
    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code" and is_solution(cell):
            found = suspicious(cell.source)
            if found:
                out.append(f"{path.stem}: review {grade_id(cell)}: the answer {'; '.join(found)}")
    return out


def _zero(course: Path, student: str, assignment: str, name: str) -> None:
    """Score 0 a notebook that could not be graded (scores already given by hand stay)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            nb = gb.find_submission_notebook(name, assignment, student)
        except MissingEntry:
            return
        for g in nb.grades:  # as nbgrader does for a missing notebook; hand scores (manual_score) stay
            g.auto_score, g.needs_manual_grade = 0, False
        gb.db.commit()
    stale = course / "autograded" / student / assignment / f"{name}.ipynb"
    if stale.exists():
        stale.unlink()


def _record_zeros(course: Path, student: str, assignment: str) -> None:
    """A submission with nothing to grade: every automatic grade 0, hand grades kept."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        names = [nb.notebook.name for nb in submission.notebooks]
    for name in names:
        _zero(course, student, assignment, name)


def _zero_unscored(course: Path, student: str, assignment: str, name: str) -> list[str]:
    """Score 0 the test cells of a notebook that did not run (taken out after a crash)."""
    from nbgrader.api import Gradebook, MissingEntry

    zeroed = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            nb = gb.find_submission_notebook(name, assignment, student)
        except MissingEntry:
            return zeroed
        for g in nb.grades:
            if g.cell.cell_type == "code" and g.auto_score is None and g.manual_score is None:
                g.auto_score, g.needs_manual_grade = 0, False
                zeroed.append(g.name)
        gb.db.commit()
    return zeroed


def _take_out(nb, cell_id: str) -> str | None:
    """Make the cell ``cell_id`` harmless; return its grade id (or a description)."""
    from nbgrader.utils import is_grade, is_locked

    for i, cell in enumerate(nb.cells):
        if cell.get("id") != cell_id:
            continue
        gid = grade_id(cell) or f"cell {i + 1}"
        if is_locked(cell) or is_grade(cell):
            del nb.cells[i]  # nbgrader would restore a locked cell's source; it scores 0 instead
        else:
            cell.source = 'raise RuntimeError("this cell stopped the Python kernel while grading, so it was not run")\n'
        return gid
    return None


def _grade_student(course: Path, student: str, assignment: str, names: list[str], env: dict | None,
                   sandbox: bool = True, given: Files | None = None) -> Outcome:
    start = time.perf_counter()
    problems: list[str] = []
    staged, files = check_submission(course, student, assignment, names, problems, given)
    base = ["autograde", assignment, f"--student={student}", "--force",
            f"--GradingExecute.notebook_budget={NOTEBOOK_BUDGET_S}"]
    if not sandbox:
        base.append("--GradingExecute.sandbox=False")
    journals: dict[str, Journal] = {}
    with tempfile.TemporaryDirectory(prefix="grading-") as tmp:
        where, journal_dir = Path(tmp) / "submitted", Path(tmp) / "journal"

        def run(notebook: str | None, extra: list[str] = ()) -> tuple[int, dict[str, Journal], str]:
            """Grade the staged copy (one notebook, or all): nbgrader's status, the journals of
            the notebooks it ran, its log."""
            shutil.rmtree(journal_dir, ignore_errors=True)
            journal_dir.mkdir()
            stage(course, student, assignment, staged, files, where)
            args = base + ([f"--notebook={notebook}"] if notebook else []) + list(extra)
            args += [f"--CourseDirectory.submitted_directory={where}", f"--GradingExecute.journal_dir={journal_dir}"]
            n = 1 if notebook else max(len(names), 1)
            status, log = nbgrader(args, course, timeout=NOTEBOOK_BUDGET_S * n + 60, env=env)
            problems.extend(p for p in problems_in(log) if p not in problems)
            ran = {name: j for name in names if (j := Journal.read(journal_dir, name)) is not None}
            journals.update(ran)
            return status, ran, log

        gradable = [n for n in names if staged.get(n) is not None]
        if not gradable:  # nbgrader refuses a student without a notebook: record the zeros here
            _record_zeros(course, student, assignment)
            return Outcome(student, time.perf_counter() - start, problems)
        status, ran, _ = run(None)
        if status:  # nbgrader could not finish (a dead kernel, a hang): the notebooks one by one
            for name in gradable:
                journal = ran.get(name)
                if status == -9 and journal is not None and journal.state in (DONE, STOPPED) and \
                        (course / "autograded" / student / assignment / f"{name}.ipynb").exists():
                    continue  # graded before nbgrader was stopped
                culprit = journal.cell if journal is not None and journal.state == KERNEL_DIED else None
                _grade_alone(run, course, student, assignment, name, staged, problems, culprit=culprit)
    for name in names:
        journal = journals.get(name)
        if journal is not None and journal.state == STOPPED:
            when = f"after {NOTEBOOK_BUDGET_S} s" if "time budget" in journal.why else f"after {journal.seconds:.0f} s"
            problems.append(f"{name}: stopped {when} ({journal.why}): the tests not run by then score 0")
        graded = course / "autograded" / student / assignment / f"{name}.ipynb"
        for p in _cell_errors(graded, journal) + _review(graded):
            if p not in problems:
                problems.append(p)
    return Outcome(student, time.perf_counter() - start, [printable(p, 4000) for p in problems],
                   {name: j.seconds for name, j in journals.items()})


def _grade_alone(run, course: Path, student: str, assignment: str, name: str, staged: dict, problems: list[str],
                 culprit: str | None = None) -> None:
    """Grade one notebook by itself; take out cells that kill the kernel (``culprit``: one known already)."""
    taken: list[str] = []
    if culprit:
        gid = _take_out(staged[name], culprit)
        if gid:
            taken.append(gid)
    for _ in range(CRASH_RETRIES + 1):
        status, ran, log = run(name, ["--OverwriteCells.add_missing_cells=False"] if taken else [])
        journal = ran.get(name)
        if not status:
            zeroed = _zero_unscored(course, student, assignment, name)
            if taken:
                problems.append(f"{name}: the kernel died in {', '.join(taken)}: taken out and graded again"
                                + (f" ({', '.join(zeroed)} scored 0)" if zeroed else ""))
            return
        if journal is None or journal.state in (RUNNING, DONE, STOPPED):
            _zero(course, student, assignment, name)
            last = [line for line in log.splitlines() if re.match(r"\s*\w+(\.\w+)*(Error|Exception)\b", line)]
            why = (f"it did not finish within {NOTEBOOK_BUDGET_S + 60} s" if status == -9
                   else last[-1].strip()[:160] if last else f"nbgrader exited with status {status}")
            problems.append(f"{name}: nbgrader could not grade it ({why}): its tests score 0")
            return
        gid = _take_out(staged[name], journal.cell) if journal.cell else None
        if gid is None:
            break
        taken.append(gid)
    _zero(course, student, assignment, name)
    problems.append(f"{name}: the kernel kept dying ({', '.join(taken) or 'cell unknown'}): its tests score 0")


def autograde(course: Path, who: list[str] | None = None, assignment: str = ASSIGNMENT,
              env: dict | None = None, sandbox: bool = True, zygote: bool = True,
              given: dict[str, Files] | None = None) -> list[Outcome]:
    """Grade each student of ``who`` (default: all) by itself; ``env``: extra environment
    variables for the grader (scripts/flake_check.py sets the grading seed); ``zygote``
    false starts every kernel from scratch instead of forking it from this process's
    zygote (nde_grader/kernel/zygote.py); ``given``: student -> what was left out of their folder
    before it was copied here."""
    from nde_grader.kernel.warm import Zygote

    names = sorted(p.stem for p in (course / "source" / assignment).glob("*.ipynb"))
    env = dict(env or {})
    socket = Zygote.socket(sandboxed=sandbox) if zygote else None  # one for this thread (a Dask worker's, a trial's)
    if socket:
        env.setdefault("NDE_ZYGOTE_SOCKET", socket)
    else:
        env["NDE_ZYGOTE"] = "0"
    return [_grade_student(course, student, assignment, names, env, sandbox, (given or {}).get(student))
            for student in who or students(course, assignment)]
