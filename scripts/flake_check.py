"""Zero flakes: correct answers keep every point whatever the grading seed.

Autogrades, through the real ``nbgrader autograde`` path, the course's own answers under
``--seeds`` grading seeds (env NDE_GRADING_SEED, read by nde_grader.checks.grading_seed) and
the correct alternatives of catalog/ (variants with empty ``catches``) under
``--alt-seeds`` seeds, and counts the test cells that lost points (must be 0).

    python scripts/flake_check.py [--seeds 200] [--alt-seeds 50] [--first-seed 1] [--notebooks 02_gradient_descent ...]

Efficient: every seed is one nbgrader process that grades all students of that seed
(the reference and one student per group of alternatives) in one go; ``--workers``
trial courses (one gradebook each) grade seeds in parallel.
"""
from __future__ import annotations

import argparse
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course import ASSIGNMENT, ROOT, course_skeleton  # noqa: E402
from course.examples import load_catalog, write_submission  # noqa: E402
from course.autograde import autograde  # noqa: E402
from course.nbgrader_cli import nbgrader, prepare_gradebook  # noqa: E402
from course.trial import _cell_scores, batch  # noqa: E402

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="grading seeds for the course's answers (default 200)")
    parser.add_argument("--alt-seeds", type=int, default=50, help="grading seeds for the correct alternatives (default 50)")
    parser.add_argument("--notebooks", nargs="+", help="notebook stems (default: every notebook in source/)")
    parser.add_argument("--first-seed", type=int, default=1,
                        help="the first grading seed (default 1), to go on from an earlier run")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    available = sorted(p.stem for p in (ROOT / "source" / ASSIGNMENT).glob("*.ipynb"))
    notebooks = args.notebooks or available
    unknown = sorted(set(notebooks) - set(available))
    if unknown:
        parser.error(f"no such notebook in source/{ASSIGNMENT}: {unknown}")
    groups = batch([v for v in load_catalog() if v.correct and v.notebook in notebooks])
    seeds = list(range(args.first_seed, args.first_seed + max(args.seeds, args.alt_seeds)))
    print(f"{len(notebooks)} notebooks, {len(seeds)} seeds: the course's answers under {args.seeds}, "
          f"{sum(len(g) for g in groups)} correct alternatives ({len(groups)} students) under {args.alt_seeds}")

    todo: queue.Queue[int] = queue.Queue()
    for seed in seeds:
        todo.put(seed)
    failures: list[str] = []
    graded = {"ref": 0, "alt": 0}
    lock = threading.Lock()
    start = time.perf_counter()

    def worker() -> None:
        with tempfile.TemporaryDirectory(prefix="flake-check-") as tmp:
            course = course_skeleton(Path(tmp))  # the whole course; students submit only the notebooks checked
            prepare_gradebook(course)
            while True:
                try:
                    seed = todo.get_nowait()
                except queue.Empty:
                    return
                students = {}
                if seed < args.first_seed + args.seeds:
                    students[f"s{seed}-ref"] = []
                if seed < args.first_seed + args.alt_seeds:
                    students.update({f"s{seed}-alt{i}": g for i, g in enumerate(groups)})
                for name, variants in students.items():
                    write_submission(course, name, ASSIGNMENT, variants, only_varied=bool(variants), only=notebooks)
                env = {"NDE_GRADING_SEED": str(seed)}
                status, log = nbgrader(["autograde", ASSIGNMENT, f"--student=s{seed}-*", "--force"], course, env=env)
                problems = {}
                if status:  # the robust path, to learn why
                    problems = {o.student: o.problems for o in autograde(course, sorted(students), env=env)}
                with lock:
                    for name, variants in students.items():
                        # an alternative's student submits only the notebooks it varies
                        cells = _cell_scores(course, name, {x.notebook for x in variants} if variants else set(notebooks))
                        graded["alt" if "alt" in name else "ref"] += 1
                        lost = sorted(g for g, (score, top) in cells.items() if score < top)
                        if lost or not cells:
                            what = ", ".join(v.name for v in variants) or "the course's answers"
                            failures.append(f"seed {seed}, {what}: lost {lost or 'everything'} {problems.get(name, '')}")
                            print(f"  FLAKE {failures[-1]}", flush=True)
                    done = len(seeds) - todo.qsize()
                    if done % 10 == 0:
                        print(f"  {done}/{len(seeds)} seeds, {time.perf_counter() - start:.0f} s", flush=True)

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - start
    print(f"\n{len(failures)} failures in {graded['ref']} gradings of the course's answers and {graded['alt']} of "
          f"correct alternatives ({len(notebooks)} notebooks, grading seeds {seeds[0]} to {seeds[-1]}), {took:.0f} s ({took / max(len(seeds), 1):.1f} s per seed)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
