"""The class gradebook, kept by the coordinator alone: its database, one command at a time, results written and kept.

``default_db`` reads the URL from nbgrader_config.py and ``check_database`` reaches it
before anything is written; ``gradebook_lock`` lets one ``course grade`` run at a time
per gradebook (a file lock beside SQLite, a renewed lock row in PostgreSQL); ``record``
writes one student's ``Result`` as nbgrader's SaveAutoGrades would. Every result is first
kept on disk beside the graded notebooks (``keep``), then recorded, then marked recorded,
so that a run cut off loses no grade already made (``--resume``, course/engine.py).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from . import CourseError
from .worker import Result

RESULT = ".nde-result.json"
"""The result of a student kept beside the graded notebooks (autograded/<student>/<assignment>/)."""


# --- the coordinator's database -------------------------------------------------------------


def default_db(course: Path) -> str:
    """The gradebook that nbgrader_config.py names (a relative SQLite path made absolute)."""
    url = "sqlite:///gradebook.db"
    config = course / "nbgrader_config.py"
    if config.exists():
        from traitlets.config.loader import PyFileConfigLoader

        loaded = PyFileConfigLoader(config.name, path=str(course)).load_config()
        url = loaded.CourseDirectory.get("db_url", url) or url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{(course / url[len('sqlite:///'):]).resolve()}"
    return url


def check_database(url: str) -> None:
    """Connect once, so that a wrong URL stops everything before anything is written."""
    import sqlalchemy

    if url.startswith("sqlite:///"):
        folder = Path(url[len("sqlite:///"):]).parent
        if not folder.is_dir():
            raise CourseError(f"the gradebook {url} cannot be made: no folder {folder}")
        return
    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 10} if url.startswith("postgresql") else {})
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 (drivers raise many kinds)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CourseError(f"cannot reach the gradebook database {safe_url(url)}: {first}") from None


def safe_url(url: str) -> str:
    """The URL without its password."""
    import sqlalchemy

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(the URL given)"


LOCK_TTL_S = 30.0
"""A PostgreSQL lock row whose holder has not renewed it for this long is taken over (its
command died without releasing it); a running command renews it every LOCK_TTL_S / 6."""


@contextmanager
def gradebook_lock(url: str, course: Path, assignment: str):
    """Only one grade command at a time per gradebook: a file lock beside a SQLite file, a
    lock row in PostgreSQL. The second command is refused with a clear message. Yields a list
    that says, when not empty, that the lock was lost while the command ran."""
    message = f"another `python -m course grade` is running on this gradebook ({safe_url(url)}): wait for it to finish"
    if url.startswith("postgresql"):
        with _row_lock(url, assignment, message) as lost:
            yield lost
        return
    path = Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else course / "gradebook"
    with open(f"{path}.grading-lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseError(message) from None
        try:
            yield []
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


LOCK_TABLE = """CREATE TABLE IF NOT EXISTS nde_grading_lock (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, renewed TIMESTAMPTZ NOT NULL)"""
TAKE = """INSERT INTO nde_grading_lock (name, holder, renewed) VALUES (:name, :me, now())
    ON CONFLICT (name) DO UPDATE SET holder = :me, renewed = now()
    WHERE nde_grading_lock.holder IN (:me, :stale) OR nde_grading_lock.renewed < now() - make_interval(secs => :ttl)
    RETURNING holder"""
_ENDED: set[str] = set()
"""Holders of this process whose command has ended (their row may be left while the server was away)."""


def _stale(holder: str | None) -> bool:
    """A holder that is certainly gone: a command of this process that ended, or a process of
    this machine that no longer exists."""
    if not holder:
        return False
    if holder in _ENDED:
        return True
    node, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if node != os.uname().nodename or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def _row_lock(url: str, assignment: str, message: str):
    """A lock that lives in the database's own tables, so that it survives a restart of the
    server (a session's advisory lock dies with the session): one row per assignment, held by
    this command while it renews it. A thread renews it every LOCK_TTL_S / 6 seconds, and
    keeps trying while the server is away; another command takes it only after LOCK_TTL_S
    without renewal. Whether this command still held it at the end is checked on release."""
    import uuid

    import sqlalchemy

    name, me = f"nde-grade:{assignment}", f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    engine = sqlalchemy.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})

    def take() -> bool:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(LOCK_TABLE))
            holder = conn.execute(sqlalchemy.text("SELECT holder FROM nde_grading_lock WHERE name = :name"),
                                  {"name": name}).scalar()
            stale = holder if holder != me and _stale(holder) else me
            return conn.execute(sqlalchemy.text(TAKE), {"name": name, "me": me, "stale": stale,
                                                        "ttl": LOCK_TTL_S}).first() is not None

    try:
        if not take():
            raise CourseError(message)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise CourseError(f"cannot take the grading lock in {safe_url(url)}: {str(exc).splitlines()[0]}") from None
    stop, lost = threading.Event(), []

    def renew() -> None:
        while not stop.wait(LOCK_TTL_S / 6):
            try:
                if not take():
                    lost.append("another command took the lock")
                    return
            except sqlalchemy.exc.SQLAlchemyError:
                continue  # the server is away: try again; the row waits in its tables

    thread = threading.Thread(target=renew, name="nde-grading-lock", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        stop.set()
        _ENDED.add(me)
        thread.join(LOCK_TTL_S)
        try:
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text("DELETE FROM nde_grading_lock WHERE name = :name AND holder = :me"),
                             {"name": name, "me": me})
        except sqlalchemy.exc.SQLAlchemyError:
            pass  # the server is away: the row expires after LOCK_TTL_S
        engine.dispose()


def record(url: str, assignment: str, result: Result) -> None:
    """Write one student's grades into the class gradebook. A score set by hand stays, and
    keeps the cell marked for a person to look at (as nbgrader's own SaveAutoGrades does)."""
    import datetime
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings
        gb.update_or_create_student(result.student)
        stamp = datetime.datetime.fromisoformat(result.timestamp) if result.timestamp else None
        submission = gb.update_or_create_submission(assignment, result.student, **({"timestamp": stamp} if stamp else {}))
        if not result.needs_review:
            # a notebook the grader could not score (missing, not a notebook, over its size) is
            # 0, written answers too, as nbgrader scores a missing one: nothing waits for a hand
            for nb in submission.notebooks:
                if nb.notebook.name not in result.grades:
                    for grade in nb.grades:
                        if grade.manual_score is None:
                            grade.auto_score, grade.needs_manual_grade = 0.0, False
        for notebook, grades in result.grades.items():
            for grade_id, (auto, needs) in grades.items():
                try:
                    grade = gb.find_grade(grade_id, notebook, assignment, result.student)
                except MissingEntry:
                    continue
                grade.auto_score = auto
                grade.needs_manual_grade = bool(needs) or grade.manual_score is not None
            for grade_id, comment in result.comments.get(notebook, {}).items():
                try:
                    gb.find_comment(grade_id, notebook, assignment, result.student).auto_comment = comment
                except MissingEntry:
                    continue
        gb.db.commit()


# --- results kept on disk -------------------------------------------------------------------


def _folder(course: Path, student: str, assignment: str) -> Path:
    return course / "autograded" / student / assignment


def keep(course: Path, assignment: str, result: Result) -> None:
    """Put the graded notebooks and the result beside them (not yet recorded)."""
    folder = _folder(course, result.student, assignment)
    staging = folder.with_name(f".{assignment}.incoming")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for rel, data in result.files.items():
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).write_bytes(data)
    meta = {k: v for k, v in asdict(result).items() if k != "files"}
    meta["recorded"] = False
    (staging / RESULT).write_text(json.dumps(meta))
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)


