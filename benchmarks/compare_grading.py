"""What grading one student costs here against another revision of the course, side by side.

    python benchmarks/compare_grading.py [--base REV] [--repeats N] [--notebooks 02_gradient_descent ...]

Checks out ``--base`` (default: the first parent of HEAD) into a temporary git worktree and
times, in turns (this tree, the base, this tree, ...), the grading of one student holding
the course's answers through the real path (``course.trial.run_trial``, nbgrader, the
sandbox where the machine gives it, the zygote), each in a process of its own that imports
the course's packages from its tree (the students' library and the environment are this
one's: they are the same in both). Prints the median of each and the ratio; machines here
are noisy, so only the ratio measured in one run means something.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_TIME = r"""
import json, sys, time
from course.trial import run_trial
notebooks = json.loads(sys.argv[1]) or None
start = time.perf_counter()
trial = run_trial({"solutions": []}, notebooks=notebooks, workers=1)
seconds = time.perf_counter() - start
lost = {g: s for g, s in trial.cells["solutions"].items() if s[0] < s[1]}
print(json.dumps({"seconds": seconds, "lost": lost}))
"""


def _time(tree: Path, notebooks: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    done = subprocess.run([sys.executable, "-c", _TIME, json.dumps(notebooks)], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"grading in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="the revision to compare with (default: HEAD~1)")
    parser.add_argument("--repeats", type=int, default=3, help="gradings of each tree, in turns (default 3)")
    parser.add_argument("--notebooks", nargs="*", default=[], help="grade only these notebooks (default: all)")
    args = parser.parse_args(argv)
    base = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="nde-compare-") as tmp:
        other = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(other), base], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            times = {"this tree": [], f"base {base}": []}
            trees = {"this tree": ROOT, f"base {base}": other}
            for i in range(args.repeats):
                for label in (list(trees) if i % 2 == 0 else list(reversed(trees))):
                    got = _time(trees[label], args.notebooks)
                    times[label].append(got["seconds"])
                    lost = f", lost {got['lost']}" if got["lost"] else ""
                    print(f"  {label:14} {got['seconds']:6.1f} s{lost}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, capture_output=True)
    medians = {label: statistics.median(t) for label, t in times.items()}
    mine, theirs = medians["this tree"], medians[f"base {base}"]
    print(f"one student ({', '.join(args.notebooks) or 'every notebook'}), median of {args.repeats}: "
          f"this tree {mine:.1f} s, base {base} {theirs:.1f} s: {mine / theirs:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
