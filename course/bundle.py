"""Write the student bundle: everything students receive, and nothing else.

    python -m course bundle [--out dist/student-bundle] [--zip]

The bundle holds the release notebooks (no answers, no hidden tests, no outputs), the
course's figures, the students' library ``nde_student`` as a small project of its own,
the students' JupyterLab settings as another (``nde-student-lab``: nbgrader's instructor
tools off, the Validate button answered by the self-check), its pinned requirements and
a README for students. It holds no answer, no hidden test,
no check and no reference implementation in any form: the grading library
``nde_grader`` and this repository's ``source/`` stay with the instructor
(tests/test_bundle.py scans every file of a fresh bundle for them, and runs the release
in a fresh environment made from the bundle alone).

Layout (the notebooks keep their depth, so that ``../../images/x.svg`` still works):

    README.md  requirements.txt  MANIFEST.txt
    nde-student/pyproject.toml  nde-student/nde_student/*.py
    nde-student-lab/pyproject.toml  nde-student-lab/<Jupyter's settings>/*.json
    release/<assignment>/*.ipynb
    images/*.svg
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nbformat

from . import ROOT, CourseError

STUDENT = ROOT / "student"
LIBRARY = "nde-student"
LAB = "nde-student-lab"  # the students' JupyterLab settings, from student/lab/
MANIFEST = "MANIFEST.txt"


def _clean_notebook(path: Path) -> str:
    """A release notebook with no outputs and no execution counts (a student's copy starts clean)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    text = nbformat.writes(nb) + "\n"
    if "BEGIN SOLUTION" in text or "BEGIN HIDDEN TESTS" in text:
        raise CourseError(f"{path.relative_to(ROOT)} holds solution or hidden-test markers: run `python -m course regenerate`")
    return text


def files() -> dict[str, bytes]:
    """bundle path -> content of every file of the bundle."""
    out: dict[str, bytes] = {"README.md": (STUDENT / "README.md").read_bytes()}
    requirements = (STUDENT / "requirements.txt").read_text(encoding="utf-8")
    out["requirements.txt"] = (requirements.rstrip("\n") + f"\n# the course's helpers for students\n./{LIBRARY}\n"
                               f"# the students' JupyterLab: no instructor tools, the course's Validate\n./{LAB}\n").encode()
    out[f"{LIBRARY}/pyproject.toml"] = (STUDENT / "pyproject.toml").read_bytes()
    for path in sorted((STUDENT / "nde_student").glob("*.py")):
        out[f"{LIBRARY}/nde_student/{path.name}"] = path.read_bytes()
    lab = STUDENT / "lab"
    for path in [lab / "pyproject.toml", *sorted([*lab.glob("*.d/*.json"), *lab.glob("*/*.d/*.json")])]:
        out[f"{LAB}/{path.relative_to(lab).as_posix()}"] = path.read_bytes()
    for path in sorted((ROOT / "release").glob("*/*.ipynb")):
        out[path.relative_to(ROOT).as_posix()] = _clean_notebook(path).encode()
    for path in sorted((ROOT / "images").glob("*.svg")):
        out[f"images/{path.name}"] = path.read_bytes()
    return out


def write_bundle(out: Path) -> list[str]:
    """Write the bundle into ``out`` (replacing an earlier bundle there); return its files."""
    out = out.resolve()
    if out == ROOT or out in ROOT.parents or (out.is_relative_to(ROOT) and out.parts[len(ROOT.parts)] != "dist"):
        raise CourseError(f"write the bundle outside the course's own folders (under dist/ or elsewhere), not {out}")
    if out.exists():
        if any(out.iterdir()) and not (out / MANIFEST).exists():
            raise CourseError(f"{out} exists and is not a student bundle: choose another --out")
        shutil.rmtree(out)
    content = files()
    for rel, data in content.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    manifest = "".join(f"{hashlib.sha256(data).hexdigest()}  {rel}\n" for rel, data in sorted(content.items()))
    (out / MANIFEST).write_text(manifest, encoding="utf-8")
    return sorted([*content, MANIFEST])


def main(out: str, make_zip: bool = False) -> int:
    target = Path(out)
    written = write_bundle(target)
    print(f"wrote {len(written)} files to {target}/ (see {target}/README.md)")
    if make_zip:
        archive = shutil.make_archive(str(target), "zip", root_dir=target)
        print(f"wrote {archive}")
    return 0
