"""The student's JupyterLab, end to end, in headless Chromium.

A student runs ``jupyter lab`` in the course folder, opens each notebook and runs its
cells.  This test does the same on a copy of the course folder and checks what the
student would see:

- the release, each notebook opened as a student who answered the notebooks before it
  (later notebooks use those answers through ``from_notebook``): every error is the
  ``NotImplementedError`` of an exercise not answered yet, shown in the answer's cell or
  in its test cell; cells that use an answer say so in one line; every figure and plot
  is drawn;
- the filled solutions (``submitted/solutions``): Run > Run All Cells goes through
  without a single error and the plots appear; nbgrader's Validate button passes
  (clicked in one notebook: it reruns the notebook on the server);
- the nbgrader (menu, Validate button) and GPU-dashboard extensions are loaded.

JupyterLab runs as for a person (NDE_HEADLESS unset, matplotlib's inline backend,
TensorBoard in the page), except that each kernel uses one CPU thread: the other test
worker shares the cores.

A screenshot of every notebook, after running, goes to ``artifacts/screenshots/``.
Needs Debian's Chromium (``scripts/install_system.sh``): without it the test is
skipped on a workstation and fails in CI (``CI`` set).
"""
from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_grade, is_solution

from course import ROOT, course_skeleton
from course.build import PYTHON_VERSION, passed_text
from .browser_helpers import (  # browser: a fixture
    EARLIER_MISSING, EARLIER_MISSING_TREE, STOPS_LINE, earlier_missing_problems,
    NEEDS_LINE, PANEL, SOURCES, TREES, Lab, LabPage, copy_course, error_name, notebooks,
    browser, progress_tree, view_problems,
)

# All browser tests share one JupyterLab and one browser, so they belong on one xdist
# worker: `--dist loadfile` does that today (`--dist loadgroup` with this mark would, but
# pytest-xdist 3.8 ignores the mark under pytest 9.2: pytest-dev/pytest-xdist#1386).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# Code that draws a plot; a notebook with such a cell must show at least one plot.
PLOTS = re.compile(r"\bplt\.(show|plot|subplots|figure|imshow|hist|scatter)\(|\bax\w*\.(plot|imshow|hist|scatter)\(")


# Validate runs the whole notebook once more on the server: by default it is clicked in
# the first notebook only; NDE_BROWSER_VALIDATE=all (or a list of names) asks for more.
_SOLUTIONS = [p.name for p in notebooks("solutions")]
VALIDATE = set(filter(None, os.environ.get("NDE_BROWSER_VALIDATE", _SOLUTIONS[0] if _SOLUTIONS else "").split(",")))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """JupyterLab on a copy of the course folder; always shut down, even after a failure."""
    tmp = tmp_path_factory.mktemp("student")
    (tmp / "state").mkdir()
    server = Lab(copy_course(tmp / "course"), tmp / "state", tmp / "jupyter-lab.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    page = LabPage(browser, lab)
    try:
        yield page
    finally:
        page.close()


@pytest.fixture
def student(lab_page, lab):
    """The shared page; after each test its notebook is closed and its kernel shut down.

    When closing fails (a dialog left open, a page that hangs), a fresh page replaces it
    so that the next notebook starts clean.
    """
    yield lab_page
    try:
        if lab_page.page.query_selector(".jp-NotebookPanel"):
            lab_page.close_notebook()
    except Exception:
        lab.shutdown_kernels()
        lab_page.reload()


def _read(kind: str, name: str) -> tuple[str, nbformat.NotebookNode]:
    """The notebook's path in the copied course folder, and its cells as in the repository."""
    tree = progress_tree(name) if kind == "release" else TREES[kind]
    return f"{tree.as_posix()}/{name}", nbformat.read(SOURCES[kind] / name, as_version=4)


def _code(nb) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())


def _role(cell) -> str:
    if is_solution(cell) and cell.cell_type == "code":
        return "answer"
    if is_grade(cell) and not is_solution(cell):
        return "test"
    return "other"


def _label(i: int, cell) -> str:
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    first = next((line for line in cell.source.splitlines() if line.strip()), "")[:60]
    return f"cell {i}" + (f" ({grade_id})" if grade_id else "") + f": {first!r}"


def _has_math(nb) -> bool:
    return any(c.cell_type == "markdown" and "$" in c.source for c in nb.cells)


def _common_checks(nb, dom: list[dict], kind: str) -> list[str]:
    """What must hold in both trees: every cell drawn and run, every image loaded."""
    problems = []
    if len(dom) != len(nb.cells):
        return [f"the page shows {len(dom)} cells, the notebook has {len(nb.cells)}"]
    for i, (cell, seen) in enumerate(zip(nb.cells, dom)):
        if cell.cell_type == "code" and cell.source.strip() and not re.match(r"^\[\d+\]:$", seen["prompt"]):
            problems.append(f"{_label(i, cell)} did not run (prompt {seen['prompt']!r})")
        for img in seen["images"]:
            if not img["complete"] or img["width"] <= 0:
                what = "plot" if img["output"] else "figure"
                problems.append(f"{_label(i, cell)}: {what} {img['src']!r} is not drawn (naturalWidth 0)")
        if cell.cell_type == "markdown" and re.search(r"!\[[^\]]*\]\(|<img\b", cell.source) and not seen["images"]:
            problems.append(f"{_label(i, cell)}: its figure is missing from the page")
    plot_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and PLOTS.search(c.source)
                  and (kind == "solutions" or ("needs(" not in c.source and _role(c) == "other"))]
    plots = sum(1 for seen in dom for img in seen["images"] if img["output"])
    if plot_cells and not plots:
        problems.append(f"no plot appears, although cells {plot_cells} draw plots")
    return problems


