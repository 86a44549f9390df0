"""``python -m course grade``: autograde a class, write feedback and the exports, print the table.

The students are graded on Dask (course/engine.py; a local cluster unless a scheduler is
given), each by itself (course/autograde.py), from a vetted copy of their folder
(course/submission.py). Feedback (with MathJax beside it, for reading offline), a page
for every notebook that could not be graded, the CSV exports (grades.csv, canvas.csv:
nde_grader/gradebook_csv.py), the score table and the similarity report
(course/similarity.py) follow.

Before grading, a sandboxed process checks that it can see none of the instructor's
files; where the machine cannot give the sandbox (not Linux, no bubblewrap, no user
namespaces), grading refuses to start, saying why, unless ``--no-sandbox`` is given.
"""
from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

from . import ASSIGNMENT, ROOT, CourseError
from .nbgrader_cli import nbgrader, students
from .text import printable, report_line


def copy_mathjax(feedback: Path) -> None:
    """Put the MathJax of the course's environment (jupyter-server-mathjax) beside the
    feedback, where its pages look for it first: formulas typeset without the internet."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        print("no jupyter-server-mathjax here: feedback pages typeset formulas only where a Jupyter server serves MathJax")
        return
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = feedback / "mathjax"
    if feedback.is_dir() and not (target / "MathJax.js").exists():
        shutil.copytree(source, target, dirs_exist_ok=True)


def check_sandbox(course: Path) -> None:
    """Refuse to grade when a sandboxed kernel could reach the answers, or cannot start."""
    from nde_grader.kernel.sandbox import self_test

    hidden = [course / "source", course / "gradebook.db", course / "submitted", course / "nbgrader_config.py",
              ROOT / "nde_grader", ROOT / "notebooks", ROOT / ".git"]
    problem = self_test([p for p in hidden if p.exists()])
    if problem:
        raise CourseError(
            f"grading kernels cannot be isolated here: {problem}. Fix that, or pass --no-sandbox "
            "to grade anyway, knowing that every kernel can then read what this user can: the course's answers, "
            "hidden checks, gradebook and other students' files (docs/grader.md)"
        )


def scores(course: Path, assignment: str = ASSIGNMENT, db_url: str | None = None) -> dict[str, dict[str, tuple]]:
    """student -> notebook -> (score, max score of the cells graded so far, written answers left
    to grade by hand); the score counts a score set by hand where there is one (``grades()``
    tells which)."""
    return {student: {nb: None if g is None else (g.graded_score, g.graded_max, g.to_grade) for nb, g in row.items()}
            for student, row in grades(course, assignment, db_url).items()}


def grades(course: Path, assignment: str = ASSIGNMENT, db_url: str | None = None) -> dict:
    """student -> notebook -> nde_grader.gradebook_csv.NotebookGrade (None: not submitted), for the
    students with a folder under submitted/."""
    from nbgrader.api import Gradebook

    from nde_grader.gradebook_csv import class_grades

    with Gradebook(db_url or f"sqlite:///{course / 'gradebook.db'}") as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings
        everyone = class_grades(gb, assignment)
    return {student: everyone.get(student, {}) for student in students(course, assignment)}


def format_table(table: dict, review: set[str] = frozenset()) -> str:
    """The score table; ``table`` as ``grades()`` returns it."""
    notebooks = sorted({nb for row in table.values() for nb in row})
    width = max([len("student")] + [len(s) for s in table])
    head = f"{'student':<{width}}  " + "  ".join(f"{nb[:18]:>18}" for nb in notebooks) + "  " + f"{'total':>12}"
    lines = [head, "-" * len(head)]
    overrides = []
    for student, row in table.items():
        cells, got, out_of = [], 0.0, 0.0
        for nb in notebooks:
            g = row.get(nb)
            if g is None:
                cells.append(f"{'not graded':>18}")
                continue
            got, out_of = got + g.graded_score, out_of + g.graded_max
            mark = (" h" if g.overrides else "") + (f" +{g.to_grade}w" if g.to_grade else "")
            cells.append(f"{f'{g.graded_score:g}/{g.graded_max:g}' + mark:>18}")
            overrides += [f"  {student}: {o}" for o in g.overrides]
        lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {f'{got:g}/{out_of:g}':>12}"
                     + ("  NEEDS REVIEW" if student in review else ""))
    lines.append("(+Nw: N written answers to grade by hand in formgrader, not counted until graded; "
                 "h: a score set by hand counts instead of the autograder's, listed below)")
    if overrides:
        lines.append("scores set by hand:")
        lines += overrides
    return "\n".join(lines)


UNGRADED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
li{{overflow-wrap:anywhere}}</style></head>
<body><h1>{title}</h1><p><strong>Score: 0</strong>. This notebook could not be graded:</p>
<ul>{reasons}</ul>
<p>Hand in the notebook again as it is saved by JupyterLab (File, Save), under its own name, then ask
your instructor to grade it again.</p></body></html>
"""


def similar_answers(course: Path) -> None:
    """The similarity report of the whole class (course/similarity.py), after the grades: it
    flags pairs for a person and changes no score; a failure of it is reported, never fatal."""
    from . import similarity

    print()
    try:
        similarity.main(course / "submitted", course)
    except Exception as exc:  # noqa: BLE001 (the grades are written; the report is extra)
        print(f"the similarity report could not be made ({type(exc).__name__}: {exc}); the grades stand")


