"""The release runs top to bottom headless with only its stubs failing.

tests/test_browser.py runs the same notebooks as a student does, in JupyterLab, and
checks this and more. Each test here runs unless this session runs its counterpart
there (selected, with Chromium and Playwright installed), so that whatever the selection
(``-m "not browser"``, ``-k``, one file, a machine without Chromium) every release
notebook is run, and ``make test`` runs none twice (this headless run costs about a
minute of CPU). The source notebooks' headless run is checked on the run that grades
them (tests/test_grading.py).
"""
from __future__ import annotations

import importlib.util
import shutil

import pytest

from nde_student.cells import strip_colours
from nde_student.warnings_only import warnings_only

from .browser_helpers import CHROMIUM, EARLIER_MISSING, earlier_missing_problems, with_earlier_missing
from .conftest import answer_and_test_ids, execute, notebook_paths

pytestmark = pytest.mark.slow

BROWSER_CAN_RUN = CHROMIUM.exists() and importlib.util.find_spec("playwright") is not None


def _skip_if_run_in_the_browser(request, test: str, name: str | None = None) -> None:
    """Skip when this session runs ``test`` of test_browser.py (for the notebook ``name``)."""
    if not BROWSER_CAN_RUN:
        return
    for item in request.session.items:
        if item.path.name == "test_browser.py" and getattr(item, "originalname", "") == test and (
                name is None or getattr(item, "callspec", None) and item.callspec.params.get("name") == name):
            pytest.skip(f"{item.nodeid} runs it in JupyterLab in this session")


def _run_copy(path, tmp_path):
    """Run a release notebook in a scratch folder (logs and runs/ stay out of the repository)
    beside the notebooks before it with the course's answers, as a student who reached it."""
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    for earlier in notebook_paths("submitted/solutions"):
        if earlier.name < path.name:
            shutil.copy(earlier, tmp_path)
    return execute(copy, allow_errors=True)


@pytest.mark.parametrize("path", notebook_paths("release"), ids=lambda p: p.stem)
def test_release_fails_only_where_an_answer_is_missing(path, tmp_path, request):
    _skip_if_run_in_the_browser(request, "test_release_notebook", path.name)
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


def _as_seen(out) -> dict | None:
    """An output as the student reads it: the error's name and its lines, or the text;
    None for stderr made only of warnings."""
    if out.output_type == "error":
        return {"error": out.ename, "text": strip_colours("\n".join(out.traceback))}
    text = out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", "")
    return None if out.get("name") == "stderr" and warnings_only(text) else {"error": None, "text": text}


def test_an_earlier_answer_missing_stops_only_the_cells_that_need_it(tmp_path, request):
    """The course's answers of a notebook beside an earlier notebook left unanswered."""
    _skip_if_run_in_the_browser(request, "test_release_notebook_with_an_earlier_answer_missing")
    nb = execute(with_earlier_missing(tmp_path), allow_errors=True)
    seen = [[o for o in map(_as_seen, getattr(cell, "outputs", [])) if o] for cell in nb.cells]
    problems = earlier_missing_problems(nb.cells, seen)
    assert not problems, f"{EARLIER_MISSING[0]} beside an unanswered {EARLIER_MISSING[1]}:\n  " + "\n  ".join(problems)
