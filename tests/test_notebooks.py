"""The release runs top to bottom headless with only its stubs failing.

This is the fallback of tests/test_browser.py::test_release_notebook, which runs the
same notebooks as a student does, in JupyterLab, and checks this and more: when that
test can run (Chromium and Playwright are here, as in CI), this one is skipped so that
the notebooks are not run twice. The source notebooks' headless run is checked on the
run that grades them (tests/test_grading.py).
"""
from __future__ import annotations

import importlib.util
import shutil

import pytest

from .browser_helpers import CHROMIUM
from .conftest import answer_and_test_ids, execute, notebook_paths

BROWSER_TEST_RUNS = CHROMIUM.exists() and importlib.util.find_spec("playwright") is not None


def _run_copy(path, tmp_path):
    """Run a release notebook in a scratch folder (logs and runs/ stay out of the repository)
    beside the notebooks before it with the course's answers, as a student who reached it."""
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    for earlier in notebook_paths("submitted/solutions"):
        if earlier.name < path.name:
            shutil.copy(earlier, tmp_path)
    return execute(copy, allow_errors=True)


@pytest.mark.skipif(BROWSER_TEST_RUNS, reason="test_browser.py checks the release in JupyterLab")
@pytest.mark.parametrize("path", notebook_paths("release"), ids=lambda p: p.stem)
def test_release_fails_only_where_an_answer_is_missing(path, tmp_path):
    nb = _run_copy(path, tmp_path)
    answers, tests = answer_and_test_ids(nb)
    failed_answers = set()
    for cell in nb.cells:
        for out in getattr(cell, "outputs", []):
            if out.output_type == "error":
                assert out.ename == "NotImplementedError", f"cell {cell.id}: {out.ename}: {out.evalue}"
                assert cell.id in answers | tests, f"cell {cell.id} is neither an answer nor a test: it should wait with needs()"
                failed_answers |= {cell.id} & answers
    code_answers = {c.id for c in nb.cells if c.id in answers and c.cell_type == "code"}
    assert failed_answers == code_answers, "each unanswered exercise shows its NotImplementedError in its own cell"
