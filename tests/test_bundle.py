"""The student bundle holds what students need and nothing of the answers.

- ``python -m course bundle`` writes it; every file is scanned for every line of every
  solution region (code answers and model answers), every hidden-test block, every
  check module, the grading harness and the reference module: none may appear, in any
  form (no bytecode, wheel or archive, no notebook output);
- JupyterLab with the settings the bundle installs shows students no instructor tool
  (formgrader, Create Assignment, Course List), and its Validate button answers with the
  self-check's verdict, exercise by exercise;
- in a fresh virtual environment made from the bundle alone, run in the grading sandbox
  (which shows it the bundle and that environment, and nothing of this repository):
  each release notebook, next to the notebooks before it answered with the course's
  answers (as a student has them who reached it), stops only in the cells of its own
  unanswered exercises; with the course's answers written into every answer cell, the
  bundle's self-check passes every visible test.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_solution

from course import ASSIGNMENT, ROOT
from course.bundle import write_bundle
from course.examples import fill_answers
from nde_grader.kernel.sandbox import SYSTEM, Sandbox, unavailable

from .conftest import IDIOMS, distinctive

pytestmark = pytest.mark.slow
MARKED = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


def secret_lines() -> dict[str, str]:
    """line -> where it comes from, for everything that must stay with the instructor: the
    answers and model answers, the hidden tests, the checks and the grading harness (the
    reference module is made of the notebooks' export cells: its answers are the
    solution regions, the rest is teaching code that students see)."""
    out: dict[str, str] = {}
    for path in sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            blocks = [m.group(2) for m in MARKED.finditer(cell.source)]
            if is_solution(cell) and cell.cell_type == "markdown":
                blocks.append(cell.source)  # a model answer
            for block in blocks:
                out.update({line.strip(): f"{path.name}, cell {cell.id}" for line in block.splitlines()
                            if distinctive(line)})
    for path in sorted([*(ROOT / "nde_grader" / "checks").glob("*.py"), *(ROOT / "nde_grader" / "harness").glob("*.py")]):
        out.update({line.strip(): str(path.relative_to(ROOT)) for line in path.read_text().splitlines()
                    if distinctive(line)})
    return out


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "student-bundle"
    write_bundle(out)
    return out


def test_the_bundle_holds_the_release_the_figures_and_the_students_library(bundle):
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    for path in (ROOT / "release" / ASSIGNMENT).glob("*.ipynb"):
        assert f"release/{ASSIGNMENT}/{path.name}" in files
    for path in (ROOT / "images").glob("*.svg"):
        assert f"images/{path.name}" in files
    assert {"README.md", "requirements.txt", "MANIFEST.txt", "nde-student/pyproject.toml",
            "nde-student/nde_student/earlier.py"} <= files
    assert not [f for f in files if "nde_grader" in f or "course" in f.split("/")[0] or f.startswith("source")]


def scan(bundle: Path, secrets: dict[str, str]) -> list[str]:
    """Every line of a bundle file that is one of the instructor's lines, or a file that
    cannot be scanned (bytecode, archives, notebooks with outputs)."""
    leaks = []
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        rel = path.relative_to(bundle).as_posix()
        if path.suffix in (".pyc", ".pyo", ".whl", ".egg", ".zip", ".tar", ".gz", ".db", ".sqlite"):
            leaks.append(f"{rel}: no bytecode, package or archive belongs in the bundle")
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            nb = nbformat.reads(text, as_version=4)
            if any(c.get("outputs") for c in nb.cells):
                leaks.append(f"{rel} holds outputs")
            lines = [line for c in nb.cells for line in c.source.splitlines()]
        else:
            lines = text.splitlines()
        leaks += [f"{rel}: {line.strip()!r} (from {secrets[line.strip()]})" for line in lines if line.strip() in secrets]
    return leaks


def test_no_answer_hidden_test_or_check_is_in_the_bundle(bundle):
    secrets = secret_lines()
    assert len(secrets) > 500, "the scan would look for too little"
    assert 'check("trainer.trainer_accuracy")' in secrets  # a hidden-test line
    assert "Z_ref = np.random.default_rng(stream_ref).standard_normal((n_ref, 2))" in secrets  # an answer line
    assert len(IDIOMS) <= 5 and all(len(line) <= 30 for line in IDIOMS)
    leaks = scan(bundle, secrets)
    assert not leaks, "the bundle holds the instructor's lines:\n" + "\n".join(leaks[:20])


def test_the_scan_finds_what_leaks(bundle, tmp_path):
    """The scan is not blind: an answer line, a check's line and bytecode put into a copy
    of the bundle are each found."""
    import shutil

    secrets = secret_lines()
    copy = tmp_path / "leaky"
    shutil.copytree(bundle, copy)
    answer = next(s for s, where in secrets.items() if "05_trainer" in where and "randperm" in s)
    check = next(s for s, where in secrets.items() if where == "nde_grader/checks/dv_bound.py" and "logsumexp" in s.lower())
    with open(copy / "nde-student" / "nde_student" / "util.py", "a") as f:
        f.write(f"\n\ndef f():\n    {answer}\n    # {check}\n")
    (copy / "nde-student" / "nde_student" / "x.cpython-311.pyc").write_bytes(b"\0")
    leaks = "\n".join(scan(copy, secrets))
    assert answer in leaks and ".pyc" in leaks and "util.py" in leaks, leaks


# --- the students' JupyterLab ------------------------------------------------------------

INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"}


def test_the_students_jupyterlab_shows_no_instructor_tool(bundle, tmp_path, monkeypatch):
    """JupyterLab with the settings the bundle installs (its nde-student-lab, installed beside
    nbgrader's own settings, as `pip install -r requirements.txt` does): no formgrader,
    Create Assignment or Course List, in the page or on the server; the Assignment List and
    the Validate button stay, and Validate answers with the self-check's verdict."""
    from bs4 import BeautifulSoup

    from .browser_helpers import Lab

    prefix = tmp_path / "prefix"
    shutil.copytree(Path(sys.prefix) / "etc" / "jupyter", prefix / "etc" / "jupyter")  # nbgrader's nbgrader.json
    project = shutil.copytree(bundle / "nde-student-lab", tmp_path / "nde-student-lab")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-compile", "--prefix", str(prefix), str(project)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(prefix / "etc" / "jupyter"))
    root = tmp_path / "course" / "release" / ASSIGNMENT
    root.mkdir(parents=True)
    name = "02_gradient_descent.ipynb"
    shutil.copy(bundle / "release" / ASSIGNMENT / name, root)
    edited = nbformat.read(root / name, as_version=4)  # a student who changed a locked test cell
    locked = next(c for c in edited.cells if c.metadata.get("nbgrader", {}).get("locked") and c.cell_type == "code")
    locked.source += "\nassert True"
    nbformat.write(edited, root / "edited.ipynb")
    lab = Lab(root.parent.parent, tmp_path / "state", tmp_path / "lab.log")
    try:
        lab.wait_ready()

        def status(path: str, method: str = "GET") -> int:
            try:
                lab.api(path, method)
                return 200
            except urllib.error.HTTPError as exc:
                return exc.code

        page = urllib.request.urlopen(urllib.request.Request(f"{lab.base}/lab", headers={
            "Authorization": f"token {lab.token}"}), timeout=30).read()
        config = json.loads(BeautifulSoup(page, "html.parser").find("script", id="jupyter-config-data").string)
        assert "@jupyter/nbgrader" in {ext["name"] for ext in config["federated_extensions"]}
        assert INSTRUCTOR_PLUGINS <= set(config["disabledExtensions"]), config["disabledExtensions"]
        assert not {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment",
                    "@jupyter/nbgrader:menu"} & set(config["disabledExtensions"])
        assert status("/formgrader") == 404 and status("/formgraders") == 404, "an instructor's page is served"
        assert status("/assignments") != 404, "the Assignment List has no server"
        reply = lab.api(f"/assignments/validate?path=release/{ASSIGNMENT}/{name}", "POST")
        changed = lab.api(f"/assignments/validate?path=release/{ASSIGNMENT}/edited.ipynb", "POST")
    finally:
        lab.stop()
    assert reply["success"], reply
    failed = reply["value"]["failed"]
    assert [(f["source"], f["raw_error"].split("\n")[0]) for f in failed] == [
        ("Exercise 1 (written)", "MISSING: your answer is not given yet"),
        ("Exercise 2, `L`", "MISSING: not written yet (the cell raises NotImplementedError)"),
        ("Exercise 3, `descend`", "MISSING: not written yet (the cell raises NotImplementedError)"),
        ("Exercise 4 (written)", "MISSING: your answer is not given yet")], failed
    assert changed["value"] == {"changed": [{"source": locked.source.strip()}]}, changed  # as nbgrader says it
    assert failed[-1]["raw_error"].endswith(f"{name}: NOT YET: 0 visible tests passed, 0 failed, 4 answers missing")


# --- a fresh environment made from the bundle alone ----------------------------------------


@pytest.fixture(scope="module")
def student_machine(tmp_path_factory):
    """A sandbox whose folder holds the bundle and a virtual environment made from it."""
    why = unavailable()
    if why:
        pytest.skip(f"the bundle's run needs the sandbox to hide this repository: {why}")
    box = Sandbox()
    bundle = box.work / "student-bundle"
    write_bundle(bundle)
    venv = box.work / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile", "-r",
                           "requirements.txt"], cwd=bundle, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    box.visible = [*SYSTEM, sys.base_prefix, os.path.realpath(sys.base_prefix)]  # and its own folder
    try:
        yield box, bundle, venv
    finally:
        box.close()


