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
import threading
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


LOCK_TTL_S = 30.0
"""A PostgreSQL lock row whose holder has not renewed it for this long is taken over (its
command died without releasing it); a running command renews it every LOCK_TTL_S / 6."""


@contextmanager
def gradebook_lock(url: str, course: Path, assignment: str):
    """Only one grade command at a time per gradebook: a file lock beside a SQLite file, a
    lock row in PostgreSQL. The second command is refused with a clear message. Yields a list
    that says, when not empty, that the lock was lost while the command ran."""
    message = f"another `python -m course grade` is running on this gradebook ({_safe(url)}): wait for it to finish"
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
        raise CourseError(f"cannot take the grading lock in {_safe(url)}: {str(exc).splitlines()[0]}") from None
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


# --- the cluster ----------------------------------------------------------------------------


SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")
SCHEDULER_WAIT_S = 15  # for the scheduler to answer the client's handshake


def check_scheduler(address: str) -> str:
    """The scheduler's address, checked before anything is written: a scheme Dask knows, a
    host and a port, and something listening there. Whether it is a Dask scheduler shows when
    the client connects (``cluster``)."""
    import socket
    from urllib.parse import urlsplit

    if "://" not in address:
        raise CourseError(f"the Dask scheduler address {address!r} has no scheme: write tcp://{address}")
    parts = urlsplit(address)
    if parts.scheme not in SCHEMES:
        raise CourseError(f"the Dask scheduler address {address!r} has the scheme {parts.scheme}://, which Dask does not "
                          f"use: write tcp://HOST:PORT (or {', '.join(s + '://' for s in SCHEMES[1:])})")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = parts.hostname, None
    if not host or not port:
        raise CourseError(f"the Dask scheduler address {address!r} needs a host and a port, e.g. tcp://HOST:8786")
    if parts.scheme in ("tcp", "tls", "ws", "wss"):
        try:
            socket.create_connection((host, port), timeout=5).close()
        except ConnectionRefusedError:
            raise CourseError(f"cannot reach the Dask scheduler at {address}: nothing listens on port {port} of {host} "
                              "(is `dask scheduler` running there?)") from None
        except OSError as exc:
            raise CourseError(f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}") from None
    return address


