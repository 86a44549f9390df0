"""Shared helpers of the course's tests."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course import ASSIGNMENT, ROOT, course_skeleton

os.environ.setdefault("MPLBACKEND", "agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # tiny tensors: threads only contend (benchmarks/README.md)


def notebook_paths(tree: str) -> list[Path]:
    return sorted((ROOT / tree / ASSIGNMENT).glob("*.ipynb"))


def one_notebook_course(where: Path, notebook: str, students=()) -> Path:
    """A course in ``where`` with one notebook: the configuration, its source and release,
    and the shipped submissions of ``students`` (the example class's names)."""
    return course_skeleton(where, notebooks={notebook}, students=students)


def execute(path: Path, allow_errors: bool = False, timeout: int = 300) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel, headless, in its own folder."""
    nb = nbformat.read(path, as_version=4)
    os.environ["NDE_HEADLESS"] = "1"
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


IDIOMS = {"torch.manual_seed(seed)", "def forward(self, z):", "with torch.no_grad():"}
"""Lines that the answers, the grading code, the notebooks and the students' library share
as plain PyTorch idiom: never counted as a leak (kept few and short: tests/test_bundle.py)."""


def distinctive(line: str) -> bool:
    """A line worth looking for when scanning for leaks: not an import, not short, not an idiom."""
    import re

    line = line.strip()
    return len(line) >= 20 and not re.match(r"(from \S+ )?import ", line) and line not in IDIOMS


def answer_and_test_ids(nb: nbformat.NotebookNode) -> tuple[set[str], set[str]]:
    from nbgrader.utils import is_grade, is_solution  # importing nbgrader takes seconds: only when needed

    answers, tests = set(), set()
    for cell in nb.cells:
        if is_solution(cell):
            answers.add(cell.id)
        elif is_grade(cell):
            tests.add(cell.id)
    return answers, tests


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def benchmark_module(name: str):
    """benchmarks/NAME.py loaded as the module NAME (the benchmarks are scripts, not a package;
    their folder goes on the path, where they find each other)."""
    import importlib.util
    import sys

    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.append(str(ROOT / "benchmarks"))

    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module