def _finish(student, kind: str, name: str, started: float, opened: float) -> None:
    ran = time.monotonic() - started
    student.wait_images()
    student.screenshot(SCREENSHOTS / f"{kind}-{Path(name).stem}.png")
    print(f"{kind}/{name}: opened in {opened:.1f} s, ran by {ran:.1f} s, "
          f"screenshot by {time.monotonic() - started:.1f} s")


# ---------------------------------------------------------------- tests


def test_extensions_loaded(student):
    """nbgrader's menu and the GPU dashboards are in the student's Lab (Validate: per notebook)."""
    page = student.page
    config = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)")
    installed = {ext["name"] for ext in config.get("federated_extensions", [])}
    assert {"@jupyter/nbgrader", "jupyterlab-nvdashboard"} <= installed, installed
    assert "Assignment List" in student.menu_items("Nbgrader"), "nbgrader's menu is incomplete"

    gpu = page.locator('.jp-SideBar .lm-TabBar-tab[title="GPU Dashboards"]')
    assert gpu.count() == 1, "jupyterlab-nvdashboard's GPU Dashboards panel is missing"
    gpu.click()
    page.locator(".gpu-dashboard-container").wait_for(state="visible")
    assert page.locator(".gpu-dashboard-header").inner_text().startswith("GPU Dashboards")
    gpu.click()  # fold the panel away again
    assert not student.console, f"JavaScript errors in the page: {student.console}"


def _validate_button(student) -> list[str]:
    button = student.page.locator(f"{PANEL} .jp-Toolbar .validate-button")
    if button.count() != 1 or button.inner_text().strip() != "Validate":
        return ["nbgrader's Validate button is missing from the notebook's toolbar"]
    return []


@pytest.mark.parametrize("name", [p.name for p in notebooks("release")], ids=lambda n: n[:-6])
def test_release_notebook(student, name):
    """The student's notebook before any answer, the network off: only NotImplementedErrors, in
    the right cells; every formula typeset, every figure drawn, every error readable in its box."""
    started = time.monotonic()
    path, nb = _read("release", name)
    student.open(path, len(nb.cells))
    opened = time.monotonic() - started
    # JupyterLab writes the kernel's language_info into the notebook: the release carries that
    # of the course's Python, so that it opens unmodified there
    modified = student.modified() and platform.python_version() == PYTHON_VERSION
    seconds = student.run_cells_one_by_one([(c.cell_type, c.source) for c in nb.cells])
    _finish(student, "release", name, started, opened)
    slow = {i: round(s, 1) for i, s in seconds.items() if s > 5}
    if slow:
        print(f"release/{name}: slow cells (s): {slow}")
    dom = student.cells()

    problems = _common_checks(nb, dom, "release") + _validate_button(student) + student.reading_problems(_has_math(nb))
    if modified:
        problems.append("the notebook shows as modified right after opening, before any cell ran")
    if len(dom) == len(nb.cells):
        for i, (cell, seen) in enumerate(zip(nb.cells, dom)):
            errors = [e for e in map(error_name, seen["outputs"]) if e]
            role = _role(cell)
            for err in errors:
                if err != "NotImplementedError":
                    problems.append(f"{_label(i, cell)} raises {err}; only NotImplementedError may appear")
                elif role == "other":
                    problems.append(f"{_label(i, cell)} shows a NotImplementedError: wrap it in `with needs(...)`")
            if role == "answer" and "NotImplementedError" not in errors:
                problems.append(f"{_label(i, cell)}: the unanswered exercise shows no NotImplementedError")
            if any(NEEDS_LINE in o["text"] or STOPS_LINE in o["text"] for o in seen["outputs"]):
                extra = [o["mime"] for o in seen["outputs"] if NEEDS_LINE not in o["text"] and STOPS_LINE not in o["text"]]
                lines = [ln for o in seen["outputs"] for ln in o["text"].splitlines() if ln.strip()]
                if extra or len(lines) != 1:
                    problems.append(f"{_label(i, cell)} waits for an answer but shows more than its "
                                    f"one line: {extra or lines}")
    assert not problems, f"{name} (release):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", _SOLUTIONS, ids=lambda n: n[:-6])