@contextmanager
def cluster(scheduler: str | None, workers: int | None):
    """A Dask client: on the given scheduler (checked with ``check_scheduler`` first), or on
    a LocalCluster of worker processes with one thread each (as many as the machine's cores
    by default). Yields (client, local): ``local`` is the LocalCluster, or None."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES})
    scheduler = scheduler or dask.config.get("scheduler-address", None)  # Dask's own setting (file or env)
    if scheduler:
        check_scheduler(scheduler)
        # Dask's own timeout covers the connection, not a server that accepts and never
        # answers the handshake: the client is made in a daemon thread given SCHEDULER_WAIT_S
        made: dict = {}

        def connect() -> None:
            try:
                made["client"] = Client(scheduler, timeout=f"{SCHEDULER_WAIT_S}s")
            except Exception as exc:  # noqa: BLE001 (a closed stream, a protocol error)
                made["error"] = exc

        attempt = threading.Thread(target=connect, name="nde-connect", daemon=True)
        attempt.start()
        attempt.join(SCHEDULER_WAIT_S + 2)
        if "client" not in made:
            exc = made.get("error")
            why = f"{type(exc).__name__}: {str(exc).splitlines()[0]}" if exc and str(exc) else \
                f"no reply in {SCHEDULER_WAIT_S} s"
            raise CourseError(f"{scheduler} answers, but not as a Dask scheduler ({why}): is it the scheduler's "
                              "port (8786 by default, not the dashboard's 8787)?")
        client = made["client"]
        try:
            yield client, None
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                         memory_limit=0, silence_logs=logging.ERROR)
    client = Client(local)
    try:
        yield client, local
    finally:
        client.close()
        local.close()


# --- the coordinator --------------------------------------------------------------------------


@dataclass
class Report:
    results: list = field(default_factory=list)  # Results written now (or kept, if the database is away)
    from_disk: list = field(default_factory=list)  # students whose result was graded earlier, written now (--resume)
    skipped: list = field(default_factory=list)  # students already in the gradebook, files unchanged (--resume)
    unrecorded: list = field(default_factory=list)  # students whose results wait on disk for the database
    not_graded: list = field(default_factory=list)  # students left when the run was interrupted
    workers_lost: list = field(default_factory=list)  # workers that left the cluster during the run
    retried: dict = field(default_factory=dict)  # student -> times their task was started again (a worker died)
    lock_lost: list = field(default_factory=list)  # why the run's lock was lost, if it was
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


def grade_class(course: Path, students: list[str], assignment: str = ASSIGNMENT, db_url: str | None = None,
                scheduler: str | None = None, workers: int | None = None, sandbox: bool = True,
                resume: bool = False, env: dict | None = None, progress: bool = True,
                db_wait_s: float | None = None, say=print,
                on_result=None) -> Report:
    """Grade ``students`` of ``course`` on Dask and write their grades into ``db_url``;
    ``on_result(result)`` is called after each student's result is kept (and recorded).

    Before anything is written: the database is reached, the scheduler's address checked and
    the run's lock taken. With ``resume``, a student whose files are unchanged since a kept
    result is not graded again: the result is written unless the gradebook already holds it.
    A database still away after ``db_wait_s`` (default: NDE_DB_WAIT_S, or 120 s) leaves the results on disk, listed in
    ``Report.unrecorded`` (``--resume`` writes them)."""
    from .grade import prepare_gradebook

    start = time.perf_counter()
    if db_wait_s is None:
        db_wait_s = float(os.environ.get("NDE_DB_WAIT_S", 120))
    url = db_url or default_db(course)
    check_database(url)
    if scheduler:
        check_scheduler(scheduler)
    report = Report()
    with gradebook_lock(url, course, assignment) as lost:
        report.lock_lost = lost
        todo, waiting = [], []
        for student in students:
            submission = read_submission(course, student, assignment)
            meta = kept(course, student, assignment)
            if resume and meta and meta.get("fingerprint") == submission.fingerprint:
                waiting.append(meta)
                continue
            todo.append(submission)
        with (cluster(scheduler, workers) if todo else _no_cluster()) as (client, local):
            prepare_gradebook(course, assignment, db_url=url)
            for meta in waiting:  # graded before: written unless the gradebook holds it already
                if meta.get("recorded") and in_gradebook(url, assignment, meta):
                    report.skipped.append(meta["student"])
                    continue
                result = result_from_disk(meta)
                report.results.append(result)
                report.from_disk.append(result.student)
                if not _record_kept(course, url, assignment, result):
                    report.unrecorded.append(result.student)
            report.setup_s = time.perf_counter() - start
            if todo:
                _dispatch(course, url, assignment, todo, client, local, sandbox, env, progress, report, on_result)
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


@contextmanager
def _no_cluster():
    yield None, None


def _same(x):
    return x


def _starts(keys: list, dask_scheduler=None) -> dict:
    """On the scheduler: how many times each task was started on a worker that then died."""
    return {key: dask_scheduler.tasks[key].suspicious for key in keys if key in dask_scheduler.tasks}


def _dispatch(course, url, assignment, todo, client, local, sandbox, env, progress, report, on_result) -> None:
    import uuid

    from distributed import as_completed
    from distributed.scheduler import KilledWorker
    from tqdm.auto import tqdm

    begin = time.perf_counter()
    payload = make_payload(course, assignment, sandbox, env)
    client.wait_for_workers(1, timeout=300)
    report.setup_s += time.perf_counter() - begin
    run = uuid.uuid4().hex[:8]
    # A task that returns the payload, not scattered data: when the worker holding it
    # dies, the scheduler computes it again (scattered data would be lost for good)
    shared = client.submit(_same, payload, key=f"payload-{run}", pure=False)
    futures = {client.submit(grade_submission, shared, sub, key=f"grade-{sub.student}-{run}", pure=False): sub
               for sub in sorted(todo, key=lambda s: -len(s.files))}
    seen = set(client.scheduler_info()["workers"])
    bar = tqdm(total=len(futures), desc="grading", unit="student", disable=not progress, dynamic_ncols=True)
    failures = 0
    left = dict(futures)
    pending = as_completed(futures)
    futures = None  # the results are released one by one, once on disk: none is held twice
    try:
        for future in pending:
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
            _note_restarts(client, future.key, sub.student, report)
            future.release()  # on disk now: a worker that dies later costs nothing of it
            del future
            report.results.append(result)
            recorded = _record_kept(course, url, assignment, result)
            report.coordinator_s += time.perf_counter() - mine
            if not recorded:
                report.unrecorded.append(result.student)
                bar.write(f"{sub.student}: the gradebook cannot be reached; the result is kept and written "
                          "when it answers again")
            now = set(client.scheduler_info()["workers"])
            for gone in sorted(seen - now):
                report.workers_lost.append(gone)
                bar.write(f"worker {gone} left the cluster; its running tasks start again elsewhere")
            seen = now
            bar.update()
            bar.set_postfix(with_problems=failures, refresh=False)
            if on_result is not None:
                on_result(result)
    except KeyboardInterrupt:
        report.interrupted = True
        report.not_graded = sorted(sub.student for sub in left.values())
        _stop(client, local, list(left))
    finally:
        bar.close()


def _note_restarts(client, key: str, student: str, report: Report) -> None:
    try:
        starts = client.run_on_scheduler(_starts, [key]).get(key, 0)
    except Exception:  # noqa: BLE001 (a scheduler that refuses to run functions: the count is unknown)
        return
    if starts:
        report.retried[student] = starts


def _stop(client, local, futures: list) -> None:
    """Ctrl-C: cancel the tasks left and stop the ones running now (a task's kernels go with its
    worker process), so that nothing keeps grading after the command has returned."""
    keys = {f.key for f in futures}
    try:
        busy = [w for w, running in client.processing().items() if keys & set(running)]
        client.cancel(futures, force=True)
        if local is not None:
            for nanny in local.workers.values():  # the local cluster closes next: kill, do not wait for tasks
                pid = getattr(getattr(nanny, "process", None), "pid", None)
                if pid:
                    os.kill(pid, 9)
        elif busy:
            client.restart_workers(busy, timeout=30, raise_for_error=False)
    except Exception:  # noqa: BLE001 (interrupted anyway: what is kept on disk is what counts)
        pass