def write_ungraded_feedback(course: Path, who: list[str], assignment: str = ASSIGNMENT) -> list[Path]:
    """A feedback page for every expected notebook that nbgrader wrote none for (it was
    missing, empty, not a notebook, over its size): the score 0 and the grader's reasons."""
    import html

    from .gradebook import kept

    expected = sorted(p.stem for p in (course / "source" / assignment).glob("*.ipynb"))
    written = []
    for student in who:
        folder = course / "feedback" / student / assignment
        problems = (kept(course, student, assignment) or {}).get("problems") or []
        for name in expected:
            page = folder / f"{name}.html"
            if page.exists():
                continue
            reasons = [p for p in problems if p.startswith(f"{name}.ipynb")] or [f"{name}.ipynb was not graded"]
            folder.mkdir(parents=True, exist_ok=True)
            page.write_text(UNGRADED_PAGE.format(
                title=html.escape(f"{name} ({assignment}): not graded"),
                reasons="".join(f"<li>{html.escape(printable(r, 600))}</li>" for r in reasons)), encoding="utf-8")
            written.append(page)
    return written


def main(who: list[str] | None = None, course: Path = ROOT, sandbox: bool = True, db: str | None = None,
         scheduler: str | None = None, workers: int | None = None, resume: bool = False) -> int:
    """Grade the class on Dask (a local cluster unless ``scheduler``), write feedback and the
    export, print the table. Exit status: 0, or 1 when a student could not be graded or
    recorded, 130 when interrupted."""
    from .engine import grade_class
    from .gradebook import database_errors, default_db, safe_url

    everyone = students(course)
    if not everyone:
        raise CourseError(f"nothing to grade: no submitted/<student>/{ASSIGNMENT}/ folders under {course}")
    unknown = sorted(set(who or []) - set(everyone))
    if unknown:
        raise CourseError(f"no submitted/<student>/{ASSIGNMENT}/ folder for {', '.join(unknown)}")
    if sandbox:
        check_sandbox(course)
    else:
        print("warning: grading without the sandbox: every kernel can read the course's answers and the gradebook")
    url = db or default_db(course)
    report = grade_class(course, who or everyone, db_url=url, scheduler=scheduler, workers=workers, sandbox=sandbox,
                         resume=resume, progress=sys.stderr.isatty())
    waiting = set(report.unrecorded)
    try:
        hand = grades(course, db_url=url) if report.results and not waiting else {}
    except database_errors():
        hand, waiting = {}, waiting | {r.student for r in report.results}
    for r in sorted(report.results, key=lambda r: r.student):
        overrides = [o for g in hand.get(r.student, {}).values() if g is not None for o in g.overrides]
        how = (f"written from disk (graded earlier, in {r.seconds:.1f} s)" if r.student in report.from_disk
               else f"graded in {r.seconds:5.1f} s")
        print(f"{r.student:<16} {how}" + (":" if r.problems or r.needs_review or overrides else ""))
        if r.needs_review:
            print(f"    NEEDS REVIEW: {r.needs_review}")
        for p in r.problems:
            print(report_line(p))
        for o in overrides:
            print(f"    kept, set by hand: {o}")
    if report.skipped:
        print(f"already in the gradebook, files unchanged (--resume): {', '.join(report.skipped)}")
    for gone in report.workers_lost:
        print(f"worker lost during the run: {gone}")
    for student, times in sorted(report.retried.items()):
        print(f"{student}: started again {times} time{'s' if times > 1 else ''} after a worker died")
    for why in report.lock_lost:
        print(f"warning: the run's lock on the gradebook was lost ({why}): another grade command may have run too")
    if report.interrupted:
        print(f"interrupted: every grade made so far is kept; not graded yet: {', '.join(report.not_graded) or 'none'}. "
              "Run `python -m course grade --resume` to grade the rest.")
        return 130
    if waiting:
        print(f"\nthe gradebook {safe_url(url)} cannot be reached: the grades of {', '.join(sorted(waiting))} are kept in "
              f"autograded/<student>/{ASSIGNMENT}/ and are written by `python -m course grade --resume` once it "
              "answers. No feedback or export was made: they would come from an incomplete gradebook.")
        return 1
    db_args = [f"--CourseDirectory.db_url={url}"]
    status, log = nbgrader(["generate_feedback", ASSIGNMENT, "--force", "--log-level=WARN", *db_args], course)
    if status:
        print(f"generate_feedback reported a problem:\n{log}")
    write_ungraded_feedback(course, who or everyone)
    copy_mathjax(course / "feedback")
    for exporter, to in (("CourseGrades", "grades.csv"), ("CanvasGrades", "canvas.csv")):
        status, log = nbgrader(["export", f"--exporter=nde_grader.gradebook_csv.{exporter}", f"--to={to}",
                                "--log-level=WARN", *db_args], course)
        if status:
            print(f"export to {to} reported a problem:\n{log}")
    table = grades(course, db_url=url)
    print()
    print(format_table(table, review={r.student for r in report.results if r.needs_review}))
    print(f"\nFeedback: {course / 'feedback'}/<student>/{ASSIGNMENT}/*.html   "
          f"Export: {course / 'grades.csv'}, {course / 'canvas.csv'} (Canvas: Grades > Import)")
    similar_answers(course)
    print(f"{len(report.results) - len(report.from_disk)} graded, {len(report.from_disk)} written from disk, "
          f"in {report.seconds:.0f} s")
    return 1 if any(r.needs_review for r in report.results) else 0
