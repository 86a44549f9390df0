"""What of a student's folder the grader takes, and what the student did to the cells.

Before grading, every submitted notebook is checked against the release: a file that is
empty or not a notebook is left out (it stays in submitted/; the notebook scores 0); a
missing or renamed notebook, deleted, edited, copied or reordered cells are reported.
nbgrader itself puts back locked test cells (and deleted ones), so what a student did
to a test never earns points.

nbgrader reads only a vetted copy of each submission: the assignment's notebooks (at
most MAX_NOTEBOOK_BYTES each), the files of nbgrader's exchange and images for the
feedback (limited in size); every other file is left out and named in the report, and a
grading kernel sees the student's notebooks only (nde_grader/execute.py). The copy is
written by ``stage``; submitted/ is never modified.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nde_grader.cells import grade_id
from nde_grader.kernel.sandbox import MAX_NOTEBOOK_BYTES

from .text import printable

MAX_IMAGE_BYTES = 5 * 2**20
"""The largest image of a submission kept for the feedback (a written answer's sketch)."""
MAX_KEPT_BYTES = 50 * 2**20
"""All the images of a submission kept for the feedback, together."""
MAX_ENTRIES = 2000
"""Files and folders of a submission looked at; beyond, the rest is left out unread."""
IMAGES = (".png", ".jpg", ".jpeg", ".gif", ".svg")
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")
"""What nbgrader's ``submit`` puts beside the notebooks: the time (late penalties) and the
secret that ``release_feedback`` files the student's feedback under."""


def _ids(nb) -> list[str]:
    from nbgrader.utils import is_grade, is_locked, is_solution  # importing nbgrader takes seconds: only when needed

    return [grade_id(c) for c in nb.cells if grade_id(c) and (is_grade(c) or is_solution(c) or is_locked(c))]


def _read(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook at ``path`` (at most MAX_NOTEBOOK_BYTES), or None and why it cannot be graded."""
    text = path.read_bytes()
    if not text.strip():
        return None, f"{path.name} is an empty file: not graded, 0 points"
    try:
        json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"{path.name} is not valid JSON ({exc}): not graded, 0 points"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # repeated cell ids: repaired and reported below
            nb = nbformat.reads(text.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 (any reason a notebook cannot be read is the student's)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"{path.name} is not a Jupyter notebook ({first[:120]}): not graded, 0 points"
    return nb, ""


@dataclass
class Files:
    """What of a student's folder the grader takes (paths relative to it) and what it leaves out."""

    notebooks: list[str] = field(default_factory=list)
    """The .ipynb files at the top of the folder (the assignment's, and any renamed copy)."""
    kept: list[str] = field(default_factory=list)
    """nbgrader's EXCHANGE_FILES and images, for the late penalty and the feedback."""
    left_out: list[str] = field(default_factory=list)
    """Why each other thing was left out, one phrase each."""
    too_large: dict[str, int] = field(default_factory=dict)
    """Notebooks over MAX_NOTEBOOK_BYTES (never read) -> their size."""

    def report(self) -> list[str]:
        """The problem line naming what was left out ([] when nothing was)."""
        if not self.left_out:
            return []
        shown = ", ".join(printable(w, 80) for w in self.left_out[:6])
        more = f" and {len(self.left_out) - 6} more" if len(self.left_out) > 6 else ""
        return [f"left out, never given to a grading kernel: {shown}{more}"]


def submission_files(folder: Path) -> Files:
    """Sort a student's folder into what the grader takes and what it leaves out, without
    reading any file: notebooks at its top (at most MAX_NOTEBOOK_BYTES each; one over the
    limit scores 0, with the reason, when graded), nbgrader's EXCHANGE_FILES, images (at most
    MAX_IMAGE_BYTES each, MAX_KEPT_BYTES in all); not links, not special files, not
    ``.ipynb_checkpoints``; at most MAX_ENTRIES entries looked at."""
    files, seen, kept_bytes = Files(), 0, 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != ".ipynb_checkpoints")
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            seen += 1
            if seen > MAX_ENTRIES:
                files.left_out.append(f"everything after the first {MAX_ENTRIES} files")
                return files
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink() or not path.is_file():
                files.left_out.append(f"{rel} (not a regular file)")
            elif "/" not in rel and name.endswith(".ipynb"):
                size = path.stat().st_size
                if size > MAX_NOTEBOOK_BYTES:
                    files.too_large[rel] = size
                else:
                    files.notebooks.append(rel)
            elif rel in EXCHANGE_FILES and path.stat().st_size <= 1024:
                files.kept.append(rel)
            elif name.lower().endswith(IMAGES):
                size = path.stat().st_size
                if size > MAX_IMAGE_BYTES or kept_bytes + size > MAX_KEPT_BYTES:
                    files.left_out.append(f"{rel} (an image of {size / 2**20:.1f} MB: too large)")
                else:
                    kept_bytes += size
                    files.kept.append(rel)
            else:
                files.left_out.append(rel)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return files


def _sanitize(nb, release, name: str, problems: list[str]) -> None:
    """Report what a student changed in the cells nbgrader relies on; repair, in ``nb`` (the
    copy that is graded), what would make nbgrader give up on the notebook: grading
    settings changed or made up, repeated grade ids or cell ids."""
    from nbgrader.utils import is_locked

    released = {grade_id(c): c.metadata["nbgrader"] for c in release.cells if grade_id(c)}
    foreign, restored = [], []
    for cell in nb.cells:  # what marks a cell as graded, and how, is the release's
        if "nbgrader" not in cell.metadata:
            continue
        meta = cell.metadata["nbgrader"]
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(gid, str) or gid not in released:
            del cell.metadata["nbgrader"]
            foreign.append(printable(repr(gid), 40))
        elif meta != released[gid]:
            cell.metadata["nbgrader"] = copy.deepcopy(released[gid])
            restored.append(repr(gid))
    if foreign:
        problems.append(f"{name}: cells {', '.join(foreign)} are not graded cells of the assignment: run as ordinary cells")
    if restored:
        problems.append(f"{name}: the grading settings of cells {', '.join(dict.fromkeys(restored))} were changed: "
                        "put back as released")
    ids = _ids(nb)
    for gid in sorted({g for g in ids if ids.count(g) > 1}):
        problems.append(f"{name}: cell '{gid}' appears {ids.count(gid)} times (copied?): only the last copy is graded")
        copies = [c for c in nb.cells if grade_id(c) == gid]
        for cell in copies[:-1]:
            del cell.metadata["nbgrader"]  # a plain cell now; nbgrader's own repair would abort the student
            cell.metadata.pop("deletable", None), cell.metadata.pop("editable", None)
    seen = set()
    for i, cell in enumerate(nb.cells):
        if cell.get("id") in seen:
            cell.id = f"{cell.id}-copy{i}"
        seen.add(cell.get("id"))
    expected = _ids(release)
    got = [g for g in dict.fromkeys(reversed(_ids(nb)))][::-1]
    missing = [g for g in expected if g not in got]
    if missing:
        problems.append(f"{name}: cells {', '.join(repr(g) for g in missing)} were deleted: test cells are put back and graded")
    order = [g for g in got if g in expected]
    want = [g for g in expected if g in order]
    if order != want:
        bad = next(i for i, (a, b) in enumerate(zip(order, want)) if a != b)
        problems.append(f"{name}: cells out of order: '{order[bad]}' comes before '{want[bad]}'; graded as submitted")
    locked = {grade_id(c): c.source for c in release.cells if grade_id(c) and is_locked(c)}
    edited = [grade_id(c) for c in nb.cells if grade_id(c) in locked and c.source.strip() != locked[grade_id(c)].strip()]
    if edited:
        problems.append(f"{name}: locked cells {', '.join(repr(g) for g in edited)} were edited: graded with the originals")


def check_submission(course: Path, student: str, assignment: str, names: list[str], problems: list[str],
           given: Files | None = None) -> tuple[dict, Files]:
    """(name -> the notebook to grade, None: leave it out; what of the folder is taken).
    Every notebook of ``names`` that the student handed in is in the first. ``given``: what
    was left out before the folder reached here (course/engine.py sends only what is taken)."""
    folder = course / "submitted" / student / assignment
    files = submission_files(folder)
    if given is not None:
        files.left_out[:0] = given.left_out
        files.too_large.update(given.too_large)
    problems.extend(files.report())
    staged: dict[str, nbformat.NotebookNode | None] = {}
    unknown = [n for n in files.notebooks if n[: -len(".ipynb")] not in names]
    for name in names:
        path = folder / f"{name}.ipynb"
        if f"{name}.ipynb" in files.too_large:
            size = files.too_large[f"{name}.ipynb"]
            problems.append(f"{name}.ipynb is {size / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB a notebook "
                            "may be: not graded, 0 points")
            staged[name] = None
            continue
        if f"{name}.ipynb" not in files.notebooks:
            hint = f" (found {', '.join(printable(u, 80) for u in unknown)}: renamed? give it its name back to grade it)" if unknown else ""
            problems.append(f"{name}.ipynb is missing: 0 points{hint}")
            continue
        nb, why = _read(path)
        staged[name] = nb
        if nb is None:
            problems.append(why)
            continue
        release_path = course / "release" / assignment / path.name
        if release_path.exists():
            _sanitize(nb, nbformat.read(release_path, as_version=4), path.name, problems)
    if unknown and all(f"{n}.ipynb" in files.notebooks for n in names):
        problems.append(f"not graded (not part of {assignment}): {', '.join(printable(u, 80) for u in unknown)}")
    return staged, files


def stage(course: Path, student: str, assignment: str, staged: dict, files: Files, where: Path) -> None:
    """Write what nbgrader grades to ``where``/<student>/<assignment>: the ``staged``
    notebooks and the kept files, nothing else of the student's folder."""
    source, dest = course / "submitted" / student / assignment, where / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for rel in files.kept:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, dest / rel)
    for name, nb in staged.items():
        if nb is not None:
            nbformat.write(nb, dest / f"{name}.ipynb")
