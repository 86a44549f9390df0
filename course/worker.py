"""One student's task on a Dask worker: what travels to it, and what it does there.

The coordinator (course/engine.py) reads each student's files (``read_submission``: only
what the grader takes, course/submission.py) and sends them with the course's ``Payload``;
``grade_submission`` builds a scratch course in a temporary folder, grades it with
course/autograde.py and returns a ``Result`` (grades, comments, problems and the graded
notebooks). Nothing is written outside the scratch folder.
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import ASSIGNMENT


# --- what travels -----------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """What every worker needs, sent once (scattered): the course without its students."""

    assignment: str
    config: str
    trees: dict  # "source" / "release" -> notebook name -> bytes
    gradebook: bytes  # a SQLite gradebook with the assignment recorded
    sandbox: bool
    env: dict


@dataclass(frozen=True)
class Submission:
    student: str
    files: dict  # path relative to the student's assignment folder -> bytes (what the grader takes)
    fingerprint: str
    left_out: tuple = ()  # what the grader left out of the folder, unread (course.submission.Files)
    too_large: tuple = ()  # (notebook, size) of the notebooks over the size limit, unread


@dataclass
class Result:
    student: str
    fingerprint: str
    seconds: float
    problems: list = field(default_factory=list)
    grades: dict = field(default_factory=dict)  # notebook -> grade id -> [auto score, needs manual grade]
    comments: dict = field(default_factory=dict)  # notebook -> grade id -> auto comment
    files: dict = field(default_factory=dict)  # path in the autograded folder -> bytes
    timestamp: str | None = None
    needs_review: str = ""
    worker: str = ""


def fingerprint(files: dict) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def read_submission(course: Path, student: str, assignment: str = ASSIGNMENT) -> Submission:
    """What of a student's folder travels to a worker: only the files the grader takes
    (``course.submission.submission_files``), each within its size limit; nothing else is read."""
    from .submission import submission_files

    folder = course / "submitted" / student / assignment
    found = submission_files(folder)
    files = {rel: (folder / rel).read_bytes() for rel in sorted(found.notebooks + found.kept)}
    return Submission(student, files, fingerprint(files), tuple(found.left_out), tuple(sorted(found.too_large.items())))


# --- on a worker ----------------------------------------------------------------------------


def grade_submission(payload: Payload, submission: Submission) -> Result:
    """Grade one student in a scratch course; write nothing outside it."""
    import socket

    from nbgrader.api import Gradebook, MissingEntry

    from .autograde import autograde
    from .submission import Files

    with tempfile.TemporaryDirectory(prefix="nde-task-") as tmp:
        course = Path(tmp)
        (course / "nbgrader_config.py").write_text(payload.config)
        (course / "gradebook.db").write_bytes(payload.gradebook)
        for tree, notebooks in payload.trees.items():
            folder = course / tree / payload.assignment
            folder.mkdir(parents=True)
            for name, data in notebooks.items():
                (folder / name).write_bytes(data)
        folder = course / "submitted" / submission.student / payload.assignment
        for rel, data in submission.files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        folder.mkdir(parents=True, exist_ok=True)
        given = Files(left_out=list(submission.left_out), too_large=dict(submission.too_large))
        (outcome,) = autograde(course, [submission.student], payload.assignment, env=payload.env,
                               sandbox=payload.sandbox, given={submission.student: given})
        result = Result(submission.student, submission.fingerprint, outcome.seconds, outcome.problems,
                        worker=_worker_name(socket.gethostname()))
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            for nb in gb.find_assignment(payload.assignment).notebooks:
                try:
                    sub = gb.find_submission_notebook(nb.name, payload.assignment, submission.student)
                except MissingEntry:
                    continue
                result.grades[nb.name] = {g.name: [g.auto_score, bool(g.needs_manual_grade)] for g in sub.grades}
                result.comments[nb.name] = {c.name: c.auto_comment for c in sub.comments}
            try:
                stamp = gb.find_submission(payload.assignment, submission.student).timestamp
                result.timestamp = stamp.isoformat() if stamp else None
            except MissingEntry:
                pass
        graded = course / "autograded" / submission.student / payload.assignment
        if graded.is_dir():
            result.files = {p.relative_to(graded).as_posix(): p.read_bytes() for p in graded.rglob("*") if p.is_file()}
        return result


def _worker_name(host: str) -> str:
    """The Dask worker's address (host and port tell two workers of one machine apart), or the host."""
    try:
        from distributed import get_worker

        return f"{host} ({get_worker().address})"
    except (ImportError, ValueError):
        return host
