"""Regenerate everything that is made from the MyST sources, in one pass.

notebooks/<assignment>/<name>.md  (edited by people)
  -> source/<assignment>/<name>.ipynb   nbgrader source notebook (jupytext pair)
  -> nde_grader/reference/              the cells tagged ``export``, answers included
  -> release/<assignment>/<name>.ipynb  student copy (nbgrader generate_assignment)
  -> submitted/<student>/<assignment>/  example submissions (course/examples.py)

Everything is first built in a staging folder; the repository is touched only when
the whole build succeeded, so a broken MyST file leaves nothing half-written.
"""
from __future__ import annotations

import ast
import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat
from nbgrader.utils import compute_checksum, is_grade, is_solution

from nde_grader.cells import grade_id
from nde_grader.hidden import checks_in
from nde_grader.probe import check_exists
from nde_grader.reference_build import ExportError, notebook_key, reference_package

from . import ASSIGNMENT, NOTEBOOKS, ROOT, SOURCE, CourseError, tool_env
from . import examples

# Generated trees, relative to the repository root, compared and replaced as wholes.
GENERATED = ("source", "release", "submitted", "nde_grader/reference")


# What the kernel reports about its language when JupyterLab starts it (ipykernel's
# language_info): JupyterLab writes it into the open notebook, and a notebook whose copy
# differs shows as modified as soon as it is opened. The version is that of the course's
# environment (.venv); on another Python only that field differs.
PYTHON_VERSION = "3.11.7"
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py", "mimetype": "text/x-python",
    "name": "python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3", "version": PYTHON_VERSION,
}


def markdown_sources() -> list[Path]:
    """Every MyST file of the course, in lesson order (file names start with a number)."""
    return sorted(NOTEBOOKS.glob("*/*.md"))


def check_pairs() -> None:
    """Each source notebook must have the MyST file it is generated from."""
    for ipynb in sorted(SOURCE.glob("*/*.ipynb")):
        md = NOTEBOOKS / ipynb.parent.name / (ipynb.stem + ".md")
        if not md.exists():
            raise CourseError(
                f"{ipynb.relative_to(ROOT)} has no MyST pair {md.relative_to(ROOT)}: "
                "notebooks are edited as MyST files under notebooks/ (create the .md with "
                f"`jupytext --to md:myst {ipynb.relative_to(ROOT)}` and move it there)"
            )


def read_myst(md: Path) -> nbformat.NotebookNode:
    """Parse one MyST file into a normalised notebook, or say which file is wrong."""
    try:
        nb = jupytext.read(md, fmt="md:myst")
        nbformat.validate(nb)
    except Exception as exc:  # jupytext and nbformat raise many kinds
        raise CourseError(f"{md.relative_to(ROOT)} does not parse as a MyST notebook: {exc}") from exc
    seen = set()
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if gid in seen:
            raise CourseError(f"{md.relative_to(ROOT)}: grade_id {gid!r} is used twice")
        if gid:
            seen.add(gid)
        if cell.cell_type == "code":
            try:
                names = checks_in(cell.source) or []
                for name in names:
                    if name.partition(".")[0] != notebook_key(md.stem):
                        raise ValueError(f"check({name!r}) is not one of this notebook's: its checks are "
                                         f"check(\"{notebook_key(md.stem)}.<function>\") (nde_grader/reference_build.py)")
                    check_exists(name)
            except ValueError as exc:
                raise CourseError(f"{md.relative_to(ROOT)}, cell {gid or index}: hidden tests: {exc}") from exc
            if is_grade(cell) and not is_solution(cell) and not names:
                # the kernel decides visible asserts, and a student's kernel can make any of them pass
                raise CourseError(f"{md.relative_to(ROOT)}, test cell {gid}: no hidden check; every test cell names "
                                  "at least one check(\"module.name\") that the grader runs itself (CONTRIBUTING.md)")
        # Stable ids keep regeneration free of spurious diffs; a cell that other notebooks
        # link to names its id ("anchor": links read 01_problem.ipynb#cell-id=<anchor>,
        # which JupyterLab follows even into a notebook that is not open yet).
        anchor = cell.metadata.pop("anchor", None)
        if anchor is not None and (not re.fullmatch(r"[a-z0-9][a-z0-9-]*", anchor) or anchor in seen):
            raise CourseError(f"{md.relative_to(ROOT)}: the anchor {anchor!r} is not a lower-case-and-hyphens name, or is used twice")
        if anchor:
            seen.add(anchor)
        cell.id = anchor or gid or f"{md.stem[:2]}-{index:03d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = LANGUAGE_INFO
    return nb


PASSED = "✓ {rule} (visible tests passed; hidden tests run when graded)"
"""What a test cell of the release prints when its visible asserts pass: the first line of
its docstring, the rule it checks. The grader runs the source's cells, which lack it."""


