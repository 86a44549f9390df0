"""Autograde a class: every folder under submitted/, one student at a time.

Each student is graded by its own ``nbgrader autograde`` process with time limits, so a
submission that hangs, crashes its kernel or cannot be read costs that student points,
with a reason, and never the grades of the others.  Feedback and the CSV export follow;
the table of scores is printed last.

Before grading, every submitted notebook is checked against the release: a file that is
empty or not a notebook is left out (it stays in submitted/; the notebook scores 0); a
missing or renamed notebook, deleted, edited, copied or reordered cells are reported.
nbgrader itself puts back locked test cells (and deleted ones), so what a student did
to a test never earns points.  When nbgrader cannot finish a notebook (a dead kernel, a
notebook past its time budget, an error of its own), the student's notebooks are graded
one by one; a cell that kills the kernel is replaced by an error (an answer cell) or
left out and scored 0 (a test cell), and the notebook is graded again.  Submissions that
need such changes are graded from a copy; submitted/ is never modified.

Every kernel runs in the grading sandbox (nde_grader/sandbox.py): a scratch folder with
only the student's files, a file system without the course's repository, the gradebook
or other students, a user of its own, no network. The hidden checks run in the grader,
outside the kernel (nde_grader/execute.py). Before grading, a sandboxed process checks
that it can see none of that; where the machine cannot give the sandbox (not Linux, not
root), grading refuses to start unless ``--no-sandbox`` is given.

Timeouts (see also nbgrader_config.py):
  per cell        Execute.timeout = NDE_CELL_TIMEOUT (60 s); the kernel is interrupted,
                  the cell fails, grading goes on
  per notebook    NOTEBOOK_BUDGET_S = NDE_NOTEBOOK_BUDGET_S (300 s): a notebook still
                  running after this is stopped and its tests score 0
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nde_grader.review import suspicious

from . import ASSIGNMENT, ROOT, CourseError, tool_env

NOTEBOOK_BUDGET_S = int(os.environ.get("NDE_NOTEBOOK_BUDGET_S", 300))
CRASH_RETRIES = 4
"""How many cells that kill the kernel are taken out of one notebook before it scores 0."""


@dataclass
class Outcome:
    student: str
    seconds: float
    problems: list[str] = field(default_factory=list)


def _env(extra: dict | None = None) -> dict:
    env = tool_env(NDE_HEADLESS="1", PYTHONWARNINGS="ignore::DeprecationWarning", NDE_TRACE_CELLS="1")
    # figures drawn by a notebook stay in it as images, for the feedback
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env.update(extra or {})
    return env


def _die_with_parent() -> None:
    """In the nbgrader child: be killed when the process that started it dies (a Dask worker
    shut down, a grader stopped with Ctrl-C), instead of grading on for nobody."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass


_STARTED = re.compile(r"\] Sanitizing .*?([^/\\]+)\.ipynb\s*$", re.M)


def nbgrader(args: list[str], course: Path, timeout: float | None = None, budget: float | None = None,
             env: dict | None = None) -> tuple[int, str]:
    """Run nbgrader in ``course``; return (exit status, log).

    A run past ``timeout`` seconds, or that spends more than ``budget`` seconds on one
    notebook, is killed with its kernels (it runs in its own process group) and returns
    status -9."""
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nbgrader", *args], cwd=course, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=_env(env), start_new_session=True, preexec_fn=_die_with_parent,
        )
        start = notebook_start = time.monotonic()
        seen, read_to = 0, 0
        while True:
            try:
                status = proc.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if budget is not None:
                log.seek(read_to)
                chunk = log.read()
                chunk = chunk[: chunk.rfind("\n") + 1]  # whole lines only
                read_to += len(chunk.encode())
                started = len(_STARTED.findall(chunk))
                if started:
                    seen, notebook_start = seen + started, now
            if (timeout is not None and now - start > timeout) or (budget is not None and now - notebook_start > budget):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                status = -9
                break
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


# --- before grading: what the student did to the files --------------------------------------


