"""Grading a class on Dask, with SQLite or a real PostgreSQL server, and what goes wrong.

A small class (notebook 02 only: the course's answers, the untouched release, the example
``wrong``) is graded through ``course.engine.grade_class`` on a local Dask cluster of two
worker processes:

- with SQLite and with PostgreSQL (a server started on loopback by the test), the cell
  scores are those of the one-process grader (course/trial.py);
- a worker killed in the middle of a task: the student is still graded, exactly once;
- a scheduler that cannot be reached, a wrong database URL: a clear error, nothing written;
- PostgreSQL stopped in the middle of a batch: the results are kept and written when it is
  back; or, when it stays away, listed, and written by ``--resume`` without grading again;
- a second grade command on the same gradebook is refused while the first runs;
- Ctrl-C in the middle: the grades made are kept; ``--resume`` grades only the rest.
"""
from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from course import ASSIGNMENT, CourseError
from course.engine import grade_class
from course.gradebook import gradebook_lock, kept
from course.grade import scores
from nde_grader.kernel.sandbox import unavailable

from . import postgres as pg
from .conftest import one_notebook_course

pytestmark = pytest.mark.slow
NOTEBOOK = "02_gradient_descent"
STUDENTS = ("solutions", "untouched", "wrong")
EXPECTED = {"solutions": (7.0, 7.0), "untouched": (0.0, 10.0), "wrong": (5.0, 7.0)}
"""Score, out of the points graded so far: the written answers (3 points) wait to be graded
by hand, except the untouched student's, left blank and so scored 0 by nbgrader."""

if unavailable():
    pytest.skip(f"grading needs its sandbox: {unavailable()}", allow_module_level=True)


def small_class(where: Path) -> Path:
    """A course with notebook 02 and three students, in ``where``."""
    return one_notebook_course(where, NOTEBOOK, STUDENTS)


def auto_scores(course: Path, url: str | None = None) -> dict:
    return {s: row[NOTEBOOK][:2] for s, row in scores(course, db_url=url).items() if row.get(NOTEBOOK)}


