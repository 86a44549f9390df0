"""Grade part of the catalog of answers (catalog/) and show each variant's verdict.

What tests/test_grading.py asserts for the whole catalog, for the variants asked for only,
through the same real ``nbgrader autograde`` path: while writing a check or a variant, this
answers "is it graded as declared?" in a minute instead of the whole catalog's ten.

    python scripts/grade_catalog.py --notebooks 06_minibatch_bias [--variants NAME ...] [--seed N]

Prints one line per variant (ok, or what differs) and exits 1 when any is graded otherwise
than declared. ``--seed`` sets the grading seed (NDE_GRADING_SEED), as scripts/flake_check.py does.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course import ASSIGNMENT, ROOT  # noqa: E402
from course.examples import cells_that_use, load_catalog  # noqa: E402
from course.trial import batch, run_trial  # noqa: E402


def test_cells(notebook: str) -> tuple[dict[str, float], dict[str, set[str]]]:
    """grade_id -> points of the notebook's autograded test cells, and answer cell -> the test cells using it."""
    import nbformat
    from nbgrader.utils import is_grade, is_solution

    nb = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
    points = {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"]) for c in nb.cells
              if is_grade(c) and not is_solution(c) and c.cell_type == "code"}
    return points, cells_that_use(nb)


def differences(variant, got: dict, points: dict, own: set[str] | None) -> list[str]:
    """What differs from the variant's declaration (empty: graded as declared)."""
    out = []
    for grade_id, most in points.items():
        if (own is not None and grade_id not in own) or grade_id in variant.maybe:
            continue
        score = got.get(grade_id, (None, most))[0]
        if grade_id in variant.catches and score != 0:
            out.append(f"{grade_id} kept {score:g} of {most:g} (declared: caught)")
        elif grade_id not in variant.catches and score != most:
            out.append(f"{grade_id} lost points: {score:g} of {most:g} (declared: kept)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="+", required=True, help="notebook stems, e.g. 06_minibatch_bias")
    parser.add_argument("--variants", nargs="+", help="only these variants (default: every variant of the notebooks)")
    parser.add_argument("--seed", type=int, help="the grading seed (default: the grader's)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.seed is not None:
        os.environ["NDE_GRADING_SEED"] = str(args.seed)

    chosen = [v for v in load_catalog() if v.notebook in args.notebooks and (not args.variants or v.name in args.variants)]
    unknown = sorted(set(args.variants or ()) - {v.name for v in chosen})
    if unknown:
        parser.error(f"no such variant in the catalog of {args.notebooks}: {unknown}")
    students = {f"catalog{i:02d}": group for i, group in enumerate(batch(chosen))}
    print(f"{len(chosen)} variants as {len(students)} students", flush=True)
    trial = run_trial(students, only_varied=True, workers=args.workers)

    tables = {nb: test_cells(nb) for nb in args.notebooks}
    wrong = 0
    for student, group in students.items():
        for problem in trial.outcomes[student].problems:
            print(f"  {student}: {problem}")
        for v in group:
            points, uses = tables[v.notebook]
            diff = differences(v, trial.cells[student], points, uses[v.cell] if v.separate else None)
            wrong += bool(diff)
            print(f"{'ok  ' if not diff else 'DIFF'} {v.name}" + "".join(f"\n       {d}" for d in diff))
    print(f"{len(chosen) - wrong} of {len(chosen)} graded as declared")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
