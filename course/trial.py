"""Trial grading: autograde made-up students in a throw-away copy of the course.

The tests and scripts/flake_check.py use it to check the grader itself: every student
is a set of catalog variants (at most one per notebook) or raw files, graded by the
real ``nbgrader autograde`` path of course/grade.py, in ``workers`` course copies at
once (each copy has its own gradebook, so they never contend for it).
"""
from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from . import ASSIGNMENT, ROOT
from .examples import Variant, write_submission
from .grade import Outcome, autograde, prepare_gradebook

Writer = Callable[[Path], None]
"""Writes a student's files into their submitted/<student>/<assignment>/ folder."""


@dataclass
class Trial:
    cells: dict[str, dict[str, tuple[float, float]]]
    """student -> grade_id -> (score, max score) of the autograded test cells."""
    outcomes: dict[str, Outcome]
    autograded: dict[str, dict[str, nbformat.NotebookNode]]
    """student -> notebook stem -> the notebook as nbgrader ran it (for the students in ``keep``)."""


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


def _course_copy(where: Path, notebooks: list[str] | None) -> Path:
    shutil.copy(ROOT / "nbgrader_config.py", where)
    for tree in ("source", "release"):
        for nb in sorted((ROOT / tree / ASSIGNMENT).glob("*.ipynb")):
            if notebooks is None or nb.stem in notebooks:
                (where / tree / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
                shutil.copy(nb, where / tree / ASSIGNMENT)
    return where


def _cell_scores(course: Path, student: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for nb in gb.find_assignment(ASSIGNMENT).notebooks:
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
    only_varied: bool = False, keep: frozenset[str] = frozenset(),
) -> Trial:
    """Grade ``students`` (name -> variants, or name -> writer of raw files).

    With ``only_varied``, a student given variants submits only the notebooks they change.
    The notebooks of the students in ``keep`` come back as nbgrader ran them.
    """
    names = sorted(students)
    shards = [names[i::workers] for i in range(workers) if names[i::workers]]

    def grade_shard(shard: list[str]) -> tuple[dict, dict]:
        with tempfile.TemporaryDirectory(prefix="course-trial-") as tmp:
            course = _course_copy(Path(tmp), notebooks)
            prepare_gradebook(course)
            for name in shard:
                spec = students[name]
                if callable(spec):
                    folder = course / "submitted" / name / ASSIGNMENT
                    folder.mkdir(parents=True)
                    spec(folder)
                else:
                    write_submission(course, name, ASSIGNMENT, spec, only_varied=only_varied)
            outcomes = {o.student: o for o in autograde(course, shard)}
            ran = {
                name: {nb.stem: nbformat.read(nb, as_version=4)
                       for nb in sorted((course / "autograded" / name / ASSIGNMENT).glob("*.ipynb"))}
                for name in shard if name in keep
            }
            return {name: _cell_scores(course, name) for name in shard}, outcomes, ran

    cells, outcomes, autograded = {}, {}, {}
    with ThreadPoolExecutor(len(shards)) as pool:
        for c, o, a in pool.map(grade_shard, shards):
            cells.update(c)
            outcomes.update(o)
            autograded.update(a)
    return Trial(cells, outcomes, autograded)
