"""The pipeline MyST -> source -> reference module -> release -> examples holds together."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.config import load_jupytext_config
from jupytext.paired_paths import paired_paths
from nbgrader.utils import is_grade, is_solution

from course import ASSIGNMENT, ROOT
from course.build import markdown_sources, passed_line
from nde_grader.reference_build import answer_code
from nde_student.earlier import definitions_only

from .conftest import notebook_paths

MARKERS = re.compile(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)")


@pytest.mark.slow
def test_regeneration_leaves_no_diff():
    """A fresh build from the MyST files equals what is committed."""
    from course.build import regenerate

    assert regenerate(check=True) == [], "run `python -m course regenerate` and commit the result"


def test_every_myst_file_is_paired_with_its_source_notebook():
    for md in markdown_sources():
        formats = load_jupytext_config(str(md)).default_formats(str(md))
        pairs = {Path(p).resolve() for p, _ in paired_paths(str(md), "md:myst", formats)}
        assert ROOT / "source" / md.parent.name / f"{md.stem}.ipynb" in pairs, md
        # and the pair is in sync: same cells, same sources
        text_nb = jupytext.read(md)
        ipynb = nbformat.read(ROOT / "source" / md.parent.name / f"{md.stem}.ipynb", as_version=4)
        assert [c.source for c in text_nb.cells] == [c.source for c in ipynb.cells], md


def test_student_copies_are_never_paired():
    """jupytext must not sync answers from the MyST files into a student's copy."""
    for nb_path in notebook_paths("release") + notebook_paths("submitted/solutions"):
        assert load_jupytext_config(str(nb_path)).default_formats(str(nb_path)) is None, nb_path
        assert "jupytext" not in nbformat.read(nb_path, as_version=4).metadata, nb_path


def test_there_is_a_release_for_every_source_notebook():
    assert [p.name for p in notebook_paths("source")] == [p.name for p in notebook_paths("release")]
    assert len(notebook_paths("source")) >= 1


@pytest.mark.parametrize("release", notebook_paths("release"), ids=lambda p: p.stem)
def test_release_has_no_answers_or_hidden_tests_and_keeps_visible_tests(release):
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / release.name, as_version=4)
    student = nbformat.read(release, as_version=4)
    text = release.read_text()
    assert not MARKERS.search(text), "solution or hidden-test markers in the release"
    by_id = {c.id: c for c in student.cells}
    for cell in source.cells:
        if is_solution(cell) and cell.cell_type == "code":
            answer = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S).group(1)
            assert answer.strip() not in by_id[cell.id].source, f"answer of {cell.id} leaked"
            assert "raise NotImplementedError()" in by_id[cell.id].source
        elif is_solution(cell):
            assert by_id[cell.id].source.strip() == "YOUR ANSWER HERE", f"model answer of {cell.id} leaked"
        elif is_grade(cell):
            visible, _, hidden = cell.source.partition("### BEGIN HIDDEN TESTS")
            passed = passed_line(visible)  # the release's one addition: the line printed when they pass
            assert by_id[cell.id].source.strip() == visible.strip() + (f"\n{passed}" if passed else ""), \
                f"visible tests of {cell.id} changed"
            hidden_code = hidden.partition("### END HIDDEN TESTS")[0].strip()
            if hidden_code:
                assert hidden_code not in text
            assert by_id[cell.id].source.lstrip().startswith('"""'), f"test cell {cell.id} needs a docstring"


def test_example_submissions_are_the_release_filled_with_answers():
    for release in notebook_paths("release"):
        source = nbformat.read(ROOT / "source" / ASSIGNMENT / release.name, as_version=4)
        filled = nbformat.read(ROOT / "submitted" / "solutions" / ASSIGNMENT / release.name, as_version=4)
        untouched = nbformat.read(ROOT / "submitted" / "untouched" / ASSIGNMENT / release.name, as_version=4)
        assert untouched == nbformat.read(release, as_version=4)
        answers = {c.id: answer_code(c.source) for c in source.cells if is_solution(c)}
        for cell in filled.cells:
            if cell.id in answers:
                assert cell.source == answers[cell.id]


def test_the_reference_package_holds_the_exported_cells():
    """Every function and class of a notebook's cells tagged export is in its module, as
    written there (the from_notebook lines become imports of the sibling modules)."""
    import ast

    from nde_grader.reference_build import notebook_key

    package = ROOT / "nde_grader" / "reference"
    for md in markdown_sources():
        nb = jupytext.read(md)
        cells = [c for c in nb.cells if "export" in c.metadata.get("tags", [])]
        if not cells:
            continue
        text = (package / f"{notebook_key(md.stem)}.py").read_text()
        assert not MARKERS.search(text)
        for cell in cells:
            code = definitions_only(answer_code(cell.source))
            lines = code.splitlines()
            for node in ast.parse(code).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    block = "\n".join(lines[node.lineno - 1 : node.end_lineno])
                    assert block in text, f"{md.name}: {node.name} is missing from the reference package"
    import nde_grader.reference as reference

    for name, module in reference.WHERE.items():  # every name loads, from its own module
        assert getattr(reference, name).__module__ == f"nde_grader.reference.{module}"


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture
def course_copy(tmp_path):
    """A copy of the course that `python -m course` run inside it regenerates."""
    for name in ("course", "nde_grader", "student", "notebooks", "source", "release", "submitted", "images"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "runs"))
    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    for name in ("nbgrader_config.py", "jupytext.toml"):
        shutil.copy(ROOT / name, tmp_path)
    return tmp_path


def _regenerate(course: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course", "regenerate"], cwd=course, capture_output=True, text=True)


@pytest.mark.slow
def test_regeneration_in_a_copy_changes_nothing(course_copy):
    before = _snapshot(course_copy)
    done = _regenerate(course_copy)
    assert done.returncode == 0, done.stderr
    assert "Nothing to regenerate" in done.stdout
    assert _snapshot(course_copy) == before


@pytest.mark.slow
def test_myst_file_that_does_not_parse_stops_everything(course_copy):
    md = sorted((course_copy / "notebooks" / ASSIGNMENT).glob("*.md"))[-1]
    md.write_text(md.read_text().replace("grade_id:", "grade_id: [unclosed", 1))
    before = _snapshot(course_copy)
    done = _regenerate(course_copy)
    assert done.returncode == 2
    assert md.name in done.stderr and "does not parse" in done.stderr
    assert _snapshot(course_copy) == before, "a failed regeneration must leave every file as it was"


@pytest.mark.slow
def test_notebook_without_its_myst_pair_stops_everything(course_copy):
    orphan = course_copy / "source" / ASSIGNMENT / "99_orphan.ipynb"
    shutil.copy(next((course_copy / "source" / ASSIGNMENT).glob("*.ipynb")), orphan)
    before = _snapshot(course_copy)
    done = _regenerate(course_copy)
    assert done.returncode == 2
    assert "99_orphan.ipynb has no MyST pair" in done.stderr
    assert _snapshot(course_copy) == before


@pytest.mark.slow
def test_an_edited_myst_file_is_propagated_everywhere(course_copy):
    md = course_copy / "notebooks" / ASSIGNMENT / "02_gradient_descent.md"
    md.write_text(md.read_text().replace("# Gradient descent on a single parameter", "# Gradient descent, edited"))
    done = _regenerate(course_copy)
    assert done.returncode == 0, done.stderr
    for tree in ("source", "release", "submitted/solutions", "submitted/untouched", "submitted/wrong"):
        assert "Gradient descent, edited" in (course_copy / tree / ASSIGNMENT / "02_gradient_descent.ipynb").read_text()
