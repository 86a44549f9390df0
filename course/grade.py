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

nbgrader reads only a vetted copy of each submission: the assignment's notebooks (at
most MAX_NOTEBOOK_BYTES each), the files of nbgrader's exchange and images for the
feedback (limited in size); every other file is left out and named in the report, and a grading kernel sees
the student's notebooks only (nde_grader/execute.py).

Every kernel runs in the grading sandbox (nde_grader/sandbox.py, on bubblewrap): a
scratch folder with only the student's notebooks, a file system without the course's
repository, the gradebook or other students, namespaces of its own, no network. The grader decides each test
cell itself and runs the hidden checks outside the kernel (nde_grader/execute.py); what
happened to each notebook comes back in its journal (nde_grader/journal.py), never from
nbgrader's log. Before grading, a sandboxed process checks that it can see none of the
instructor's files; where the machine cannot give the sandbox (not Linux, no bubblewrap,
no user namespaces), grading refuses to start, saying why, unless ``--no-sandbox`` is given.

Timeouts (see also nbgrader_config.py):
  per cell        Execute.timeout = NDE_CELL_TIMEOUT (60 s); the kernel is interrupted,
                  the cell fails, grading goes on
  per notebook    NOTEBOOK_BUDGET_S = NDE_NOTEBOOK_BUDGET_S (300 s), kept by the
                  executor: past it the notebook stops and the tests not run score 0
  per nbgrader    a run longer than its notebooks' budgets and a minute is killed (a
                  fault of nbgrader or of the grader itself); its notebook scores 0
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nde_grader.journal import DONE, KERNEL_DIED, NOTEBOOK_BUDGET_S, RUNNING, STOPPED, Journal
from nde_grader.review import suspicious
from nde_grader.sandbox import MAX_NOTEBOOK_BYTES
from nde_student.cells import strip_colours

from . import ASSIGNMENT, ROOT, CourseError, tool_env

MAX_IMAGE_BYTES = 5 * 2**20
"""The largest image of a submission kept for the feedback (a written answer's sketch)."""
MAX_KEPT_BYTES = 50 * 2**20
"""All the images of a submission kept for the feedback, together."""
MAX_ENTRIES = 2000
"""Files and folders of a submission looked at; beyond, the rest is left out unread."""
IMAGES = (".png", ".jpg", ".jpeg", ".gif", ".svg")
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")
"""What nbgrader's ``submit`` puts beside the notebooks: the time (late penalties) and the
secret that ``release_feedback`` files the student's feedback under."""
CRASH_RETRIES = 4
"""How many cells that kill the kernel are taken out of one notebook before it scores 0."""


@dataclass
class Outcome:
    student: str
    seconds: float
    problems: list[str] = field(default_factory=list)
    notebook_seconds: dict[str, float] = field(default_factory=dict)
    """notebook -> seconds its last grading took in the executor (from its journal)."""


def _env(extra: dict | None = None) -> dict:
    env = tool_env(NDE_HEADLESS="1", PYTHONWARNINGS="ignore::DeprecationWarning")
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


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, limit: int = 300) -> str:
    """One line of ``text`` safe to print in the instructor's terminal and report: control
    characters (escape sequences, carriage returns) shown escaped, at most ``limit`` characters,
    cut after a word where one ends in the last quarter (a limit meant to be rarely reached)."""
    text = strip_colours(str(text)).replace("\n", " ")
    text = _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return (text[:cut] if cut >= limit * 3 // 4 else text[: limit - 1]) + "…"


def report_line(text: str, indent: int = 4) -> str:
    """A line of the report as the terminal shows it: wrapped between words to the terminal's
    width (100 columns in a file), its continuation lines indented further."""
    width = max(shutil.get_terminal_size((100, 24)).columns, 60)
    return textwrap.fill(text, width, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2),
                         break_long_words=False, break_on_hyphens=False)


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
    from nbgrader.utils import is_grade, is_locked, is_solution  # importing nbgrader takes seconds: only when needed

    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") and (is_grade(c) or is_solution(c) or is_locked(c))]


