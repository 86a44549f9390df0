"""Grade a class on Dask: one task per student, the class gradebook written by the coordinator alone.

    coordinator (this module,                            workers (Dask, course/worker.py)
    course/gradebook.py)
    ------------------------------------                 ---------------
    check the database and take the gradebook's lock
    record the assignment in the class gradebook
    make a template SQLite gradebook            --->     grade_submission(payload, submission):
    send every student's files as one task                 a scratch course: config, source/, release/,
                                                           the template gradebook, the student's files;
                                                           course/autograde.py grades it (nbgrader, the
                                                           sandbox, time limits, crash recovery);
    as each task finishes: keep its result on     <---     returns grades, comments, problems and
    disk, then write it to the class gradebook             the graded notebooks; nothing is written
                                                           outside the scratch folder

Idempotent: a task that runs twice (its worker died) returns the same kind of result,
and only the first result that reaches the coordinator is written. A task whose workers
keep dying (``distributed.scheduler.allowed-failures``, 2 here) is recorded as "needs
review" with the reason; the batch always finishes. Dask has no per-task timeout: the
cell and notebook limits of course/autograde.py hold inside each task, and the kernels have
a memory limit (nde_grader/kernel/sandbox.py).

Every result is first kept beside the graded notebooks
(``autograded/<student>/<assignment>/.nde-result.json``), then written to the gradebook,
then marked recorded. So an interrupted run (Ctrl-C, a database that went away) loses
no grade already made: ``--resume`` writes the results kept on disk, and grades only the
students not graded yet or whose files changed since.

The rooms of the grading path, each importing only those after it:
  course/grade.py       the command: arguments, the score table, the exports and pages
  course/engine.py      the class on Dask: the cluster, the tasks, their results in order
  course/gradebook.py   the class gradebook: its URL and lock, results recorded and kept
  course/worker.py      one student's task: what travels, the scratch course it grades
  course/autograde.py   one student graded: nbgrader in the sandbox, recovery, zeroing
  course/submission.py  what of a student's folder is taken, and what was done to cells
  course/nbgrader_cli.py nbgrader's commands in processes of their own, with time limits
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import ASSIGNMENT, CourseError
from .gradebook import check_database, default_db, gradebook_lock, in_gradebook, keep, kept, record_kept, result_from_disk
from .worker import Payload, Result, grade_submission, read_submission

ALLOWED_FAILURES = 2
"""How many workers a student's task may take down before the student is recorded for review."""


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
    # no dashboard; the scheduler's own HTTP server (health checks) on a free loopback port,
    # not on 8787, which another cluster of this machine may hold
    local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                         scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
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
    from .nbgrader_cli import prepare_gradebook

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
    from .nbgrader_cli import prepare_gradebook

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
                if not record_kept(course, url, assignment, result):
                    report.unrecorded.append(result.student)
            report.setup_s = time.perf_counter() - start
            if todo:
                _dispatch(course, url, assignment, todo, client, local, sandbox, env, progress, report, on_result)
        deadline = time.monotonic() + db_wait_s
        while report.unrecorded and not report.interrupted and time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
            for student in list(report.unrecorded):
                result = next(r for r in report.results if r.student == student)
                if record_kept(course, url, assignment, result):
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
            recorded = record_kept(course, url, assignment, result)
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
