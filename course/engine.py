"""Grade a class on Dask: one task per student, the class gradebook written by the coordinator alone.

    coordinator (python -m course grade)                 workers (Dask)
    ------------------------------------                 ---------------
    check the database and take the gradebook's lock
    record the assignment in the class gradebook
    make a template SQLite gradebook            --->     grade_submission(payload, submission):
    send every student's files as one task                 a scratch course: config, source/, release/,
                                                           the template gradebook, the student's files;
                                                           course/grade.py grades it (nbgrader, the
                                                           sandbox, time limits, crash recovery);
    as each task finishes: keep its result on     <---     returns grades, comments, problems and
    disk, then write it to the class gradebook             the graded notebooks; nothing is written
                                                           outside the scratch folder

Idempotent: a task that runs twice (its worker died) returns the same kind of result,
and only the first result that reaches the coordinator is written. A task whose workers
keep dying (``distributed.scheduler.allowed-failures``, 2 here) is recorded as "needs
review" with the reason; the batch always finishes. Dask has no per-task timeout: the
cell and notebook limits of course/grade.py hold inside each task, and the kernels have
a memory limit (nde_grader/sandbox.py).

Every result is first kept beside the graded notebooks
(``autograded/<student>/<assignment>/.nde-result.json``), then written to the gradebook,
then marked recorded. So an interrupted run (Ctrl-C, a database that went away) loses
no grade already made: ``--resume`` writes the results kept on disk, and grades only the
students not graded yet or whose files changed since.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import ASSIGNMENT, CourseError

RESULT = ".nde-result.json"
ALLOWED_FAILURES = 2
"""How many workers a student's task may take down before the student is recorded for review."""


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
    left_out: tuple = ()  # what the grader left out of the folder, unread (course.grade.Files)
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
    (``course.grade.submission_files``), each within its size limit; nothing else is read."""
    from .grade import submission_files

    folder = course / "submitted" / student / assignment
    found = submission_files(folder)
    files = {rel: (folder / rel).read_bytes() for rel in sorted(found.notebooks + found.kept)}
    return Submission(student, files, fingerprint(files), tuple(found.left_out), tuple(sorted(found.too_large.items())))


# --- on a worker ----------------------------------------------------------------------------


def grade_submission(payload: Payload, submission: Submission) -> Result:
    """Grade one student in a scratch course; write nothing outside it."""
    import socket

    from nbgrader.api import Gradebook, MissingEntry

    from .grade import Files, autograde

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
                        worker=socket.gethostname())
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
        raise CourseError(f"cannot reach the gradebook database {_safe(url)}: {first}") from None


def _safe(url: str) -> str:
    """The URL without its password."""
    import sqlalchemy

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(the URL given)"


@contextmanager
def gradebook_lock(url: str, course: Path, assignment: str):
    """Only one grade command at a time per gradebook: a file lock beside a SQLite file, an
    advisory lock in PostgreSQL. The second command is refused with a clear message."""
    message = f"another `python -m course grade` is running on this gradebook ({_safe(url)}): wait for it to finish"
    if url.startswith("postgresql"):
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        key = int(hashlib.sha256(f"nde-grade:{assignment}".encode()).hexdigest()[:15], 16)
        conn = engine.connect()
        try:
            if not conn.execute(sqlalchemy.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                raise CourseError(message)
            try:
                yield
            finally:
                try:
                    conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                except Exception:  # noqa: BLE001 (the server may be gone; the lock goes with the session)
                    pass
        finally:
            conn.close()
            engine.dispose()
        return
    path = Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else course / "gradebook"
    with open(f"{path}.grading-lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseError(message) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
        gb.update_or_create_submission(assignment, result.student, **({"timestamp": stamp} if stamp else {}))
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


# --- the cluster ----------------------------------------------------------------------------


def _refused(address: str) -> str | None:
    """Why a tcp:// address refuses connections at once; None where it may be there (Dask
    then tries it, with its own timeout)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme != "tcp" or not host or not port:
        return None
    try:
        socket.create_connection((host, port), timeout=5).close()
    except ConnectionRefusedError as exc:
        return f"connection refused ({exc})"
    except OSError:
        return None
    return None