def _validate(box: Sandbox, venv: Path, folder: Path, notebooks: list[Path]) -> subprocess.CompletedProcess:
    """The bundle's self-check, run inside the sandbox in ``folder``."""
    script = (f"import os, sys; os.chdir({str(folder)!r}); from nde_student.selfcheck import main; "
              f"sys.exit(main({[str(p) for p in notebooks]!r}))")
    argv = box.command([str(venv / "bin" / "python"), "-c", script])
    return subprocess.run(argv, capture_output=True, text=True, timeout=1200)


def _course_answers(release: Path) -> nbformat.NotebookNode:
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / release.name, as_version=4)
    return fill_answers(nbformat.read(release, as_version=4), source)


def test_the_release_runs_from_the_bundle_alone(student_machine):
    """The first notebook, and the last beside all the earlier ones answered (it reads their
    answers): unanswered, they stop only at their exercises.  Every release notebook is run
    so in JupyterLab by test_browser.py, and every notebook of the bundle, answered, below."""
    box, bundle, venv = student_machine
    release = sorted((bundle / "release" / ASSIGNMENT).glob("*.ipynb"))
    checked = []
    for path in (release[0], release[-1]):  # each beside the earlier ones, answered
        folder = box.work / f"progress-{path.stem[:2]}" / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / path.name).write_bytes(path.read_bytes())
        for earlier in release:
            if earlier.name < path.name:
                nbformat.write(_course_answers(earlier), folder / earlier.name)
        checked.append(folder / path.name)
    done = _validate(box, venv, box.work, checked)
    out = done.stdout
    assert done.returncode == 1, done.stdout + done.stderr
    problems = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert problems, out
    others = [p for p in problems if not p.startswith("MISSING")]  # an unanswered exercise: missing, once
    assert not others, "the release stops elsewhere than in its unanswered exercises:\n" + "\n".join(others)
    for path in checked:  # every notebook says what is missing
        assert f"{path.name}: NOT YET" in out, out


def test_the_course_answers_pass_the_bundles_self_check(student_machine):
    box, bundle, venv = student_machine
    folder = box.work / "answered" / ASSIGNMENT
    folder.mkdir(parents=True)
    release = sorted((bundle / "release" / ASSIGNMENT).glob("*.ipynb"))
    for path in release:
        nbformat.write(_course_answers(path), folder / path.name)
    done = _validate(box, venv, folder, [folder / p.name for p in release])
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "All visible tests pass" in done.stdout
