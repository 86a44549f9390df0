"""Submissions made from the release, for autograding demonstrations and tests.

A submission is the student's copy (release/) with some answer cells filled in:
the course's own answers (``solutions``), nothing (``untouched``), or answers
changed by a variant of the catalog in catalog/ (``wrong`` and the tests).
"""
from __future__ import annotations

import copy
import dataclasses
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nde_grader.cells import grade_id
from nde_grader.reference_build import answer_code

from . import ROOT, CourseError

CATALOG = ROOT / "catalog"
EXAMPLE_WRONG = "descent_keeps_gradient"
"""The catalog variant that the shipped example submission ``wrong`` carries."""


@dataclass(frozen=True)
class Variant:
    """One student's answer to one exercise, different from the course's.

    notebook:   stem of the notebook, e.g. "02_gradient_descent"
    cell:       grade_id of the answer cell that the variant changes
    edits:      (old, new) replacements applied to the course's answer, each old text
                occurring exactly once; or ``code``: the whole new cell
    catches:    grade_ids of the test cells that must lose their points; empty for a
                correct alternative, which must keep every point
    maybe:      test cells that may or may not lose points (a wrong trainer that a
                random training can still get right); neither outcome is asserted
    separate:   set by load_catalog for notebooks whose catalog file says SEPARATE_CELLS:
                no test cell uses two answers (see ``cells_that_use``), so one submission may
                carry variants of several answer cells of the notebook
    """

    name: str
    notebook: str
    cell: str
    why: str
    catches: frozenset[str] = field(default_factory=frozenset)
    edits: tuple[tuple[str, str], ...] = ()
    code: str | None = None
    maybe: frozenset[str] = field(default_factory=frozenset)
    separate: bool = False

    @property
    def correct(self) -> bool:
        return not self.catches

    @property
    def unit(self) -> tuple[str, ...]:
        """What a submission may vary once: the answer cell when the notebook's cells are
        tested separately, else the whole notebook."""
        return (self.notebook, self.cell) if self.separate else (self.notebook,)

    def answer(self, reference: str) -> str:
        if self.code is not None:
            return self.code
        out = reference
        for old, new in self.edits:
            if out.count(old) != 1:
                raise CourseError(f"variant {self.name}: {old!r} occurs {out.count(old)} times in cell {self.cell}")
            out = out.replace(old, new)
        if out == reference:
            raise CourseError(f"variant {self.name} changes nothing")
        return out