def passed_text(source: str) -> str | None:
    """What a test cell of the release (``source`` without its hidden tests) prints when its
    visible asserts pass, or None for a cell with no visible test."""
    body = ast.parse(source).body
    doc = ast.get_docstring(ast.Module(body=body[:1], type_ignores=[])) if body else None
    if not doc or len(body) < 2:
        return None
    return PASSED.format(rule=re.sub(r"\s*\(hidden tests\)$", "", doc.strip().splitlines()[0].strip().rstrip(".")))


def passed_line(source: str) -> str | None:
    """The line that ends such a test cell in the release: it prints ``passed_text``."""
    text = passed_text(source)
    return None if text is None else f"print({text!r})"


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def nbgrader(args: list[str], cwd: Path) -> None:
    """Run an nbgrader command; its log is shown only when it fails."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True, env=tool_env())
    if done.returncode:
        raise CourseError(f"nbgrader {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def build(stage: Path) -> None:
    """Build every generated file under ``stage`` (laid out like the repository)."""
    check_pairs()
    sources = markdown_sources()
    if not sources:
        raise CourseError(f"no MyST notebooks under {NOTEBOOKS.relative_to(ROOT)}/")
    notebooks = {md: read_myst(md) for md in sources}

    for md, nb in notebooks.items():
        write_notebook(nb, stage / "source" / md.parent.name / (md.stem + ".ipynb"))

    (stage / "nde_grader" / "reference").mkdir(parents=True)
    try:
        package = reference_package({md.stem: nb for md, nb in notebooks.items()})
    except ExportError as exc:
        raise CourseError(str(exc)) from exc
    for name, text in package.items():
        (stage / "nde_grader" / "reference" / name).write_text(text, encoding="utf-8")

    shutil.copy(ROOT / "nbgrader_config.py", stage)
    for assignment in sorted({md.parent.name for md in sources}):
        nbgrader(["generate_assignment", assignment, "--force", "--log-level=WARN"], cwd=stage)
    for release_nb in (stage / "release").glob("*/*.ipynb"):
        nb = nbformat.read(release_nb, as_version=4)
        # No jupytext metadata: a student's copy must never be paired with a MyST file.
        nb.metadata.pop("jupytext", None)
        for cell in nb.cells:
            line = passed_line(cell.source) if is_grade(cell) and not is_solution(cell) else None
            if line:
                cell.source = f"{cell.source.rstrip()}\n{line}"
                cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)  # nbgrader's Validate compares it
        write_notebook(nb, release_nb)
    (stage / "gradebook.db").unlink()
    (stage / "nbgrader_config.py").unlink()

    examples.write_examples(stage, ASSIGNMENT)


def differences(stage: Path) -> list[str]:
    """Paths (relative to the root) where the repository differs from a fresh build."""
    out = []
    for name in GENERATED:
        new, old = stage / name, ROOT / name
        if new.is_file() or old.is_file():
            if not (new.is_file() and old.is_file() and filecmp.cmp(new, old, shallow=False)):
                out.append(name)
            continue
        new_files = {p.relative_to(new) for p in new.rglob("*") if p.is_file()} if new.exists() else set()
        old_files = {p.relative_to(old) for p in old.rglob("*") if p.is_file() and _tracked_kind(p)} if old.exists() else set()
        for rel in sorted(new_files | old_files):
            a, b = new / rel, old / rel
            if not (a.exists() and b.exists() and filecmp.cmp(a, b, shallow=False)):
                out.append(f"{name}/{rel}")
    return out


def _tracked_kind(path: Path) -> bool:
    """Files a student or JupyterLab may leave in a generated tree, and that are not ours."""
    return not any(part in {".ipynb_checkpoints", "runs", "__pycache__"} for part in path.parts)


def regenerate(check: bool = False) -> list[str]:
    """Rebuild all generated files.  With ``check``, change nothing and return what differs."""
    with tempfile.TemporaryDirectory(prefix="course-build-") as tmp:
        stage = Path(tmp)
        build(stage)
        changed = differences(stage)
        if check or not changed:
            return changed
        # Replace file by file: logs or checkpoints a user left beside them stay.
        for rel in changed:
            new, old = stage / rel, ROOT / rel
            if new.exists():
                old.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(new, old)
            else:
                old.unlink()
        return changed


def main(check: bool) -> int:
    changed = regenerate(check=check)
    if check:
        if changed:
            print("Out of date with the MyST sources (run `python -m course regenerate`):")
            print("\n".join(f"  {p}" for p in changed))
            return 1
        print("All generated files match the MyST sources.")
        return 0
    print("\n".join(f"regenerated {p}" for p in changed) or "Nothing to regenerate: all files were up to date.")
    return 0