def submissions_of(url: str, student: str) -> int:
    """How many submissions of ``student`` the gradebook holds (must be 1, never 2)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sqlalchemy.text(
            "SELECT count(*) FROM submitted_assignment s JOIN student t ON s.student_id = t.id WHERE t.id = :s"),
            {"s": student}).scalar()
    engine.dispose()
    return n


@pytest.fixture(scope="module")
def server():
    why = pg.unavailable()
    if why:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{why} (CI is set: the PostgreSQL tests must run)")
        pytest.skip(why)
    with pg.postgres() as s:
        yield s


def test_a_local_cluster_grades_as_one_process_does(tmp_path):
    course = small_class(tmp_path)
    report = grade_class(course, list(STUDENTS), workers=2, progress=False)
    assert not report.unrecorded and not report.interrupted
    assert sorted(r.student for r in report.results) == sorted(STUDENTS)
    assert auto_scores(course) == EXPECTED
    for student in STUDENTS:
        assert (course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb").exists()
        assert kept(course, student, ASSIGNMENT)["recorded"]
        assert submissions_of(f"sqlite:///{course / 'gradebook.db'}", student) == 1


def test_postgresql_holds_the_same_grades(tmp_path, server):
    course = small_class(tmp_path)
    url = server.create_database("same_grades")
    report = grade_class(course, list(STUDENTS), db_url=url, workers=2, progress=False)
    assert not report.unrecorded
    assert auto_scores(course, url) == EXPECTED
    assert not (course / "gradebook.db").exists(), "the SQLite gradebook was written instead"
    from course.nbgrader_cli import nbgrader

    status, log = nbgrader(["export", "--to=grades.csv", f"--CourseDirectory.db_url={url}"], course)
    assert status == 0, log
    assert "solutions" in (course / "grades.csv").read_text()


def test_a_worker_killed_in_the_middle_of_a_task(tmp_path):
    """The worker grading the (only) student is killed mid-task: Dask runs the task again on
    another worker, and the student is graded exactly once."""
    course = small_class(tmp_path)
    killed = []

    def killer():
        from distributed import get_client

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            try:
                client = get_client()
            except ValueError:
                time.sleep(0.2)
                continue
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy:
                time.sleep(3)  # well inside the task: nbgrader is running
                pids = client.run(os.getpid, workers=busy[:1])
                for pid in pids.values():
                    os.kill(pid, 9)
                    killed.append(pid)
            time.sleep(0.2)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    report = grade_class(course, ["wrong"], workers=2, progress=False)
    thread.join(5)
    assert killed, "the test never found the worker to kill"
    assert [r.student for r in report.results] == ["wrong"] and not report.results[0].needs_review
    assert auto_scores(course) == {"wrong": EXPECTED["wrong"]}
    assert submissions_of(f"sqlite:///{course / 'gradebook.db'}", "wrong") == 1


def test_an_unreachable_scheduler_or_database_stops_before_writing(tmp_path, monkeypatch):
    """Each bad address is told apart within seconds, before the gradebook is made."""
    import socket

    import course.engine

    monkeypatch.setattr(course.engine, "SCHEDULER_WAIT_S", 3)
    course = small_class(tmp_path)
    closes = socket.create_server(("127.0.0.1", 0))  # answers and hangs up: not a Dask scheduler
    silent = socket.create_server(("127.0.0.1", 0))  # accepts and never answers

    def hang_up() -> None:
        while True:
            try:
                closes.accept()[0].close()
            except OSError:
                return

    threading.Thread(target=hang_up, daemon=True).start()
    cases = [("tcp://127.0.0.1:9", "nothing listens on port 9"),
             ("127.0.0.1:8786", "has no scheme: write tcp://127.0.0.1:8786"),
             ("http://127.0.0.1:8786", "which Dask does not use"),
             ("tcp://127.0.0.1", "needs a host and a port"),
             (f"tcp://127.0.0.1:{closes.getsockname()[1]}", "answers, but not as a Dask scheduler"),
             (f"tcp://127.0.0.1:{silent.getsockname()[1]}", "answers, but not as a Dask scheduler (no reply in 3 s)")]
    for address, says in cases:
        begin = time.monotonic()
        with pytest.raises(CourseError, match=re.escape(says)):
            grade_class(course, ["wrong"], scheduler=address, progress=False)
        assert time.monotonic() - begin < 20, f"{address}: the answer took {time.monotonic() - begin:.0f} s"
    closes.close()
    silent.close()
    with pytest.raises(CourseError, match="cannot reach the gradebook database"):
        grade_class(course, ["wrong"], db_url="postgresql://nobody@127.0.0.1:9/gradebook", progress=False)
    assert not (course / "autograded").exists()
    assert not (course / "gradebook.db").exists(), "the gradebook was written before the scheduler was reached"
    assert not any(p.name.startswith("grades") for p in course.iterdir())


def test_resume_against_a_gradebook_that_lacks_the_grades(tmp_path, capsys):
    """The class is graded, then the gradebook is replaced by an empty one (a new database, a
    backup restored): ``--resume`` writes every kept result from disk, grades no one again,
    keeps every feedback page and exports the same grades."""
    from course.grade import main

    course = small_class(tmp_path)
    assert main(course=course, workers=2) == 0
    first = capsys.readouterr().out
    pages = {p: p.read_bytes() for p in (course / "feedback").rglob("*.html")}
    assert len(pages) == len(STUDENTS)
    exported = (course / "grades.csv").read_text()
    (course / "gradebook.db").unlink()

    assert main(course=course, workers=2, resume=True) == 0
    out = capsys.readouterr().out
    written = re.findall(r"^(\S+) +written from disk \(graded earlier", out, re.M)
    assert sorted(written) == sorted(STUDENTS) and "graded in" not in out, out
    assert f"0 graded, {len(STUDENTS)} written from disk" in out
    assert "already in the gradebook" not in out
    assert auto_scores(course) == EXPECTED
    assert {p: p.read_bytes() for p in (course / "feedback").rglob("*.html")}.keys() == pages.keys()
    assert (course / "grades.csv").read_text() == exported
    assert "graded in" in first

    assert main(course=course, workers=2, resume=True) == 0  # now the gradebook holds them: nothing to write
    assert f"already in the gradebook, files unchanged (--resume): {', '.join(sorted(STUDENTS))}" in capsys.readouterr().out


def test_a_notebook_that_cannot_be_read_gets_a_page_and_no_written_answers_to_grade(tmp_path, capsys):
    from course.grade import main

    course = small_class(tmp_path)
    (course / "submitted" / "wrong" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").write_text("{ this is not a notebook")
    assert main(course=course, who=["wrong"], workers=1) == 0
    out = capsys.readouterr().out
    page = (course / "feedback" / "wrong" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "is not valid JSON" in page and "Score: 0" in page
    assert auto_scores(course)["wrong"] == (0.0, 10.0), "the written answers wait for a hand though scored 0"
    assert "+1w" not in out


def test_a_second_grade_command_is_refused_while_one_runs(tmp_path, server):
    course = small_class(tmp_path)
    for url in (f"sqlite:///{course / 'gradebook.db'}", server.create_database("locked")):
        with gradebook_lock(url, course, ASSIGNMENT):
            with pytest.raises(CourseError, match="another `python -m course grade` is running"):
                grade_class(course, ["wrong"], db_url=url, progress=False)


def test_the_lock_survives_a_restart_of_postgresql(tmp_path, server):
    """A session's advisory lock dies with the session; the course's lock lives in a table of
    the database: after a restart of the server a second command is still refused, and the
    lock is free again once the first is done."""
    from course.gradebook import LOCK_TTL_S

    course = small_class(tmp_path)
    url = server.create_database("restart")
    with gradebook_lock(url, course, ASSIGNMENT) as lost:
        server.stop("immediate")
        server.start()
        time.sleep(LOCK_TTL_S / 6 + 2)  # a renewal after the restart
        with pytest.raises(CourseError, match="another `python -m course grade` is running"):
            grade_class(course, ["wrong"], db_url=url, progress=False)
        assert not lost
    with gradebook_lock(url, course, ASSIGNMENT):
        pass


def test_postgresql_stopped_in_the_middle_of_a_batch(tmp_path, server):
    """The server goes away after the first student is recorded and comes back a few
    seconds later: every result waits on disk and is written once, none twice."""
    course = small_class(tmp_path)
    url = server.create_database("outage")
    stopped = threading.Event()

    def outage():
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    if conn.execute(sqlalchemy.text("SELECT count(*) FROM submitted_assignment")).scalar():
                        break
            except sqlalchemy.exc.SQLAlchemyError:
                pass
            time.sleep(0.2)
        engine.dispose()
        server.stop("immediate")
        stopped.set()
        time.sleep(8)
        server.start()

    thread = threading.Thread(target=outage, daemon=True)
    thread.start()
    report = grade_class(course, list(STUDENTS), db_url=url, workers=2, progress=False, db_wait_s=120)
    thread.join(60)
    assert stopped.is_set()
    assert not report.unrecorded, report.unrecorded
    assert auto_scores(course, url) == EXPECTED
    for student in STUDENTS:
        assert submissions_of(url, student) == 1


def test_a_database_that_stays_away_then_resume(tmp_path, server, monkeypatch, capsys):
    """The server goes away once the class is recorded and does not come back in time: the
    results are listed as waiting, kept on disk, and ``--resume`` writes them later
    without grading anyone again."""
    course = small_class(tmp_path)
    url = server.create_database("away")

    from course import engine
    from course.grade import main

    dispatch = engine._dispatch

    def stop_then_dispatch(*args, **kwargs):
        """The class is recorded in the gradebook: the server goes away before anyone is graded."""
        server.stop("immediate")
        return dispatch(*args, **kwargs)

    monkeypatch.setattr(engine, "_dispatch", stop_then_dispatch)
    monkeypatch.setenv("NDE_DB_WAIT_S", "2")
    try:
        status = main(course=course, who=["wrong", "solutions"], db=url, workers=2)
    finally:
        server.start()
    out = capsys.readouterr().out
    assert status == 1
    assert "cannot be reached: the grades of solutions, wrong are kept" in out and "--resume" in out, out
    assert "Traceback" not in out and not (course / "feedback").exists() and not (course / "grades.csv").exists()
    graded = {s: kept(course, s, ASSIGNMENT)["seconds"] for s in ("wrong", "solutions")}
    report = grade_class(course, ["wrong", "solutions"], db_url=url, progress=False, resume=True)
    assert {r.student: r.seconds for r in report.results} == graded, "resume graded again instead of writing"
    assert not report.unrecorded
    assert auto_scores(course, url) == {"wrong": EXPECTED["wrong"], "solutions": EXPECTED["solutions"]}
    report = grade_class(course, ["wrong", "solutions"], db_url=url, progress=False, resume=True)
    assert sorted(report.skipped) == ["solutions", "wrong"] and not report.results
    for student in ("wrong", "solutions"):
        assert submissions_of(url, student) == 1


def test_a_worker_killed_after_its_tasks_costs_nothing_of_them(tmp_path):
    """The worker that graded the first student is killed once that result is on disk: the
    finished task is not run again (its result was released), the loss is reported, and
    every grade is that of an undisturbed run."""
    from distributed import get_client
    from distributed.diagnostics.plugin import WorkerPlugin

    course = small_class(tmp_path)
    runs = tmp_path / "runs.log"

    class Count(WorkerPlugin):
        def transition(self, key, start, finish, **kwargs):
            if finish == "executing" and str(key).startswith("grade-"):
                with open(runs, "a") as log:
                    log.write(f"{key}\n")

    killed = {}

    def kill_the_first_worker(result):
        if killed:
            return
        client = get_client()
        client.register_plugin(Count(), name="count-gradings")
        address = result.worker.split("(")[-1].rstrip(")")
        pid = client.run(os.getpid, workers=[address])[address]
        os.kill(pid, 9)
        killed[result.student] = address

    report = grade_class(course, list(STUDENTS), workers=2, progress=False, on_result=kill_the_first_worker)
    (first, address), = killed.items()
    again = [k for k in (runs.read_text().split() if runs.exists() else []) if k.startswith(f"grade-{first}-")]
    assert not again, f"{first} was graded again after the worker holding the result died"
    assert address in report.workers_lost
    assert first not in report.retried
    assert sorted(r.student for r in report.results) == sorted(STUDENTS)
    assert auto_scores(course) == EXPECTED


def test_ctrl_c_keeps_what_is_graded_and_resume_grades_the_rest(tmp_path):
    course = small_class(tmp_path)
    pressed = []

    def stop_after_first(result):
        pressed.append(time.monotonic())
        raise KeyboardInterrupt

    report = grade_class(course, list(STUDENTS), workers=2, progress=False, on_result=stop_after_first)
    stopped = time.monotonic() - pressed[0]  # the other worker was grading a student meanwhile
    assert report.interrupted and len(report.results) == 1
    assert stopped < 30, f"the command went on for {stopped:.0f} s after Ctrl-C while a task was running"
    first = report.results[0].student
    assert sorted(report.not_graded) == sorted(set(STUDENTS) - {first})
    assert kept(course, first, ASSIGNMENT)["recorded"]
    report = grade_class(course, list(STUDENTS), workers=2, progress=False, resume=True)
    assert report.skipped == [first]
    assert sorted(r.student for r in report.results) == sorted(set(STUDENTS) - {first})
    assert auto_scores(course) == EXPECTED


def test_the_local_cluster_listens_on_loopback_only_and_leaves_8787_alone():
    """The local cluster's scheduler serves no dashboard and keeps its HTTP server (health
    checks) on a free loopback port: a port 8787 held by another cluster of the machine
    costs no warning, and nothing of the grader listens beyond this machine."""
    import socket
    import warnings

    from course.engine import cluster

    held = socket.socket()
    try:
        try:
            held.bind(("127.0.0.1", 8787))
            held.listen()
        except OSError:
            pass  # something else holds it already: the same case
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with cluster(None, 1) as (client, local):
                ports = set(client.scheduler_info()["services"].values())  # the HTTP server's port
                hosts = {s.getsockname()[0] for s in local.scheduler.http_server._sockets.values()}
        assert hosts == {"127.0.0.1"} and 8787 not in ports, (hosts, ports)
        assert not [w for w in caught if "8787" in str(w.message)], [str(w.message) for w in caught]
    finally:
        held.close()