def load_catalog() -> list[Variant]:
    """Every variant of catalog/<notebook>.py, checked for unique names and the right notebook."""
    variants: list[Variant] = []
    for path in sorted(CATALOG.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"catalog_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for v in module.VARIANTS:
            if v.notebook != path.stem:
                raise CourseError(f"{path.name}: variant {v.name} is for {v.notebook}, not {path.stem}")
        separate = bool(getattr(module, "SEPARATE_CELLS", False))
        variants.extend(dataclasses.replace(v, separate=separate) for v in module.VARIANTS)
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise CourseError(f"variant names repeat in catalog/: {sorted({n for n in names if names.count(n) > 1})}")
    return variants


def _answer_cells(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    from nbgrader.utils import is_solution  # importing nbgrader takes seconds: only when needed

    return {grade_id(c): c for c in nb.cells if is_solution(c)}


def _names(source: str, names: set[str]) -> bool:
    return any(re.search(rf"\b{re.escape(n)}\b", source) for n in names)


def cells_that_use(source_nb: nbformat.NotebookNode) -> dict[str, set[str]]:
    """Answer cell -> the autograded test cells that use it: their code (hidden tests
    included) names a function or class that the answer cell defines, or one defined by
    another answer cell whose code names it (``descend`` calls ``L``)."""
    from nbgrader.utils import is_grade, is_solution

    answers = {gid: c for gid, c in _answer_cells(source_nb).items() if c.cell_type == "code"}
    defined = {gid: set(re.findall(r"^(?:def|class)\s+(\w+)", c.source, re.M)) for gid, c in answers.items()}
    users = {gid: {other for other, c in answers.items() if _names(c.source, names)} for gid, names in defined.items()}
    out: dict[str, set[str]] = {gid: set() for gid in defined}
    for c in source_nb.cells:
        if c.cell_type == "code" and is_grade(c) and not is_solution(c):
            for gid in defined:
                if any(_names(c.source, defined[user]) for user in users[gid]):
                    out[gid].add(grade_id(c))
    return out


def fill_answers(release_nb, source_nb, variants: list[Variant] = ()) -> nbformat.NotebookNode:
    """The release notebook with every answer cell filled as the course answers it,
    except where one of ``variants`` answers it differently."""
    nb = copy.deepcopy(release_nb)
    reference = {k: answer_code(c.source) for k, c in _answer_cells(source_nb).items()}
    by_cell = {v.cell: v for v in variants}
    for gid, cell in _answer_cells(nb).items():
        if gid not in reference:
            raise CourseError(f"answer cell {gid} is in the release but not in the source")
        variant = by_cell.pop(gid, None)
        cell.source = variant.answer(reference[gid]) if variant else reference[gid]
    if by_cell:
        raise CourseError(f"no answer cell {sorted(by_cell)} for variants {[v.name for v in by_cell.values()]}")
    return nb


def without_teaching_tail(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without the code cells after its last autograded test cell that
    nbgrader lets a student delete (neither graded nor locked): the demonstrations that
    follow the last test, which cannot change a score above them. The written answers stay."""
    from nbgrader.utils import is_grade, is_locked, is_solution

    tests = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and is_grade(c) and not is_solution(c)]
    if not tests:
        return nb
    out = copy.deepcopy(nb)
    out.cells = [c for i, c in enumerate(nb.cells)
                 if i <= tests[-1] or c.cell_type != "code" or is_grade(c) or is_solution(c) or is_locked(c)]
    return out


def write_submission(
    course: Path, student: str, assignment: str, variants: list[Variant] = (), fill: bool = True,
    only_varied: bool = False, only: list[str] | None = None, teaching_tail: bool = True,
) -> None:
    """Write ``submitted/<student>/<assignment>/`` under ``course`` from its source and release.

    With ``only_varied``, only the notebooks that a variant changes are written (the
    others would be the course's answers, graded already): a trial grades faster. ``only``:
    these notebooks (stems) at most. ``teaching_tail`` false: each notebook without the
    demonstrations after its last test cell (``without_teaching_tail``), as a student may
    hand it in; the scores of its test cells are the same, and the grading is faster.
    """
    for release_path in sorted((course / "release" / assignment).glob("*.ipynb")):
        if not (course / "source" / assignment / release_path.name).exists():
            continue  # a trial course may hold only some notebooks
        if only_varied and all(v.notebook != release_path.stem for v in variants):
            continue
        if only is not None and release_path.stem not in only:
            continue
        nb = nbformat.read(release_path, as_version=4)
        if fill:
            source_nb = nbformat.read(course / "source" / assignment / release_path.name, as_version=4)
            nb = fill_answers(nb, source_nb, [v for v in variants if v.notebook == release_path.stem])
        if not teaching_tail:
            nb = without_teaching_tail(nb)
        out = course / "submitted" / student / assignment / release_path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def write_examples(course: Path, assignment: str) -> None:
    """The example class shipped with the course: a full solution, an untouched copy,
    and one wrong answer."""
    wrong = [v for v in load_catalog() if v.name == EXAMPLE_WRONG]
    if len(wrong) != 1:
        raise CourseError(f"catalog/ must define exactly one variant named {EXAMPLE_WRONG}")
    write_submission(course, "solutions", assignment)
    write_submission(course, "untouched", assignment, fill=False)
    write_submission(course, "wrong", assignment, wrong)
