"""[grading]: autograde seconds per student through the real nbgrader path (course/trial.py),
with and without the zygote and the sandbox, a small class on the Dask engine with one and
two workers, and a model of a class of a thousand from what was measured."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from notebook_times import headless_env
from trainers import ROOT


BASELINE_STUDENT_S = 28.4
"""Grading the full solution, one student, on the code before the sandbox and the zygote
(issue 13's measurement on a 2-core machine): what the zygote's target is a third of."""
MODEL_CLASS, MODEL_WORKERS = 1000, (1, 2, 8, 32, 128)


def _timed_student(who: str, zygote: bool, sandbox: bool = True) -> float:
    import shutil

    from course.trial import run_trial

    def write(folder):
        for nb in sorted((ROOT / "submitted" / who / "divergence").glob("*.ipynb")):
            shutil.copy(nb, folder)

    trial = run_trial({who: write}, workers=1, zygote=zygote, sandbox=sandbox)
    return trial.outcomes[who].seconds


def _engine_class(workers: int, copies: int) -> dict:
    """A class of ``copies`` x (solutions, untouched, wrong) graded by the engine on a local
    cluster of ``workers`` workers, SQLite, in a scratch course."""
    import shutil

    from course import course_skeleton
    from course.engine import grade_class

    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        course = course_skeleton(Path(tmp))
        names = []
        for k in range(copies):
            for who in ("solutions", "untouched", "wrong"):
                names.append(f"{who}{k}")
                shutil.copytree(ROOT / "submitted" / who / "divergence", course / "submitted" / names[-1] / "divergence")
        start = time.perf_counter()
        report = grade_class(course, names, workers=workers, progress=False)
        wall = time.perf_counter() - start
    tasks = [r.seconds for r in report.results]
    return {"students": len(names), "wall_s": wall, "setup_s": report.setup_s,
            "coordinator_s_per_student": report.coordinator_s / len(names),
            "task_s_mean": float(np.mean(tasks)), "students_per_hour": len(names) / (wall - report.setup_s) * 3600}


def model(task_s: float, coordinator_s: float, setup_s: float, n: int = MODEL_CLASS,
          workers: tuple = MODEL_WORKERS) -> dict:
    """Hours to grade ``n`` students on N workers: the setup, then the students, limited by
    the workers (task_s / N each) or by the coordinator, which records results one at a time."""
    return {N: (setup_s + n * max(task_s / N, coordinator_s)) / 3600 for N in workers}


def section_grading(args, results):
    from nde_grader.kernel.sandbox import unavailable

    headless_env()
    names = [p.stem for p in sorted((ROOT / "source" / "divergence").glob("*.ipynb"))]
    out = {"notebooks": names}
    why = unavailable()
    out["sandbox"] = why is None
    sandbox = why is None
    print(f"  one student, one worker ({'sandboxed kernels' if sandbox else 'no sandbox: ' + why}), in turns:")
    repeats = 1 if args.quick else 2
    times = {(who, z): [] for who in ("solutions", "untouched") for z in (True, False)}
    for i in range(repeats):
        order = list(times) if i % 2 == 0 else list(reversed(times))
        for who, z in order:
            times[(who, z)].append(_timed_student(who, z, sandbox))
    med = {k: float(np.median(v)) for k, v in times.items()}
    out["student_s"] = {f"{who}, {'zygote' if z else 'fresh kernels'}": t for (who, z), t in med.items()}
    n = len(names)
    out["overhead_per_notebook_s"] = {"zygote": med[("untouched", True)] / n, "fresh": med[("untouched", False)] / n}
    out["zygote_over_fresh"] = med[("solutions", True)] / med[("solutions", False)]
    out["zygote_over_baseline"] = med[("solutions", True)] / BASELINE_STUDENT_S
    for (who, z), t in med.items():
        print(f"    {who:10} {'zygote' if z else 'fresh kernels':14} {t:6.1f} s  ({t / n:.1f} s per notebook)")
    print(f"    the zygote: {out['zygote_over_fresh']:.2f}x the time of fresh kernels; "
          f"{out['zygote_over_baseline']:.2f}x the {BASELINE_STUDENT_S} s before the zygote and the sandbox (issue 13)")
    print(f"    overhead per notebook (the untouched release): {out['overhead_per_notebook_s']['zygote']:.1f} s "
          f"with the zygote, {out['overhead_per_notebook_s']['fresh']:.1f} s with fresh kernels")
    if sandbox:
        off = float(np.median([_timed_student("solutions", True, sandbox=False) for _ in range(repeats)]))
        out["sandbox_on_s"], out["sandbox_off_s"] = med[("solutions", True)], off
        out["sandbox_ratio"] = med[("solutions", True)] / off
        print(f"    the sandbox's cost: {out['sandbox_on_s']:.1f} s with it, {off:.1f} s without: {out['sandbox_ratio']:.2f}x")
    copies = 1 if args.quick else 2
    print(f"  a class of {3 * copies} on the Dask engine (local cluster, SQLite):")
    engine = {w: _engine_class(w, copies) for w in (1, 2)}
    out["engine"] = engine
    for w, e in engine.items():
        print(f"    {w} worker{'s' if w > 1 else ' '}: {e['wall_s']:6.1f} s ({e['setup_s']:.1f} s setup), "
              f"{e['students_per_hour']:6.0f} students per hour; a task {e['task_s_mean']:.1f} s on average, "
              f"the coordinator {e['coordinator_s_per_student']:.2f} s per student")
    out["two_over_one"] = engine[2]["students_per_hour"] / engine[1]["students_per_hour"]
    print(f"    2 workers / 1 worker: {out['two_over_one']:.2f}x")
    one = engine[1]
    hours = model(one["task_s_mean"], one["coordinator_s_per_student"], one["setup_s"])
    out["model_hours"] = hours
    print(f"  a model of a class of {MODEL_CLASS} (the task time and the coordinator's share measured above):")
    print("    workers " + "".join(f"{N:>9}" for N in hours))
    print("    hours   " + "".join(f"{h:9.2f}" for h in hours.values()))
    if not args.quick:
        from course.trial import run_trial

        out["per_notebook_alone_s"] = {}
        for name in names:
            t = run_trial({"solutions": []}, notebooks=[name], sandbox=sandbox)
            out["per_notebook_alone_s"][name] = t.outcomes["solutions"].seconds
            print(f"    {name:32} graded alone: {t.outcomes['solutions'].seconds:5.1f} s (nbgrader start-up included)")
    results["grading"] = out
