"""Self-check for students: ``python -m nde_student validate NOTEBOOK.ipynb [...]``.

Runs each notebook from top to bottom in a fresh kernel, as the grader will, and exits
with status 1 when an answer is missing or a visible test fails (plain ``nbgrader
validate`` exits 0 even then: jupyter/nbgrader#1908).  Passing here means the visible
tests pass; the hidden tests that grading adds can still find mistakes.
"""
from __future__ import annotations

import ast
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .cells import docstring_rule, only_docstring, strip_colours
from .warnings_only import NORMALIZE_WARNINGS

TEXT_STUB = "YOUR ANSWER HERE"


def _error(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            value = strip_colours(str(out.get("evalue", ""))).strip().splitlines()
            return f"{out.ename}: {value[0][:150]}" if value else out.ename
    return None


def run(path: Path, timeout: int | None = None, setup: str = NORMALIZE_WARNINGS,
        env: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """Execute the notebook at ``path`` headless in its own folder; errors stay in the outputs.

    ``setup``: code run first, in a cell taken out again afterwards (by default, warnings
    written so that they can be told apart); ``env``: more of the kernel's environment.
    """
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    # the kernel's environment only: a JupyterLab that validates keeps its own for the kernels it starts
    env = {"NDE_HEADLESS": "1", "MPLBACKEND": "agg", **os.environ, **(env or {})}
    nb = nbformat.read(path, as_version=4)
    setup = nbformat.v4.new_code_cell(setup)
    nb.cells.insert(0, setup)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    # the kernel talks over UNIX sockets in a private folder, not over TCP on localhost
    with tempfile.TemporaryDirectory(prefix="nde-kernel-") as sockets:
        km = KernelManager(kernel_name=kernel, transport="ipc", ip=os.path.join(sockets, "kernel"))
        client = NotebookClient(
            nb, km=km, timeout=timeout or int(os.environ.get("NDE_CELL_TIMEOUT", 60)), kernel_name=kernel,
            allow_errors=True, interrupt_on_timeout=True, resources={"metadata": {"path": str(path.parent)}},
        )
        try:
            client.execute(env=env)
        finally:
            nb.cells.remove(setup)
            if km.has_kernel:  # the client does not stop a kernel it was given
                km.shutdown_kernel(now=True)
    return nb


_EXERCISE = re.compile(r"\*\*Exercise (\d+)( \(written\))?")


def _names(source: str) -> list[str]:
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return []
    return [n.name for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def _first_line(source: str) -> str:
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


@dataclass(frozen=True)
class Problem:
    """One thing to fix: ``kind`` MISSING, FAIL or ERROR, ``where`` as the notebook names it
    ("Exercise 2, `L`", with a test's rule in brackets), ``what`` went wrong."""

    kind: str
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind:<8} {self.where}: {self.what}"


def summarize(nb: nbformat.NotebookNode) -> tuple[int, list[Problem]]:
    """(number of passing tests, the problems) for an executed notebook.

    Exercises are named as the notebook names them ("Exercise 2, `L`"), and a failing
    test by the rule it checks (its first line). An unanswered exercise is one problem,
    MISSING: the tests that stop on it (on its NotImplementedError, or on that of another
    unanswered exercise above) are not counted as failures too.
    """
    passed, problems = 0, []
    exercise, answer = "", ""  # the exercise being read, and its answer's names
    unanswered, missing = False, False  # this exercise's answer is missing; one above is
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            found = _EXERCISE.findall(cell.source)
            if found:
                exercise, answer, unanswered = f"Exercise {found[-1][0]}", "", False
        if meta.get("solution") and cell.cell_type == "markdown":
            if TEXT_STUB in cell.source:
                problems.append(Problem("MISSING", f"{exercise or meta.get('grade_id')} (written)",
                                        "your answer is not given yet"))
        elif meta.get("solution") and cell.cell_type == "code":
            names = _names(cell.source)
            answer = f"{exercise}, {', '.join(f'`{n}`' for n in names)}" if exercise and names else exercise or \
                meta.get("grade_id", "?")
            error = _error(cell)
            unanswered = bool(error) and error.startswith("NotImplementedError")
            missing = missing or unanswered
            if unanswered:
                problems.append(Problem("MISSING", answer, "not written yet (the cell raises NotImplementedError)"))
            elif error:
                problems.append(Problem("ERROR", answer, f"the answer cell fails: {error}"))
        elif meta.get("grade") and cell.cell_type == "code":
            error = _error(cell)  # a test's result; what it writes (stderr included) costs nothing
            if not error and only_docstring(cell.source):  # the student's copy has no visible test
                continue  # nothing visible to check here: its tests are added at grading time
            if unanswered or (missing and error and error.startswith("NotImplementedError")):
                continue  # the unanswered exercise is reported once, as missing
            rule = docstring_rule(cell.source)
            where = f"{answer or exercise or meta.get('grade_id', '?')}" + (f" ({rule})" if rule else "")
            if error:
                problems.append(Problem("FAIL", where, error))
            else:
                passed += 1
        elif cell.cell_type == "code":
            error = _error(cell)
            if error and not (missing and error.startswith("NotImplementedError")):
                problems.append(Problem("ERROR", f"the cell \"{_first_line(cell.source)}\"", error))
    return passed, problems


def verdict(name: str, passed: int, problems: list[Problem]) -> str:
    """The one-line verdict on a notebook."""
    failed = sum(p.kind != "MISSING" for p in problems)
    missing = len(problems) - failed
    return (f"{name}: {'NOT YET' if problems else 'OK'}: {passed} visible tests passed, {failed} failed, "
            f"{missing} answers missing")


def main(notebooks: list[str] | None = None) -> int:
    notebooks = sys.argv[1:] if notebooks is None else notebooks
    if not notebooks:
        print("usage: python -m nde_student validate NOTEBOOK.ipynb [...]")
        return 2
    status = 0
    for name in notebooks:
        path = Path(name)
        try:
            nb = run(path)
        except Exception as exc:  # noqa: BLE001 (whatever stops the run is reported to the student)
            print(f"{path.name}: could not run it: {type(exc).__name__}: {str(exc).strip()[:300]}")
            status = 1
            continue
        passed, problems = summarize(nb)
        print(verdict(path.name, passed, problems))
        for p in problems:
            print(f"  {p}")
        if problems:
            status = 1
    if status == 0:
        print("All visible tests pass.  Hidden tests run at grading time may still find mistakes.")
    return status