def test_solution_notebook(student, name):
    """The notebook with the course's answers, the network off: Run All Cells without an error,
    Validate passes, every formula typeset and every plot drawn."""
    started = time.monotonic()
    path, nb = _read("solutions", name)
    student.open(path, len(nb.cells))
    opened = time.monotonic() - started
    student.run_all(_code(nb))
    _finish(student, "solutions", name, started, opened)
    dom = student.cells()
    problems = _common_checks(nb, dom, "solutions") + _validate_button(student) + student.reading_problems(_has_math(nb))
    if len(dom) == len(nb.cells):
        for i, (cell, seen) in enumerate(zip(nb.cells, dom)):
            for out in seen["outputs"]:
                err = error_name(out)
                if err:
                    problems.append(f"{_label(i, cell)} raises {err}")
                elif out["mime"] == "application/vnd.jupyter.stderr" and _role(cell) == "test" \
                        and "Warning" not in out["text"]:
                    problems.append(f"{_label(i, cell)} writes to stderr (a student would read it as a failure): "
                                    f"{out['text'][:200]!r}")
                if NEEDS_LINE in out["text"] or STOPS_LINE in out["text"]:
                    problems.append(f"{_label(i, cell)} still waits for an answer: {out['text'].strip()!r}")
            passed = passed_text(cell.source) if _role(cell) == "test" else None
            if passed and not any(passed in out["text"] for out in seen["outputs"]):
                problems.append(f"{_label(i, cell)} passed without its ✓ line {passed!r}")
    if name in VALIDATE or "all" in VALIDATE:
        passed, message = student.validate()
        if not passed:
            problems.append(f"Validate fails: {message[:600]}")
        print(f"solutions/{name} validated: {time.monotonic() - started:.1f} s")
    assert not problems, f"{name} (solutions):\n  " + "\n  ".join(problems)


def test_release_notebook_with_an_earlier_answer_missing(student):
    """The course's answers of a notebook beside an earlier notebook left unanswered: the
    cells that need that answer show one line naming its exercise (an error only in a test
    cell), no other cell fails, and every other test cell shows its ✓ line."""
    started = time.monotonic()
    name = EARLIER_MISSING[0]
    nb = nbformat.read(SOURCES["solutions"] / name, as_version=4)
    student.open(f"{EARLIER_MISSING_TREE.as_posix()}/{name}", len(nb.cells))
    opened = time.monotonic() - started
    student.run_cells_one_by_one([(c.cell_type, c.source) for c in nb.cells])
    _finish(student, "missing-earlier", name, started, opened)
    dom = student.cells()
    assert len(dom) == len(nb.cells), f"the page shows {len(dom)} cells, the notebook has {len(nb.cells)}"
    seen = [[{"error": error_name(o), "text": o["text"]} for o in cell["outputs"]] for cell in dom]
    problems = earlier_missing_problems(nb.cells, seen)
    assert not problems, f"{name} beside an unanswered {EARLIER_MISSING[1]}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------- feedback, offline


@pytest.fixture(scope="module")
def feedback_pages(tmp_path_factory):
    """The example class graded by `python -m course grade` in a copy of the course: its
    feedback folder (pages and the MathJax beside them)."""
    import io
    from contextlib import redirect_stdout

    from course.grade import main as grade_main
    from nde_grader.kernel.sandbox import unavailable

    if unavailable():
        pytest.skip(f"grading needs its sandbox: {unavailable()}")
    course = tmp_path_factory.mktemp("graded-class")
    course_skeleton(course, students=("solutions", "untouched", "wrong"), images=True)
    out = io.StringIO()
    with redirect_stdout(out):
        assert grade_main(course=course) == 0, out.getvalue()
    return course / "feedback"


def test_feedback_reads_offline(browser, feedback_pages):
    """Every feedback page of the example class, opened from disk with the network off:
    every image loaded, every formula typeset (none left as MathJax's error mark), every
    failed test's message wrapped within its box, and each plot cell of the course's answers
    shows its plot. The pages of the student with a failed test are kept as screenshots
    (artifacts/screenshots/feedback/)."""
    context = browser.new_context(offline=True)
    page = context.new_page()
    problems, pages = [], sorted(feedback_pages.glob("*/divergence/*.html"))
    students = sorted(p.name for p in (ROOT / "submitted").iterdir() if p.is_dir())
    assert len(pages) == len(students) * len(notebooks("release")), pages
    try:
        for path in pages:
            page.goto(path.as_uri())
            where = f"{path.parent.parent.name}/{path.name}"
            unreadable, found = view_problems(page, where)
            problems += unreadable
            if path.parent.parent.name == "wrong":  # what a student with a failed test reads
                page.screenshot(path=str(SCREENSHOTS / "feedback" / f"wrong-{path.stem}.png"), full_page=True)
            if path.parent.parent.name == "solutions":
                nb = nbformat.read(ROOT / "source" / "divergence" / f"{path.stem}.ipynb", as_version=4)
                plots = sum(1 for c in nb.cells if c.cell_type == "code" and PLOTS.search(c.source))
                shown = sum(1 for i in found["images"] if i["output"] and i["ok"])
                if shown < plots:
                    problems.append(f"{where}: {plots} cells draw plots, {shown} plots shown")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