def _read(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook at ``path`` (at most MAX_NOTEBOOK_BYTES), or None and why it cannot be graded."""
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


@dataclass
class Files:
    """What of a student's folder the grader takes (paths relative to it) and what it leaves out."""

    notebooks: list[str] = field(default_factory=list)
    """The .ipynb files at the top of the folder (the assignment's, and any renamed copy)."""
    kept: list[str] = field(default_factory=list)
    """nbgrader's EXCHANGE_FILES and images, for the late penalty and the feedback."""
    left_out: list[str] = field(default_factory=list)
    """Why each other thing was left out, one phrase each."""
    too_large: dict[str, int] = field(default_factory=dict)
    """Notebooks over MAX_NOTEBOOK_BYTES (never read) -> their size."""

    def report(self) -> list[str]:
        """The problem line naming what was left out ([] when nothing was)."""
        if not self.left_out:
            return []
        shown = ", ".join(printable(w, 80) for w in self.left_out[:6])
        more = f" and {len(self.left_out) - 6} more" if len(self.left_out) > 6 else ""
        return [f"left out, never given to a grading kernel: {shown}{more}"]


def submission_files(folder: Path) -> Files:
    """Sort a student's folder into what the grader takes and what it leaves out, without
    reading any file: notebooks at its top (at most MAX_NOTEBOOK_BYTES each; one over the
    limit scores 0, with the reason, when graded), nbgrader's EXCHANGE_FILES, images (at most
    MAX_IMAGE_BYTES each, MAX_KEPT_BYTES in all); not links, not special files, not
    ``.ipynb_checkpoints``; at most MAX_ENTRIES entries looked at."""
    files, seen, kept_bytes = Files(), 0, 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != ".ipynb_checkpoints")
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            seen += 1
            if seen > MAX_ENTRIES:
                files.left_out.append(f"everything after the first {MAX_ENTRIES} files")
                return files
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink() or not path.is_file():
                files.left_out.append(f"{rel} (not a regular file)")
            elif "/" not in rel and name.endswith(".ipynb"):
                size = path.stat().st_size
                if size > MAX_NOTEBOOK_BYTES:
                    files.too_large[rel] = size
                else:
                    files.notebooks.append(rel)
            elif rel in EXCHANGE_FILES and path.stat().st_size <= 1024:
                files.kept.append(rel)
            elif name.lower().endswith(IMAGES):
                size = path.stat().st_size
                if size > MAX_IMAGE_BYTES or kept_bytes + size > MAX_KEPT_BYTES:
                    files.left_out.append(f"{rel} (an image of {size / 2**20:.1f} MB: too large)")
                else:
                    kept_bytes += size
                    files.kept.append(rel)
            else:
                files.left_out.append(rel)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return files


def _sanitize(nb, release, name: str, problems: list[str]) -> None:
    """Report what a student changed in the cells nbgrader relies on; repair, in ``nb`` (the
    copy that is graded), what would make nbgrader give up on the notebook: grading
    settings changed or made up, repeated grade ids or cell ids."""
    released = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in release.cells
                if c.metadata.get("nbgrader", {}).get("grade_id")}
    foreign, restored = [], []
    for cell in nb.cells:  # what marks a cell as graded, and how, is the release's
        if "nbgrader" not in cell.metadata:
            continue
        meta = cell.metadata["nbgrader"]
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(gid, str) or gid not in released:
            del cell.metadata["nbgrader"]
            foreign.append(printable(repr(gid), 40))
        elif meta != released[gid]:
            cell.metadata["nbgrader"] = copy.deepcopy(released[gid])
            restored.append(repr(gid))
    if foreign:
        problems.append(f"{name}: cells {', '.join(foreign)} are not graded cells of the assignment: run as ordinary cells")
    if restored:
        problems.append(f"{name}: the grading settings of cells {', '.join(dict.fromkeys(restored))} were changed: "
                        "put back as released")
    ids = _ids(nb)
    for gid in sorted({g for g in ids if ids.count(g) > 1}):
        problems.append(f"{name}: cell '{gid}' appears {ids.count(gid)} times (copied?): only the last copy is graded")
        copies = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid]
        for cell in copies[:-1]:
            del cell.metadata["nbgrader"]  # a plain cell now; nbgrader's own repair would abort the student
            cell.metadata.pop("deletable", None), cell.metadata.pop("editable", None)
    seen = set()
    for i, cell in enumerate(nb.cells):
        if cell.get("id") in seen:
            cell.id = f"{cell.id}-copy{i}"
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


