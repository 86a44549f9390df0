"""Command line of the course's instructor tooling.

    python -m course regenerate [--check]   MyST -> source -> reference module -> release -> examples
    python -m course bundle [--out DIR]     write what students get: release, figures, their library
    python -m course site [--out DIR]       build the course's website (students' notebooks) into dist/site/
    python -m course grade [--student ID]   autograde submitted/ in the sandbox, feedback, the table
    python -m course similarity [--out DIR] answers that look alike, notebook by notebook (grade writes it too)
    python -m course validate NOTEBOOK      run a notebook's visible tests; non-zero exit on failure
                                            (the students' own `python -m nde_student validate`)
"""
from __future__ import annotations

import argparse
import sys

from . import CourseError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    regen = sub.add_parser("regenerate", help="rebuild source/, release/, nde_grader/reference/ and submitted/ from notebooks/")
    regen.add_argument("--check", action="store_true", help="change nothing; exit 1 when a generated file is out of date")
    bundle = sub.add_parser("bundle", help="write the student bundle (no answers, no hidden tests, no checks)")
    bundle.add_argument("--out", default="dist/student-bundle", help="folder to write (replaced); default %(default)s")
    bundle.add_argument("--zip", action="store_true", help="also write OUT.zip")
    site = sub.add_parser("site", help="build the course's website from the students' notebooks (no answers)")
    site.add_argument("--out", default="dist/site", help="folder to write (replaced); default %(default)s")
    site.add_argument("--lab-url", default="http://localhost:8888/lab/tree/",
                      help="where each page's 'Open in JupyterLab' link points, followed by the notebook's path "
                           "in the student bundle; default %(default)s")
    grade = sub.add_parser("grade", help="autograde the submissions under submitted/ and print the scores")
    grade.add_argument("--student", action="append", help="grade only this student (repeatable)")
    grade.add_argument("--db", metavar="URL", help="the class gradebook: sqlite:///PATH or postgresql://USER@HOST:PORT/DB "
                       "(default: nbgrader_config.py's CourseDirectory.db_url, the course's gradebook.db)")
    grade.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://HOST:8786 "
                       "(default: Dask's scheduler-address setting, else a local cluster)")
    grade.add_argument("--workers", type=int, help="workers of the local cluster (default: one per core)")
    grade.add_argument("--resume", action="store_true",
                       help="grade only the students not graded yet or whose files changed; write kept results")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="grade where the sandbox cannot run (not root, not Linux): kernels can then read what "
                            "the grader's user can, answers included (docs/grader.md)")
    similar = sub.add_parser("similarity", help="compare the answers under submitted/, each pair of students and each "
                             "student with the course's answers, and write a ranked report (no score changes)")
    similar.add_argument("--submitted", default=None, help="the class's folder (default: the course's submitted/)")
    similar.add_argument("--out", default=None, help="folder to write (replaced); default: the course's similarity/")
    validate = sub.add_parser("validate", help="run a notebook and its visible tests; exit 1 if any fails")
    validate.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "regenerate":
            from .build import main as regenerate

            return regenerate(check=args.check)
        if args.command == "grade":
            from .grade import main as grade_main

            return grade_main(args.student, sandbox=not args.no_sandbox, db=args.db, scheduler=args.scheduler,
                              workers=args.workers, resume=args.resume)
        if args.command == "similarity":
            from pathlib import Path

            from . import ROOT
            from .similarity import main as similarity_main

            return similarity_main(Path(args.submitted) if args.submitted else ROOT / "submitted", ROOT,
                                   Path(args.out) if args.out else None)
        if args.command == "site":
            from .site import main as site_main

            return site_main(args.out, lab_url=args.lab_url)
        if args.command == "bundle":
            from .bundle import main as bundle_main

            return bundle_main(args.out, make_zip=args.zip)
        from nde_student.selfcheck import main as validate_main

        return validate_main(args.notebooks)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
