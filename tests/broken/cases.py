"""Writers of broken submissions of 02_gradient_descent, for course.trial.run_trial.

Each case is a student: a writer of raw files into submitted/<student>/divergence/,
the grade ids that must lose their points (every other test cell keeps them), and a
word that the reason given to the instructor must contain.  A case is built from the
course's own answers (or the catalog's wrong ``descent_keeps_gradient``), then broken.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from course import ASSIGNMENT, ROOT
from course.examples import fill_answers, load_catalog

NOTEBOOK = "02_gradient_descent"
FILE = f"{NOTEBOOK}.ipynb"
DESCENT = {"descent_step", "descent_iterates", "descent_in_place"}
WRONG = frozenset({"descent_iterates"})  # what descent_keeps_gradient loses


def submission(wrong: bool = False) -> nbformat.NotebookNode:
    """The release of 02 answered as the course answers it (or with the catalog's wrong loop)."""
    release = nbformat.read(ROOT / "release" / ASSIGNMENT / FILE, as_version=4)
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / FILE, as_version=4)
    variants = [v for v in load_catalog() if v.name == "descent_keeps_gradient"] if wrong else []
    return fill_answers(release, source, variants)


def index(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def answer(nb, grade_id: str, before: str = "", inside: str = "") -> nbformat.NotebookNode:
    """Put code at the top of answer cell ``grade_id`` (``before``) or at the top of its function's body."""
    cell = nb.cells[index(nb, grade_id)]
    if inside:
        lines = cell.source.splitlines(keepends=True)
        at = next(i for i, line in enumerate(lines) if line.rstrip().endswith('"""')) + 1  # after the docstring
        lines[at:at] = [f"    {line}\n" for line in inside.splitlines()]
        cell.source = "".join(lines)
    cell.source = before + cell.source
    return nb


def write(nb_or_text, name: str = FILE) -> Callable[[Path], None]:
    def writer(folder: Path) -> None:
        text = nb_or_text if isinstance(nb_or_text, str) else json.dumps(nb_or_text, indent=1)
        (folder / name).write_text(text, encoding="utf-8")

    return writer


@dataclass
class Case:
    writer: Callable[[Path], None]
    loses: frozenset[str]
    reason: str = ""
    """A word the problems reported for this student must contain ("" = no problem reported)."""


def _deleted():
    nb = submission(wrong=True)
    del nb.cells[index(nb, "descent_iterates")]
    return nb


def _edited():
    nb = submission(wrong=True)
    nb.cells[index(nb, "descent_iterates")].source = '"""I changed this test."""\npass\n'
    return nb


def _reordered():
    nb = submission()
    i, j = index(nb, "descent"), index(nb, "descent_step")
    nb.cells[i], nb.cells[j] = nb.cells[j], nb.cells[i]  # the test now runs before the answer
    return nb


def _duplicated():
    nb = submission()
    wrong = submission(wrong=True)
    i = index(nb, "descent")
    copied = copy.deepcopy(wrong.cells[i])  # same grade id and same cell id, after the original
    nb.cells.insert(i + 1, copied)
    return nb


def _renamed_writer(folder: Path) -> None:
    (folder / f"{NOTEBOOK}-Copy1.ipynb").write_text(json.dumps(submission()), encoding="utf-8")


def cases() -> dict[str, Case]:
    """student -> case; ``ok`` and ``wrong`` are ordinary students graded in the same batch."""
    full = json.dumps(submission())
    return {
        "ok": Case(write(submission()), frozenset()),
        "wrong": Case(write(submission(wrong=True)), WRONG),
        "loop": Case(write(answer(submission(), "descent", before="import time\n", inside="while True:  # never ends (it sleeps, so that it does not slow the other tests)\n    time.sleep(0.05)")), frozenset(DESCENT), "time limit"),
        "input": Case(write(answer(submission(), "descent", inside='steps = int(input("how many steps? "))')),
                      frozenset(DESCENT), "input"),
        "crash": Case(write(answer(submission(), "descent", inside="import os\nos._exit(1)")), frozenset(DESCENT), "kernel"),
        "print": Case(write(answer(submission(), "loss", before='print("x" * 100_000_000)\n')), frozenset(), "100.0 MB"),
        "alloc": Case(write(answer(submission(), "descent", inside="buffer = torch.empty(10**13)")), frozenset(DESCENT),
                      "memory"),
        "deleted": Case(write(_deleted()), WRONG, "descent_iterates"),
        "edited": Case(write(_edited()), WRONG, "descent_iterates"),
        "reordered": Case(write(_reordered()), frozenset({"descent_step"}), "order"),
        "duplicated": Case(write(_duplicated()), WRONG, "'descent' appears 2 times"),
        # warnings on stderr (one of Python's, one of PyTorch's) cost nothing
        "warns": Case(write(answer(answer(submission(), "loss", before="import warnings\n",
                                          inside='warnings.warn(f"L got {w.numel()} values", UserWarning)'),
                                   "descent", inside=TORCH_WARNS)), frozenset()),
        # a message on stderr that is not a warning costs nothing (the grader decides, not the
        # outputs), and is named for a person to look at
        "stderr": Case(write(answer(submission(), "loss", before="import sys\n",
                                    inside='print("computing L", file=sys.stderr)')), frozenset(), "stderr"),
        "notjson": Case(write(full[: len(full) // 2]), ALL, "JSON"),
        "empty": Case(write(""), ALL, "empty"),
        "renamed": Case(_renamed_writer, ALL, "Copy1"),
    }


TORCH_WARNS = """with warnings.catch_warnings():
    warnings.simplefilter("always")  # every call, not only the first
    torch.tensor(w)  # PyTorch warns: copy a tensor with clone().detach()"""
ALL = frozenset({"loss_values", "loss_gradient"} | DESCENT)