@contextmanager
def cluster(scheduler: str | None, workers: int | None):
    """A Dask client: on the given scheduler, or on a LocalCluster of worker processes with
    one thread each (as many as the machine's cores by default)."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES})
    scheduler = scheduler or dask.config.get("scheduler-address", None)  # Dask's own setting (file or env)
    if scheduler:
        refused = _refused(scheduler)
        if refused:  # Dask would retry for its whole timeout
            raise CourseError(f"cannot reach the Dask scheduler at {scheduler}: {refused}")
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as exc:
            raise CourseError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                         memory_limit=0, silence_logs=logging.ERROR)
    client = Client(local)
    try:
        yield client
    finally:
        client.close()
        local.close()


# --- the coordinator --------------------------------------------------------------------------


@dataclass
class Report:
    results: list = field(default_factory=list)  # Results written now (or kept, if the database is away)
    skipped: list = field(default_factory=list)  # students already graded, files unchanged (--resume)
    unrecorded: list = field(default_factory=list)  # students whose results wait on disk for the database
    not_graded: list = field(default_factory=list)  # students left when the run was interrupted
    interrupted: bool = False
    seconds: float = 0.0
    setup_s: float = 0.0  # before the first task: lock, gradebook, template, cluster
    coordinator_s: float = 0.0  # the coordinator's own work on results: keep and record


def make_payload(course: Path, assignment: str, sandbox: bool, env: dict | None) -> Payload:
    """The course as the workers need it, with a template gradebook made once here."""
    from .grade import prepare_gradebook

    trees = {tree: {p.name: p.read_bytes() for p in sorted((course / tree / assignment).glob("*.ipynb"))}
             for tree in ("source", "release")}
    config = (course / "nbgrader_config.py").read_text()
    with tempfile.TemporaryDirectory(prefix="nde-template-") as tmp:
        template = Path(tmp)
        (template / "nbgrader_config.py").write_text(config)
        for tree, notebooks in trees.items():
            (template / tree / assignment).mkdir(parents=True)
            for name, data in notebooks.items():
                (template / tree / assignment / name).write_bytes(data)
        prepare_gradebook(template, assignment)
        gradebook = (template / "gradebook.db").read_bytes()
    return Payload(assignment, config, trees, gradebook, sandbox, dict(env or {}))


def _database_errors() -> tuple:
    import sqlalchemy.exc

    return (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.DisconnectionError)


def _record_kept(course: Path, url: str, assignment: str, result: Result) -> bool:
    """Write a kept result to the gradebook; False while the database cannot be reached."""
    try:
        record(url, assignment, result)
    except _database_errors():
        return False
    mark_recorded(course, result.student, assignment)
    return True


def grade_class(course: Path, students: list[str], assignment: str = ASSIGNMENT, db_url: str | None = None,
                scheduler: str | None = None, workers: int | None = None, sandbox: bool = True,
                resume: bool = False, env: dict | None = None, progress: bool = True,
                db_wait_s: float = float(os.environ.get("NDE_DB_WAIT_S", 120)), say=print,
                on_result=None) -> Report:
    """Grade ``students`` of ``course`` on Dask and write their grades into ``db_url``;
    ``on_result(result)`` is called after each student's result is kept (and recorded)."""
    from .grade import prepare_gradebook

    start = time.perf_counter()
    url = db_url or default_db(course)
    check_database(url)
    report = Report()
    with gradebook_lock(url, course, assignment):
        prepare_gradebook(course, assignment, db_url=url)
        todo, waiting = [], []
        for student in students:
            submission = read_submission(course, student, assignment)
            meta = kept(course, student, assignment)
            if resume and meta and meta.get("fingerprint") == submission.fingerprint:
                if meta.get("recorded"):
                    report.skipped.append(student)
                else:
                    waiting.append(result_from_disk(meta))  # graded before, not yet in the gradebook
                continue
            todo.append(submission)
        for result in waiting:
            report.results.append(result)
            if not _record_kept(course, url, assignment, result):
                report.unrecorded.append(result.student)
        report.setup_s = time.perf_counter() - start
        if todo:
            _dispatch(course, url, assignment, todo, scheduler, workers, sandbox, env, progress, report, on_result)
        deadline = time.monotonic() + db_wait_s
        while report.unrecorded and not report.interrupted and time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
            for student in list(report.unrecorded):
                result = next(r for r in report.results if r.student == student)
                if _record_kept(course, url, assignment, result):
                    report.unrecorded.remove(student)
                    say(f"recorded {student} now that the database answers again")
    report.seconds = time.perf_counter() - start
    return report


def _same(x):
    return x


def _dispatch(course, url, assignment, todo, scheduler, workers, sandbox, env, progress, report, on_result) -> None:
    import uuid

    from distributed import as_completed
    from distributed.scheduler import KilledWorker
    from tqdm.auto import tqdm

    begin = time.perf_counter()
    payload = make_payload(course, assignment, sandbox, env)
    with cluster(scheduler, workers) as client:
        client.wait_for_workers(1, timeout=300)
        report.setup_s += time.perf_counter() - begin
        run = uuid.uuid4().hex[:8]
        # A task that returns the payload, not scattered data: when the worker holding it
        # dies, the scheduler computes it again (scattered data would be lost for good)
        shared = client.submit(_same, payload, key=f"payload-{run}", pure=False)
        futures = {client.submit(grade_submission, shared, sub, key=f"grade-{sub.student}-{run}", pure=False): sub
                   for sub in sorted(todo, key=lambda s: -len(s.files))}
        bar = tqdm(total=len(futures), desc="grading", unit="student", disable=not progress, dynamic_ncols=True)
        failures = 0
        left = dict(futures)
        try:
            for future in as_completed(futures):
                sub = left.pop(future)
                try:
                    result = future.result()
                except KilledWorker:
                    result = Result(sub.student, sub.fingerprint, 0.0, needs_review=(
                        f"the workers grading it died {ALLOWED_FAILURES} times (the grader itself crashed, or the "
                        "machine ran out of memory): look at it by hand, or grade it again"))
                except Exception as exc:  # noqa: BLE001 (a fault of the grader: reported, the batch goes on)
                    result = Result(sub.student, sub.fingerprint, 0.0,
                                    needs_review=f"grading failed: {type(exc).__name__}: {str(exc)[:300]}")
                failures += bool(result.needs_review or result.problems)
                mine = time.perf_counter()
                keep(course, assignment, result)
                report.results.append(result)
                recorded = _record_kept(course, url, assignment, result)
                report.coordinator_s += time.perf_counter() - mine
                if not recorded:
                    report.unrecorded.append(result.student)
                    bar.write(f"{sub.student}: the gradebook cannot be reached; the result is kept and written "
                              "when it answers again")
                bar.update()
                bar.set_postfix(with_problems=failures, refresh=False)
                if on_result is not None:
                    on_result(result)
        except KeyboardInterrupt:
            report.interrupted = True
            report.not_graded = sorted(sub.student for sub in left.values())
            client.cancel(list(left))
        finally:
            bar.close()
