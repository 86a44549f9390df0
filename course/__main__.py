"""Command line of the course's instructor tooling.

    python -m course regenerate [--check]   MyST -> source -> reference module -> release -> examples
    python -m course grade [--student ID]   autograde submitted/, write feedback, print the table
    python -m course validate NOTEBOOK      run a notebook's visible tests; non-zero exit on failure
"""
from __future__ import annotations

import argparse
import sys

from . import CourseError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    regen = sub.add_parser("regenerate", help="rebuild source/, release/, nde/reference.py and submitted/ from notebooks/")
    regen.add_argument("--check", action="store_true", help="change nothing; exit 1 when a generated file is out of date")
    grade = sub.add_parser("grade", help="autograde the submissions under submitted/ and print the scores")
    grade.add_argument("--student", action="append", help="grade only this student (repeatable)")
    validate = sub.add_parser("validate", help="run a notebook and its visible tests; exit 1 if any fails")
    validate.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "regenerate":
            from .build import main as regenerate

            return regenerate(check=args.check)
        if args.command == "grade":
            from .grade import main as grade_main

            return grade_main(args.student)
        from .validate import main as validate_main

        return validate_main(args.notebooks)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