def _ids(nb) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") and (
                c.metadata["nbgrader"].get("grade") or c.metadata["nbgrader"].get("solution")
                or c.metadata["nbgrader"].get("locked"))]


def _read(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook at ``path``, or None and why it cannot be graded."""
    text = path.read_bytes()
    if not text.strip():
        return None, f"{path.name} is an empty file: not graded, 0 points"
    try:
        json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"{path.name} is not valid JSON ({exc}): not graded, 0 points"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # repeated cell ids: repaired and reported below
            nb = nbformat.reads(text.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 (any reason a notebook cannot be read is the student's)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"{path.name} is not a Jupyter notebook ({first[:120]}): not graded, 0 points"
    return nb, ""


def _sanitize(nb, release, name: str, problems: list[str]) -> bool:
    """Report what a student changed in the cells nbgrader relies on; repair what would
    make nbgrader give up on the notebook (repeated grade ids or cell ids).  True if ``nb``
    was changed and must be graded from a copy."""
    changed = False
    ids = _ids(nb)
    for gid in sorted({g for g in ids if ids.count(g) > 1}):
        problems.append(f"{name}: cell '{gid}' appears {ids.count(gid)} times (copied?): only the last copy is graded")
        copies = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid]
        for cell in copies[:-1]:
            del cell.metadata["nbgrader"]  # a plain cell now; nbgrader's own repair would abort the student
            cell.metadata.pop("deletable", None), cell.metadata.pop("editable", None)
        changed = True
    seen = set()
    for i, cell in enumerate(nb.cells):
        if cell.get("id") in seen:
            cell.id = f"{cell.id}-copy{i}"
            changed = True
        seen.add(cell.get("id"))
    expected = _ids(release)
    got = [g for g in dict.fromkeys(reversed(_ids(nb)))][::-1]
    missing = [g for g in expected if g not in got]
    if missing:
        problems.append(f"{name}: cells {', '.join(repr(g) for g in missing)} were deleted: test cells are put back and graded")
    order = [g for g in got if g in expected]
    want = [g for g in expected if g in order]
    if order != want:
        bad = next(i for i, (a, b) in enumerate(zip(order, want)) if a != b)
        problems.append(f"{name}: cells out of order: '{order[bad]}' comes before '{want[bad]}'; graded as submitted")
    locked = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release.cells if c.metadata.get("nbgrader", {}).get("locked")}
    edited = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade_id") in locked
              and c.source.strip() != locked[c.metadata["nbgrader"]["grade_id"]].strip()]
    if edited:
        problems.append(f"{name}: locked cells {', '.join(repr(g) for g in edited)} were edited: graded with the originals")
    return changed


def _check(course: Path, student: str, assignment: str, names: list[str], problems: list[str]) -> dict:
    """name -> notebook to grade from a copy (None: leave it out); names graded as submitted are absent."""
    folder = course / "submitted" / student / assignment
    staged: dict[str, nbformat.NotebookNode | None] = {}
    unknown = [p for p in sorted(folder.glob("*.ipynb")) if p.stem not in names]
    for name in names:
        path = folder / f"{name}.ipynb"
        if not path.exists():
            hint = f" (found {', '.join(p.name for p in unknown)}: renamed? give it its name back to grade it)" if unknown else ""
            problems.append(f"{name}.ipynb is missing: 0 points{hint}")
            continue
        nb, why = _read(path)
        if nb is None:
            problems.append(why)
            staged[name] = None
            continue
        release_path = course / "release" / assignment / path.name
        if release_path.exists() and _sanitize(nb, nbformat.read(release_path, as_version=4), path.name, problems):
            staged[name] = nb
    if unknown and all(f"{n}.ipynb" in {p.name for p in folder.glob('*.ipynb')} for n in names):
        problems.append(f"not graded (not part of {assignment}): {', '.join(p.name for p in unknown)}")
    return staged


def _stage(course: Path, student: str, assignment: str, staged: dict, where: Path) -> None:
    """Copy the student's folder to ``where``/<student>/<assignment>, with ``staged`` notebooks."""
    dest = where / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(course / "submitted" / student / assignment, dest)
    for name, nb in staged.items():
        if nb is None:
            (dest / f"{name}.ipynb").unlink()
        else:
            nbformat.write(nb, dest / f"{name}.ipynb")


# --- after grading: why cells lost their points -----------------------------------------------


_HINTS = {
    "CellTimeoutError": "ran past the per-cell time limit (an infinite loop?)",
    "KeyboardInterrupt": "stopped at the per-cell time limit (an infinite loop?)",
    "StdinNotImplementedError": "asks for input(), which nobody can answer while grading",
    "MemoryError": "asked for more memory than there is",
}


def _cell_errors(path: Path) -> list[str]:
    """Why the answer and test cells of an autograded notebook failed, one line per reason."""
    if not path.exists():
        return []
    nb = nbformat.read(path, as_version=4)
    reasons: dict[str, list[str]] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type != "code" or not gid:
            continue
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                value = re.sub(r"\x1b\[[0-9;]*m", "", str(o.get("evalue", ""))).strip().splitlines()
                value = value[0][:120] if value else ""
                hint = _HINTS.get(o.ename) or ("ran out of memory" if "allocate" in value and "memory" in value else "")
                reasons.setdefault(f"{o.ename}{': ' + value if value else ''}{' -- ' + hint if hint else ''}", []).append(gid)
                break
            if o.output_type == "stream" and o.name == "stderr" and meta.get("grade"):
                first = o.text.strip().splitlines()[0][:120] if o.text.strip() else ""
                reasons.setdefault(f"wrote to stderr, not a warning (0 points; check by hand): {first}", []).append(gid)
                break
    return [f"{path.stem}: {', '.join(gids)}: {why}" for why, gids in reasons.items()]


def _review(path: Path) -> list[str]:
    """Answer cells that reach for the course's answers (imports of the instructor's
    packages, files, loaded modules, the kernel's history or hooks): named for a person."""
    if not path.exists():
        return []
    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            found = suspicious(cell.source)
            if found:
                out.append(f"{path.stem}: review {meta.get('grade_id')}: the answer {'; '.join(found)}")
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


_TRACE = re.compile(r"^\[nde-cell\] (\d+) (\S*)", re.M)


def _culprit(log: str) -> str | None:
    """The id of the cell that was running when the kernel died."""
    tail = log[log.rfind("] Autograding "):] if "] Autograding " in log else log
    found = _TRACE.findall(tail)
    return found[-1][1] if found else None


def _take_out(nb, cell_id: str) -> str | None:
    """Make the cell ``cell_id`` harmless; return its grade id (or a description)."""
    for i, cell in enumerate(nb.cells):
        if cell.get("id") != cell_id:
            continue
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id") or f"cell {i + 1}"
        if meta.get("locked") or meta.get("grade"):
            del nb.cells[i]  # nbgrader would restore a locked cell's source; it scores 0 instead
        else:
            cell.source = 'raise RuntimeError("this cell stopped the Python kernel while grading, so it was not run")\n'
        return gid
    return None


def _grade_student(course: Path, student: str, assignment: str, names: list[str], env: dict | None,
                   sandbox: bool = True) -> Outcome:
    start = time.perf_counter()
    problems: list[str] = []
    staged = _check(course, student, assignment, names, problems)
    base = ["autograde", assignment, f"--student={student}", "--force"]
    if not sandbox:
        base.append("--GradingExecute.sandbox=False")
    with tempfile.TemporaryDirectory(prefix="grading-") as tmp:
        where = Path(tmp)

        def run(notebook: str | None, extra: list[str] = ()) -> tuple[int, str]:
            args = base + ([f"--notebook={notebook}"] if notebook else []) + list(extra)
            if staged:
                _stage(course, student, assignment, staged, where)
                args.append(f"--CourseDirectory.submitted_directory={where}")
            n = 1 if notebook else max(len(names), 1)
            return nbgrader(args, course, timeout=NOTEBOOK_BUDGET_S * n + 60, budget=NOTEBOOK_BUDGET_S, env=env)

        gradable = [n for n in names if staged.get(n, 0) is not None
                    and (course / "submitted" / student / assignment / f"{n}.ipynb").exists()]
        if not gradable:  # nbgrader refuses a student without a notebook: record the zeros here
            _record_zeros(course, student, assignment)
            return Outcome(student, time.perf_counter() - start, problems)
        status, log = run(None)
        problems.extend(p for p in problems_in(log) if p not in problems)
        if status:
            done = set()
            started = _STARTED.findall(log)
            if status == -9 and started:  # stopped past a notebook's budget: the ones before it are graded
                done = {n for n in started[:-1] if (course / "autograded" / student / assignment / f"{n}.ipynb").exists()}
                done.add(started[-1])
                _zero(course, student, assignment, started[-1])
                problems.append(f"{started[-1]}: stopped after {NOTEBOOK_BUDGET_S} s (the time budget of a notebook): "
                                "its tests score 0")
            crashed = started[-1] if started and ("Kernel died" in log or "DeadKernelError" in log) else None
            for name in names:
                if name in done or staged.get(name, 0) is None or not (course / "submitted" / student / assignment / f"{name}.ipynb").exists():
                    continue
                _grade_alone(run, course, student, assignment, name, staged, problems,
                             culprit=_culprit(log) if name == crashed else None)
    for name in names:
        graded = course / "autograded" / student / assignment / f"{name}.ipynb"
        for p in _cell_errors(graded) + _review(graded):
            if p not in problems:
                problems.append(p)
    return Outcome(student, time.perf_counter() - start, problems)


def _grade_alone(run, course: Path, student: str, assignment: str, name: str, staged: dict, problems: list[str],
                 culprit: str | None = None) -> None:
    """Grade one notebook by itself; take out cells that kill the kernel (``culprit``: one known already)."""
    taken: list[str] = []
    if culprit:
        if name not in staged or staged[name] is None:
            staged[name] = nbformat.read(course / "submitted" / student / assignment / f"{name}.ipynb", as_version=4)
        gid = _take_out(staged[name], culprit)
        if gid:
            taken.append(gid)
    for _ in range(CRASH_RETRIES + 1):
        status, log = run(name, ["--OverwriteCells.add_missing_cells=False"] if taken else [])
        if not status:
            zeroed = _zero_unscored(course, student, assignment, name)
            if taken:
                problems.append(f"{name}: the kernel died in {', '.join(taken)}: taken out and graded again"
                                + (f" ({', '.join(zeroed)} scored 0)" if zeroed else ""))
            return
        if status == -9:
            _zero(course, student, assignment, name)
            problems.append(f"{name}: stopped after {NOTEBOOK_BUDGET_S} s (the time budget of a notebook): its tests score 0")
            return
        cell_id = _culprit(log) if "Kernel died" in log or "DeadKernelError" in log else None
        if cell_id is None:
            _zero(course, student, assignment, name)
            last = [l for l in log.splitlines() if re.match(r"\s*\w+(\.\w+)*(Error|Exception)\b", l)]
            why = last[-1].strip()[:160] if last else f"nbgrader exited with status {status}"
            problems.append(f"{name}: nbgrader could not grade it ({why}): its tests score 0")
            return
        if name not in staged or staged[name] is None:
            staged[name] = nbformat.read(course / "submitted" / student / assignment / f"{name}.ipynb", as_version=4)
        gid = _take_out(staged[name], cell_id)
        if gid is None:
            break
        taken.append(gid)
    _zero(course, student, assignment, name)
    problems.append(f"{name}: the kernel kept dying ({', '.join(taken) or 'cell unknown'}): its tests score 0")


def autograde(course: Path, who: list[str] | None = None, assignment: str = ASSIGNMENT,
              env: dict | None = None, sandbox: bool = True, zygote: bool = True) -> list[Outcome]:
    """Grade each student of ``who`` (default: all) by itself; ``env``: extra environment
    variables for the grader (scripts/flake_check.py sets the grading seed); ``zygote``
    false starts every kernel from scratch instead of forking it from this process's
    zygote (nde_grader/zygote.py)."""
    from nde_grader.sandbox import Zygote

    names = sorted(p.stem for p in (course / "source" / assignment).glob("*.ipynb"))
    env = dict(env or {})
    socket = Zygote.socket() if zygote else None  # one for this process (a Dask worker, a trial)
    if socket:
        env.setdefault("NDE_ZYGOTE_SOCKET", socket)
    else:
        env["NDE_ZYGOTE"] = "0"
    return [_grade_student(course, student, assignment, names, env, sandbox)
            for student in who or students(course, assignment)]


def copy_mathjax(feedback: Path) -> None:
    """Put the MathJax of the course's environment (jupyter-server-mathjax) beside the
    feedback, where its pages look for it first: formulas typeset without the internet."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        print("no jupyter-server-mathjax here: feedback pages typeset formulas only where a Jupyter server serves MathJax")
        return
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = feedback / "mathjax"
    if feedback.is_dir() and not (target / "MathJax.js").exists():
        shutil.copytree(source, target, dirs_exist_ok=True)


def check_sandbox(course: Path) -> None:
    """Refuse to grade when a sandboxed kernel could reach the answers, or cannot start."""
    from nde_grader.sandbox import self_test

    hidden = [course / "source", course / "gradebook.db", course / "submitted", course / "nbgrader_config.py",
              ROOT / "nde_grader", ROOT / "notebooks", ROOT / ".git"]
    problem = self_test([p for p in hidden if p.exists()])
    if problem:
        raise CourseError(
            f"grading kernels cannot be isolated here: {problem}. Run as root on Linux, or pass --no-sandbox "
            "to grade anyway, knowing that every kernel can then read what this user can: the course's answers, "
            "hidden checks, gradebook and other students' files (README, 'What the grader guarantees')"
        )


def scores(course: Path, assignment: str = ASSIGNMENT, db_url: str | None = None) -> dict[str, dict[str, tuple]]:
    """student -> notebook -> (score, max score of the cells graded so far, written answers left
    to grade by hand); the score counts a score set by hand where there is one (``grades()``
    tells which)."""
    return {student: {nb: None if g is None else (g.graded_score, g.graded_max, g.to_grade) for nb, g in row.items()}
            for student, row in grades(course, assignment, db_url).items()}


def grades(course: Path, assignment: str = ASSIGNMENT, db_url: str | None = None) -> dict:
    """student -> notebook -> nde_grader.export.NotebookGrade (None: not submitted), for the
    students with a folder under submitted/."""
    from nbgrader.api import Gradebook

    from nde_grader.export import class_grades

    with Gradebook(db_url or f"sqlite:///{course / 'gradebook.db'}") as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings
        everyone = class_grades(gb, assignment)
    return {student: everyone.get(student, {}) for student in students(course, assignment)}


def format_table(table: dict, review: set[str] = frozenset()) -> str:
    """The score table; ``table`` as ``grades()`` returns it."""
    notebooks = sorted({nb for row in table.values() for nb in row})
    width = max([len("student")] + [len(s) for s in table])
    head = f"{'student':<{width}}  " + "  ".join(f"{nb[:18]:>18}" for nb in notebooks) + "  " + f"{'total':>12}"
    lines = [head, "-" * len(head)]
    overrides = []
    for student, row in table.items():
        cells, got, out_of = [], 0.0, 0.0
        for nb in notebooks:
            g = row.get(nb)
            if g is None:
                cells.append(f"{'not graded':>18}")
                continue
            got, out_of = got + g.graded_score, out_of + g.graded_max
            mark = (" h" if g.overrides else "") + (f" +{g.to_grade}w" if g.to_grade else "")
            cells.append(f"{f'{g.graded_score:g}/{g.graded_max:g}' + mark:>18}")
            overrides += [f"  {student}: {o}" for o in g.overrides]
        lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {f'{got:g}/{out_of:g}':>12}"
                     + ("  NEEDS REVIEW" if student in review else ""))
    lines.append("(+Nw: N written answers to grade by hand in formgrader, not counted until graded; "
                 "h: a score set by hand counts instead of the autograder's, listed below)")
    if overrides:
        lines.append("scores set by hand:")
        lines += overrides
    return "\n".join(lines)


def main(who: list[str] | None = None, course: Path = ROOT, sandbox: bool = True, db: str | None = None,
         scheduler: str | None = None, workers: int | None = None, resume: bool = False) -> int:
    """Grade the class on Dask (a local cluster unless ``scheduler``), write feedback and the
    export, print the table. Exit status: 0, or 1 when a student could not be graded or
    recorded, 130 when interrupted."""
    from .engine import default_db, grade_class

    everyone = students(course)
    if not everyone:
        raise CourseError(f"nothing to grade: no submitted/<student>/{ASSIGNMENT}/ folders under {course}")
    unknown = sorted(set(who or []) - set(everyone))
    if unknown:
        raise CourseError(f"no submitted/<student>/{ASSIGNMENT}/ folder for {', '.join(unknown)}")
    if sandbox:
        check_sandbox(course)
    else:
        print("warning: grading without the sandbox: every kernel can read the course's answers and the gradebook")
    url = db or default_db(course)
    report = grade_class(course, who or everyone, db_url=url, scheduler=scheduler, workers=workers, sandbox=sandbox,
                         resume=resume, progress=sys.stderr.isatty())
    hand = grades(course, db_url=url) if report.results else {}
    for r in sorted(report.results, key=lambda r: r.student):
        overrides = [o for g in hand.get(r.student, {}).values() if g is not None for o in g.overrides]
        print(f"graded {r.student:<16} in {r.seconds:5.1f} s" + (":" if r.problems or r.needs_review or overrides else ""))
        if r.needs_review:
            print(f"    NEEDS REVIEW: {r.needs_review}")
        for p in r.problems:
            print(f"    {p}")
        for o in overrides:
            print(f"    kept, set by hand: {o}")
    if report.skipped:
        print(f"already graded, files unchanged (--resume): {', '.join(report.skipped)}")
    db_args = [f"--CourseDirectory.db_url={url}"]
    status, log = nbgrader(["generate_feedback", ASSIGNMENT, "--force", "--log-level=WARN", *db_args], course)
    if status:
        print(f"generate_feedback reported a problem:\n{log}")
    copy_mathjax(course / "feedback")
    for exporter, to in (("CourseGrades", "grades.csv"), ("CanvasGrades", "canvas.csv")):
        status, log = nbgrader(["export", f"--exporter=nde_grader.export.{exporter}", f"--to={to}",
                                "--log-level=WARN", *db_args], course)
        if status:
            print(f"export to {to} reported a problem:\n{log}")
    table = grades(course, db_url=url)
    print()
    print(format_table(table, review={r.student for r in report.results if r.needs_review}))
    print(f"\nFeedback: {course / 'feedback'}/<student>/{ASSIGNMENT}/*.html   "
          f"Export: {course / 'grades.csv'}, {course / 'canvas.csv'} (Canvas: Grades > Import)")
    print(f"{len(report.results)} graded in {report.seconds:.0f} s")
    if report.interrupted:
        print(f"interrupted: every grade made so far is kept; not graded yet: {', '.join(report.not_graded)}. "
              "Run `python -m course grade --resume` to grade the rest.")
        return 130
    if report.unrecorded:
        print(f"the gradebook could not be reached: the grades of {', '.join(report.unrecorded)} are kept in "
              "autograded/<student>/ and are written by `python -m course grade --resume` once it answers")
        return 1
    return 1 if any(r.needs_review for r in report.results) else 0
