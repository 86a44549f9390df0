"""Attacks on the grader score 0 and reach nothing: the catalog of tests/attacks.py, graded.

One student per attack, whose submission writes no answer, graded through the real
``grade`` path (course/trial.py runs course/autograde.py's ``autograde``: nbgrader, the
sandbox, the grader's verdicts), with a value planted in the grader's environment and in
another student's folder:

- every test cell of every notebook scores 0;
- nothing of the grader reaches the kernel or the student's pages: the planted value is in
  no graded notebook and no feedback page, a kernel's descriptors, environment and home
  hold nothing of the grader's, no line a kernel wrote reaches the instructor's report,
  no notebook runs past its time budget, no oversized file is read, no feedback page holds
  another student's file, a script or an event handler of the submission;
- each attack left its evidence (what it tried was tried), and for the attacks on
  nbgrader's own scoring the control shows that the same submission earns points where
  a cell's outputs decide.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import determine_grade, is_grade, is_solution

from course import ASSIGNMENT, ROOT, autograde
from course.trial import run_trial
from nde_grader.kernel.sandbox import unavailable

from .attacks import ATTACKS, CANARY, VICTIM, XSS, canary_png, write_attack
from .conftest import notebook_paths

pytestmark = pytest.mark.slow
NOTEBOOKS = [p.stem for p in notebook_paths("source")]
BUDGET_S = 40
"""The notebooks' time budget while the attacks are graded: the untouched release's slowest
notebook takes a few seconds; the attack that never returns is stopped at it."""
ALLOWED_ENV = {"MPLBACKEND", "NDE_HEADLESS", "NBGRADER_EXECUTION", "PYTHONWARNINGS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "TZ", "LANG", "LC_ALL", "HOME", "USER", "LOGNAME",
               "TMPDIR", "JUPYTER_PLATFORM_DIRS", "PATH", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
               "JUPYTER_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "MPLCONFIGDIR",
               "PYTHONUSERBASE", "PYTHONNOUSERSITE", "PYTHONDONTWRITEBYTECODE", "JPY_PARENT_PID", "JPY_SESSION_NAME",
               # set by ipykernel and IPython themselves, inside the kernel
               "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "GIT_PAGER", "PAGER", "TERM", "PYDEVD_USE_FRAME_EVAL"}
"""The variables a grading kernel may have: the sandbox's own (nde_grader/kernel/sandbox.py kernel_env) and its kernel's."""


def _student(name: str) -> str:
    return f"attack_{name}"


def graded_notebooks(name: str, index: int) -> list[str]:
    """The notebooks an attack is graded on: 02 (whose test cells once had visible asserts
    only) and one more in turn, so that the catalog attacks every notebook, or the ones the
    attack is about; every notebook with ``NDE_ATTACKS=all`` (about 5 minutes more here)."""
    attack = ATTACKS[name]
    if os.environ.get("NDE_ATTACKS") == "all":
        return NOTEBOOKS
    if attack.notebooks:
        return sorted(set(attack.notebooks))
    named = [n for n in NOTEBOOKS if f"{n}.ipynb" in attack.files]
    others = [n for n in NOTEBOOKS if n != "02_gradient_descent"]
    return sorted({"02_gradient_descent", *(named or [others[index % len(others)]])})


SCOPE = {name: graded_notebooks(name, i) for i, name in enumerate(ATTACKS)}


def _writer(name: str):
    def write(folder: Path) -> None:
        write_attack(ATTACKS[name], folder, SCOPE[name])
    return write


@pytest.fixture(scope="module")
def graded():
    why = unavailable()
    if why:
        pytest.skip(f"grading refuses to start without its sandbox here: {why}")
    saved = autograde.NOTEBOOK_BUDGET_S
    autograde.NOTEBOOK_BUDGET_S = BUDGET_S
    try:
        victim = f"submitted/{VICTIM}/{ASSIGNMENT}"
        return run_trial(
            {_student(name): _writer(name) for name in ATTACKS},
            keep=frozenset(_student(name) for name in ATTACKS),
            feedback=frozenset(_student(name) for name in ("feedback_links_and_html", "grader_environment")),
            course_files={f"{victim}/canary.png": canary_png(), f"{victim}/secret.txt": CANARY.encode()},
            env={"NDE_ATTACK_CANARY": CANARY},
        )
    finally:
        autograde.NOTEBOOK_BUDGET_S = saved


def _test_cells(notebook: str) -> dict[str, float]:
    nb = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if is_grade(c) and not is_solution(c) and c.cell_type == "code"}


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(json.dumps(out))
    return "\n".join(parts)


def test_the_catalog_covers_every_route():
    assert len(ATTACKS) >= 12
    assert set().union(*map(set, SCOPE.values())) == set(NOTEBOOKS), "a notebook that no attack is graded on"
    routes = " ".join(a.route for a in ATTACKS.values())
    for route in ("%config", "get_ipython()", "event hook", "exception handler", "input transformer", "shadowed",
                  "profiles", "startup files", "user site", "shaped like the harness's reply", "token",
                  "nbgrader's log", "environment", "time budget", "too large", "another student's folder",
                  "scripts and event handlers", "metadata"):
        assert route in routes, f"no attack takes the route: {route}"


@pytest.mark.parametrize("name", list(ATTACKS), ids=str)
def test_an_attack_scores_zero_and_reaches_nothing(graded, name):
    student = _student(name)
    cells, outcome = graded.cells[student], graded.outcomes[student]
    ran = set(SCOPE[name]) - {n for n in NOTEBOOKS if f"{n}.ipynb" in ATTACKS[name].files}
    assert set(outcome.notebook_seconds) == ran, f"{name}: graded {sorted(outcome.notebook_seconds)}, not {sorted(ran)}"
    for notebook in SCOPE[name]:
        for grade_id, points in _test_cells(notebook).items():
            assert grade_id in cells, f"{name}: {notebook}, {grade_id} has no grade: {outcome.problems}"
            score, _ = cells[grade_id]
            assert score == 0, f"{name}: {notebook}, {grade_id} scored {score} of {points} without an answer"
    assert not any(p.startswith("INJECTED-BY-KERNEL") for p in outcome.problems), outcome.problems
    for notebook, nb in graded.autograded[student].items():
        assert CANARY not in _outputs_text(nb), f"{name}: {notebook}'s outputs hold the grader's planted value"
    for notebook, page in graded.feedback.get(student, {}).items():
        _assert_safe_page(page, f"{name}: the feedback page of {notebook}")
    assert max(outcome.notebook_seconds.values()) < BUDGET_S + 20, outcome.notebook_seconds
    EVIDENCE.get(name, lambda *_: None)(graded, student)


# --- what each attack leaves behind ---------------------------------------------------


def _reasons(graded, student: str) -> str:
    return " | ".join(graded.outcomes[student].problems)


def _forged_replies_rejected(graded, student):
    assert "BadReply" in _reasons(graded, student), _reasons(graded, student)


def _forged_harness_judged(graded, student):
    reasons = _reasons(graded, student)
    # the student's harness answered (its replies carried the token): the checks judged its made-up results
    assert "BadReply: the kernel sent" not in reasons and "raised NotImplementedError" not in reasons, reasons
    assert "sent back" in reasons or "AssertionError" in reasons, reasons


def _log_writes_kept_out(graded, student):
    text = "\n".join(_outputs_text(nb) for nb in graded.autograded[student].values())
    written = re.findall(r"the kernel wrote to descriptors \[([0-9, ]*)\]", text)
    assert written and any(w.strip() for w in written), "the attack wrote nowhere: it proves nothing"
    assert not any("INJECTED-BY-KERNEL" in p and not p.startswith(tuple(NOTEBOOKS)) for p in graded.outcomes[student].problems)


def _environment_clean(graded, student):
    seen = None
    for nb in graded.autograded[student].values():
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                for line in str(out.get("text", "")).splitlines():
                    if line.startswith("GRADER-ENVIRONMENT "):
                        seen = json.loads(line[len("GRADER-ENVIRONMENT "):])
                        break
    assert seen is not None, "the attack printed nothing: it proves nothing"
    assert CANARY not in json.dumps(seen)
    assert set(seen["environ"]) <= ALLOWED_ENV, sorted(set(seen["environ"]) - ALLOWED_ENV)
    home = os.path.dirname(seen["environ"]["IPYTHONDIR"])
    for path in seen["home"]:
        rel = os.path.relpath(path, home)
        assert rel.startswith((".config/matplotlib/", ".ipython/")), f"the kernel's home holds {rel}"
    base = os.path.dirname(home)
    read_only = tuple(p.rstrip("/") + "/" for p in ("/usr", "/lib", sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix)))
    for fd, target in seen["fds"].items():  # its own pipes, sockets, folder and output, files of the environment
        own_output = re.fullmatch(r"/.*/nde-k[^/]+/kernel-output\.log", target)  # given it as stdout, not in its file system
        assert own_output or target.startswith(("pipe:", "socket:", "anon_inode:", "/dev/null", base + "/", *read_only)), (
            f"descriptor {fd} of the kernel is {target}, not its own")
    for what, text in seen["proc"].items():
        assert "nbgrader" not in text, f"the kernel reads a grader's process, {what}: {text[:200]}"


def _budget_kept(graded, student):
    outcome = graded.outcomes[student]
    assert any(p.startswith(f"02_gradient_descent: stopped after {BUDGET_S} s") for p in outcome.problems), outcome.problems
    assert outcome.notebook_seconds["02_gradient_descent"] >= BUDGET_S - 1, outcome.notebook_seconds


def _oversized_refused(graded, student):
    reasons = _reasons(graded, student)
    for said in ("weights.bin", "03_network.ipynb is 3072 MB", "sketch.png (an image of 10.0 MB: too large)"):
        assert said in reasons, f"{said!r} not in {reasons}"


def _links_refused(graded, student):
    victim = base64.b64encode(canary_png()).decode()
    for notebook, page in graded.feedback[student].items():
        assert victim not in page, f"the feedback page of {notebook} holds another student's file"
    assert any("not shown" in page for page in graded.feedback[student].values()), "no refused image is noted"


EVIDENCE = {
    "forged_reply_display": _forged_replies_rejected,
    "forged_harness": _forged_harness_judged,
    "kernel_log_writes": _log_writes_kept_out,
    "grader_environment": _environment_clean,
    "budget_stretch": _budget_kept,
    "oversized_files": _oversized_refused,
    "feedback_links_and_html": _links_refused,
}


class _Scan(HTMLParser):
    """Scripts, event handlers, script URLs and frames of a page."""

    def __init__(self):
        super().__init__()
        self.found, self._in_script = [], False
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("iframe", "object", "embed"):
            self.found.append(f"<{tag}>")
        self._in_script = tag == "script"
        for key, value in attrs:
            if key.lower().startswith("on"):
                self.found.append(f"<{tag} {key}=...>")
            if key.lower() in ("href", "src") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {key}=javascript:...>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _assert_safe_page(page: str, what: str) -> None:
    scan = _Scan()
    scan.feed(page)
    assert not scan.found, f"{what} holds {scan.found[:5]}"
    assert not any(XSS in s for s in scan.scripts), f"{what} runs a script of the submission"
    assert CANARY not in page, f"{what} holds the grader's planted value"


# --- the control: the same submissions where outputs decide ----------------------------


CONTROLLED = [name for name, attack in ATTACKS.items() if attack.control]
CONTROL_NOTEBOOK = "02_gradient_descent"


def _stock_points(folder: Path, notebook: str) -> float:
    """Run ``notebook`` of ``folder`` as a plain nbgrader does (a kernel with the student's
    folder as its home and working folder, the release's visible tests) and score its test
    cells as nbgrader's SaveAutoGrades does, from their outputs."""
    from nbclient import NotebookClient

    path = folder / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IPYTHON", "JUPYTER", "PYTHONNOUSERSITE", "MPLCONFIG"))}
    env.update(HOME=str(folder), NDE_HEADLESS="1")
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute(env=env, cwd=str(folder))
    source = {c.id: c for c in nbformat.read(ROOT / "source" / ASSIGNMENT / path.name, as_version=4).cells}
    points = 0.0
    for cell in nb.cells:
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell) and cell.id in source:
            points += determine_grade(cell)[0] or 0.0
    return points


@pytest.fixture(scope="module")
def stock_control(tmp_path_factory):
    """What the untouched release earns where outputs decide: its test cells that hold no
    visible assert (the release strips their hidden tests) pass there, the others fail."""
    untouched = tmp_path_factory.mktemp("untouched")
    shutil.copy(ROOT / "release" / ASSIGNMENT / f"{CONTROL_NOTEBOOK}.ipynb", untouched)
    return _stock_points(untouched, CONTROL_NOTEBOOK)


@pytest.mark.parametrize("name", CONTROLLED, ids=str)
def test_the_attack_earns_points_where_outputs_decide(tmp_path, stock_control, name):
    folder = tmp_path / name
    folder.mkdir()
    write_attack(ATTACKS[name], folder, [CONTROL_NOTEBOOK])
    total = sum(_test_cells(CONTROL_NOTEBOOK).values())
    assert stock_control < total, "the untouched release earns every point where outputs decide: the control is broken"
    earned = _stock_points(folder, CONTROL_NOTEBOOK)
    assert earned > stock_control, (
        f"{name} earns {earned:g} where outputs decide, no more than the untouched release ({stock_control:g}): "
        "the attack is broken and proves nothing")
