"""Trial grading: autograde made-up students in a throw-away copy of the course.

The tests and scripts/flake_check.py use it to check the grader itself: every student
is a set of catalog variants (at most one per notebook) or raw files, graded by the
real ``nbgrader autograde`` path of course/autograde.py, in ``workers`` course copies at
once (each copy has its own gradebook, so they never contend for it).
"""
from __future__ import annotations

import tempfile
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from . import ASSIGNMENT, ROOT, course_skeleton
from .examples import Variant, write_submission
from .autograde import Outcome, autograde
from .nbgrader_cli import nbgrader, prepare_gradebook

Writer = Callable[[Path], None]
"""Writes a student's files into their submitted/<student>/<assignment>/ folder."""


@dataclass
class Trial:
    cells: dict[str, dict[str, tuple[float, float]]]
    """student -> grade_id -> (score, max score) of the autograded test cells."""
    outcomes: dict[str, Outcome]
    autograded: dict[str, dict[str, nbformat.NotebookNode]]
    """student -> notebook stem -> the notebook as nbgrader ran it (for the students in ``keep``)."""
    feedback: dict[str, dict[str, str]]
    """student -> notebook stem -> the student's feedback page (for the students in ``feedback``)."""


def batch(variants: list[Variant]) -> list[list[Variant]]:
    """Group variants into students with at most one variant per notebook each, or per
    answer cell where the notebook's cells are tested separately (``Variant.unit``)."""
    students: list[list[Variant]] = []
    for v in variants:
        for group in students:
            if all(g.unit != v.unit for g in group):
                group.append(v)
                break
        else:
            students.append([v])
    return students


def _cell_scores(course: Path, student: str, scope: set[str]) -> dict[str, tuple[float, float]]:
    """grade id -> (score, max) of the student's test cells in the notebooks of ``scope``."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for nb in gb.find_assignment(ASSIGNMENT).notebooks:
            if nb.name not in scope:
                continue  # not handed in on purpose: scored 0 by nbgrader, and not what the trial asks about
            try:
                sub = gb.find_submission_notebook(nb.name, ASSIGNMENT, student)
            except MissingEntry:
                continue
            for g in sub.grades:
                if g.cell.cell_type == "code":
                    out[g.name] = (g.score, g.max_score)
    return out


def run_trial(
    students: dict[str, list[Variant] | Writer], notebooks: list[str] | None = None, workers: int = 2,
    only_varied: bool = False, keep: frozenset[str] = frozenset(), sandbox: bool = True, zygote: bool = True,
    course_files: dict[str, bytes] | None = None, feedback: frozenset[str] = frozenset(), env: dict | None = None,
    teaching_tail: bool = True,
) -> Trial:
    """Grade ``students`` (name -> variants, or name -> writer of raw files).

    ``notebooks``: the students given variants submit only these (default: all). With
    ``only_varied``, they submit only the notebooks their variants change.
    The notebooks of the students in ``keep`` come back as nbgrader ran them. ``sandbox``
    false grades as ``grade --no-sandbox`` does (the benchmark measures what the sandbox costs);
    ``zygote`` false starts every kernel from scratch (the tests compare the two).
    ``course_files``: more files of the course copies (path -> bytes), such as another
    student's folder that is not graded; ``feedback``: students whose feedback pages are
    written too (and returned); ``env``: extra environment variables for the grader.
    ``teaching_tail`` false: the students given variants hand in their notebooks without the
    demonstrations after the last test cell (``examples.without_teaching_tail``).
    """
    every_source = sorted(nb.stem for nb in (ROOT / "source" / ASSIGNMENT).glob("*.ipynb"))
    every = notebooks or every_source

    def scope(name: str) -> set[str]:  # the notebooks the student is meant to submit
        spec = students[name]
        return {v.notebook for v in spec} if only_varied and not callable(spec) and spec else set(every)

    def size(name: str) -> int:
        return len(scope(name))

    # the largest first, each worker taking the next student when it is free: the workers finish together
    todo = deque(sorted(students, key=lambda name: (-size(name), name)))
    lock = threading.Lock()
    cells, outcomes, autograded, pages = {}, {}, {}, {}

    def work() -> None:
        with tempfile.TemporaryDirectory(prefix="course-trial-") as tmp:
            course = course_skeleton(Path(tmp))
            for rel, data in (course_files or {}).items():
                (course / rel).parent.mkdir(parents=True, exist_ok=True)
                (course / rel).write_bytes(data)
            prepare_gradebook(course)
            while True:
                with lock:
                    if not todo:
                        return
                    name = todo.popleft()
                spec = students[name]
                if callable(spec):
                    folder = course / "submitted" / name / ASSIGNMENT
                    folder.mkdir(parents=True)
                    spec(folder)
                else:
                    write_submission(course, name, ASSIGNMENT, spec, only_varied=only_varied, only=notebooks,
                                     teaching_tail=teaching_tail)
                (outcome,) = autograde(course, [name], sandbox=sandbox, zygote=zygote, env=env)
                left_out = {f"{n}.ipynb is missing: 0 points" for n in every_source if n not in scope(name)}
                outcome.problems = [p for p in outcome.problems if p.split(" (found")[0] not in left_out]
                scores = _cell_scores(course, name, scope(name))
                ran = {nb.stem: nbformat.read(nb, as_version=4)
                       for nb in sorted((course / "autograded" / name / ASSIGNMENT).glob("*.ipynb"))} if name in keep else None
                page = _feedback(course, name) if name in feedback else None
                with lock:
                    outcomes[name], cells[name] = outcome, scores
                    if ran is not None:
                        autograded[name] = ran
                    if page is not None:
                        pages[name] = page

    n_workers = max(1, min(workers, len(todo)))
    with ThreadPoolExecutor(n_workers) as pool:
        for future in [pool.submit(work) for _ in range(n_workers)]:
            future.result()
    return Trial(cells, outcomes, autograded, pages)


def _feedback(course: Path, student: str) -> dict[str, str]:
    """Write a graded student's feedback pages (``nbgrader generate_feedback``); notebook -> page."""
    status, log = nbgrader(["generate_feedback", ASSIGNMENT, f"--student={student}", "--force", "--log-level=WARN"],
                           course, timeout=600)
    if status:
        raise RuntimeError(f"generate_feedback failed for {student}:\n{log}")
    folder = course / "feedback" / student / ASSIGNMENT
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.html"))}