def _check(course: Path, student: str, assignment: str, names: list[str], problems: list[str],
           given: Files | None = None) -> tuple[dict, Files]:
    """(name -> the notebook to grade, None: leave it out; what of the folder is taken).
    Every notebook of ``names`` that the student handed in is in the first. ``given``: what
    was left out before the folder reached here (course/engine.py sends only what is taken)."""
    folder = course / "submitted" / student / assignment
    files = submission_files(folder)
    if given is not None:
        files.left_out[:0] = given.left_out
        files.too_large.update(given.too_large)
    problems.extend(files.report())
    staged: dict[str, nbformat.NotebookNode | None] = {}
    unknown = [n for n in files.notebooks if n[: -len(".ipynb")] not in names]
    for name in names:
        path = folder / f"{name}.ipynb"
        if f"{name}.ipynb" in files.too_large:
            size = files.too_large[f"{name}.ipynb"]
            problems.append(f"{name}.ipynb is {size / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB a notebook "
                            "may be: not graded, 0 points")
            staged[name] = None
            continue
        if f"{name}.ipynb" not in files.notebooks:
            hint = f" (found {', '.join(printable(u, 80) for u in unknown)}: renamed? give it its name back to grade it)" if unknown else ""
            problems.append(f"{name}.ipynb is missing: 0 points{hint}")
            continue
        nb, why = _read(path)
        staged[name] = nb
        if nb is None:
            problems.append(why)
            continue
        release_path = course / "release" / assignment / path.name
        if release_path.exists():
            _sanitize(nb, nbformat.read(release_path, as_version=4), path.name, problems)
    if unknown and all(f"{n}.ipynb" in files.notebooks for n in names):
        problems.append(f"not graded (not part of {assignment}): {', '.join(printable(u, 80) for u in unknown)}")
    return staged, files


def _stage(course: Path, student: str, assignment: str, staged: dict, files: Files, where: Path) -> None:
    """Write what nbgrader grades to ``where``/<student>/<assignment>: the ``staged``
    notebooks and the kept files, nothing else of the student's folder."""
    source, dest = course / "submitted" / student / assignment, where / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for rel in files.kept:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, dest / rel)
    for name, nb in staged.items():
        if nb is not None:
            nbformat.write(nb, dest / f"{name}.ipynb")


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
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
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
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and is_solution(cell):
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


def _take_out(nb, cell_id: str) -> str | None:
    """Make the cell ``cell_id`` harmless; return its grade id (or a description)."""
    from nbgrader.utils import is_grade

    for i, cell in enumerate(nb.cells):
        if cell.get("id") != cell_id:
            continue
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id") or f"cell {i + 1}"
        if meta.get("locked") or is_grade(cell):
            del nb.cells[i]  # nbgrader would restore a locked cell's source; it scores 0 instead
        else:
            cell.source = 'raise RuntimeError("this cell stopped the Python kernel while grading, so it was not run")\n'
        return gid
    return None


def _grade_student(course: Path, student: str, assignment: str, names: list[str], env: dict | None,
                   sandbox: bool = True, given: Files | None = None) -> Outcome:
    start = time.perf_counter()
    problems: list[str] = []
    staged, files = _check(course, student, assignment, names, problems, given)
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
            _stage(course, student, assignment, staged, files, where)
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
    zygote (nde_grader/zygote.py); ``given``: student -> what was left out of their folder
    before it was copied here."""
    from nde_grader.sandbox import Zygote

    names = sorted(p.stem for p in (course / "source" / assignment).glob("*.ipynb"))
    env = dict(env or {})
    socket = Zygote.socket(sandboxed=sandbox) if zygote else None  # one for this thread (a Dask worker's, a trial's)
    if socket:
        env.setdefault("NDE_ZYGOTE_SOCKET", socket)
    else:
        env["NDE_ZYGOTE"] = "0"
    return [_grade_student(course, student, assignment, names, env, sandbox, (given or {}).get(student))
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
            f"grading kernels cannot be isolated here: {problem}. Fix that, or pass --no-sandbox "
            "to grade anyway, knowing that every kernel can then read what this user can: the course's answers, "
            "hidden checks, gradebook and other students' files (docs/grader.md)"
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


UNGRADED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
li{{overflow-wrap:anywhere}}</style></head>
<body><h1>{title}</h1><p><strong>Score: 0</strong>. This notebook could not be graded:</p>
<ul>{reasons}</ul>
<p>Hand in the notebook again as it is saved by JupyterLab (File, Save), under its own name, then ask
your instructor to grade it again.</p></body></html>
"""