def kept(course: Path, student: str, assignment: str) -> dict | None:
    path = _folder(course, student, assignment) / RESULT
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def mark_recorded(course: Path, student: str, assignment: str) -> None:
    path = _folder(course, student, assignment) / RESULT
    meta = json.loads(path.read_text())
    meta["recorded"] = True
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta))
    tmp.replace(path)


def result_from_disk(meta: dict) -> Result:
    return Result(**{k: v for k, v in meta.items() if k != "recorded"})


# --- a kept result written -------------------------------------------------------------------


def database_errors() -> tuple:
    import sqlalchemy.exc

    return (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.DisconnectionError)


def record_kept(course: Path, url: str, assignment: str, result: Result) -> bool:
    """Write a kept result to the gradebook; False while the database cannot be reached."""
    try:
        record(url, assignment, result)
    except database_errors():
        return False
    mark_recorded(course, result.student, assignment)
    return True


def in_gradebook(url: str, assignment: str, meta: dict) -> bool:
    """Whether the gradebook holds the kept result ``meta`` (a submission with every grade of
    it, at the same automatic score): the marker on disk is not enough, since the gradebook
    may be another one (a new database, a backup restored, a failover)."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings
        try:
            gb.find_submission(assignment, meta["student"])
            for notebook, grades in (meta.get("grades") or {}).items():
                for grade_id, (auto, _needs) in grades.items():
                    if gb.find_grade(grade_id, notebook, assignment, meta["student"]).auto_score != auto:
                        return False
        except MissingEntry:
            return False
    return True