def similar_answers(course: Path) -> None:
    """The similarity report of the whole class (course/similarity.py), after the grades: it
    flags pairs for a person and changes no score; a failure of it is reported, never fatal."""
    from . import similarity

    print()
    try:
        similarity.main(course / "submitted", course)
    except Exception as exc:  # noqa: BLE001 (the grades are written; the report is extra)
        print(f"the similarity report could not be made ({type(exc).__name__}: {exc}); the grades stand")


def write_ungraded_feedback(course: Path, who: list[str], assignment: str = ASSIGNMENT) -> list[Path]:
    """A feedback page for every expected notebook that nbgrader wrote none for (it was
    missing, empty, not a notebook, over its size): the score 0 and the grader's reasons."""
    import html

    from .engine import kept

    expected = sorted(p.stem for p in (course / "source" / assignment).glob("*.ipynb"))
    written = []
    for student in who:
        folder = course / "feedback" / student / assignment
        problems = (kept(course, student, assignment) or {}).get("problems") or []
        for name in expected:
            page = folder / f"{name}.html"
            if page.exists():
                continue
            reasons = [p for p in problems if p.startswith(f"{name}.ipynb")] or [f"{name}.ipynb was not graded"]
            folder.mkdir(parents=True, exist_ok=True)
            page.write_text(UNGRADED_PAGE.format(
                title=html.escape(f"{name} ({assignment}): not graded"),
                reasons="".join(f"<li>{html.escape(printable(r, 600))}</li>" for r in reasons)), encoding="utf-8")
            written.append(page)
    return written


def main(who: list[str] | None = None, course: Path = ROOT, sandbox: bool = True, db: str | None = None,
         scheduler: str | None = None, workers: int | None = None, resume: bool = False) -> int:
    """Grade the class on Dask (a local cluster unless ``scheduler``), write feedback and the
    export, print the table. Exit status: 0, or 1 when a student could not be graded or
    recorded, 130 when interrupted."""
    from .engine import _database_errors, _safe, default_db, grade_class

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
    waiting = set(report.unrecorded)
    try:
        hand = grades(course, db_url=url) if report.results and not waiting else {}
    except _database_errors():
        hand, waiting = {}, waiting | {r.student for r in report.results}
    for r in sorted(report.results, key=lambda r: r.student):
        overrides = [o for g in hand.get(r.student, {}).values() if g is not None for o in g.overrides]
        how = (f"written from disk (graded earlier, in {r.seconds:.1f} s)" if r.student in report.from_disk
               else f"graded in {r.seconds:5.1f} s")
        print(f"{r.student:<16} {how}" + (":" if r.problems or r.needs_review or overrides else ""))
        if r.needs_review:
            print(f"    NEEDS REVIEW: {r.needs_review}")
        for p in r.problems:
            print(report_line(p))
        for o in overrides:
            print(f"    kept, set by hand: {o}")
    if report.skipped:
        print(f"already in the gradebook, files unchanged (--resume): {', '.join(report.skipped)}")
    for gone in report.workers_lost:
        print(f"worker lost during the run: {gone}")
    for student, times in sorted(report.retried.items()):
        print(f"{student}: started again {times} time{'s' if times > 1 else ''} after a worker died")
    for why in report.lock_lost:
        print(f"warning: the run's lock on the gradebook was lost ({why}): another grade command may have run too")
    if report.interrupted:
        print(f"interrupted: every grade made so far is kept; not graded yet: {', '.join(report.not_graded) or 'none'}. "
              "Run `python -m course grade --resume` to grade the rest.")
        return 130
    if waiting:
        print(f"\nthe gradebook {_safe(url)} cannot be reached: the grades of {', '.join(sorted(waiting))} are kept in "
              f"autograded/<student>/{ASSIGNMENT}/ and are written by `python -m course grade --resume` once it "
              "answers. No feedback or export was made: they would come from an incomplete gradebook.")
        return 1
    db_args = [f"--CourseDirectory.db_url={url}"]
    status, log = nbgrader(["generate_feedback", ASSIGNMENT, "--force", "--log-level=WARN", *db_args], course)
    if status:
        print(f"generate_feedback reported a problem:\n{log}")
    write_ungraded_feedback(course, who or everyone)
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
    similar_answers(course)
    print(f"{len(report.results) - len(report.from_disk)} graded, {len(report.from_disk)} written from disk, "
          f"in {report.seconds:.0f} s")
    return 1 if any(r.needs_review for r in report.results) else 0
