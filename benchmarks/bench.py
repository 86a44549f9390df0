#!/usr/bin/env python
"""Benchmarks of the course: trainer speed, estimate accuracy, notebook and grading times.

    python benchmarks/bench.py                 # everything (about 25 minutes on 2 CPU cores: the staircase's separable critics)
    python benchmarks/bench.py --only staircase --staircase-full   # the staircase with both critics (2.5 hours here)
    python benchmarks/bench.py --quick         # a smoke test: fewer repeats and seeds
    python benchmarks/bench.py --only speed accuracy --json /tmp/bench.json

Sections (benchmarks/README.md says what each number means):

  speed      seconds per optimiser step of the course's ``DVTrainer`` (nde_grader.reference) against the
             seed notebook's loop (benchmarks/seed_loop.py), on the CPU and on CUDA
             when there is a GPU; runs interleaved, medians reported.
  ablation   the same timing for the seed loop with one change at a time (one forward
             pass, no per-step sync, ...): what each change is worth.
  accuracy   held-out error of the course's trainer against -1/2 log(1-rho^2), next to
             the noise floor: the spread of the DV estimate with the optimal critic.
  notebooks  wall time to execute every notebook of source/divergence/ headless.
  grading    autograde seconds per submission (the course's own answers), through
             the real nbgrader path of course/trial.py.
  estimators bias and sd of DV, NWJ, InfoNCE and SMILE (notebook 07), each trained the same
             way for rho in 0.5, 0.9, 0.99, 0.999, next to each one's noise floor with the
             optimal critic; plotted (--plot PATH).
  staircase  the staircase benchmark of MI estimators (benchmarks/staircase.py): MINE, NWJ,
             InfoNCE, NWJ trained with Jensen-Shannon and SMILE (tau = 1, 5, inf) as I steps
             2 -> 10 nats, their 14 critics trained together against one by one; writes
             artifacts/bench/staircase.png and staircase.json.

Every target is printed with PASS or MISS at the end (SKIP when it cannot be measured
here, e.g. CUDA on a machine without a GPU).

One module per section, this file the command around them (targets, verdicts, JSON):
speed.py (speed, ablation), accuracy.py, notebook_times.py, grading_times.py,
estimators.py, staircase.py; trainers.py holds what the first three share (the problem,
its noise floor, the trainers, the interleaved timing), seed_loop.py the seed's loop.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(HERE), str(ROOT)):  # the other benchmarks; nde_grader and course when not installed
    if _path not in sys.path:
        sys.path.append(_path)

from accuracy import section_accuracy  # noqa: E402
from estimators import section_estimators  # noqa: E402
from grading_times import section_grading  # noqa: E402
from notebook_times import section_notebooks  # noqa: E402
from speed import section_ablation, section_speed  # noqa: E402
from trainers import DEFAULT_THREADS  # noqa: E402

TARGETS = {
    "cpu_speedup": "course trainer >= 2x faster per step than the seed loop on CPU",
    "cuda_vs_cpu": "course trainer faster per step on CUDA than on this machine's CPU",
    "accuracy": "held-out |error| within one noise-floor sd on >= 9 of 10 seeds, each rho <= 0.95",
    "notebooks": "all notebooks execute headless in < 60 s in total",
    "grading": "with the zygote, one student takes <= 1/3 of the time before it, on one worker",
    "grading_scaling": "2 workers grade >= 1.8x as many students per hour as 1",
    "grading_overhead": "overhead per notebook (the untouched release) <= 1 s with the zygote",
    "staircase_speedup": "the staircase's separable critics trained together >= 4x the steps/s of one by one",
}


# ----------------------------------------------------------------------------- staircase

def section_staircase(args, results):
    """The staircase of Poole et al. (2019) and Song and Ermon (2020): benchmarks/staircase.py.
    --quick: 100 steps a stage, separable critics; else 4,000 steps a stage, separable
    critics (13 minutes on 2 CPU cores), and with --staircase-full the concat critics too
    (2.5 hours: benchmarks/README.md). On the CPU only."""
    import staircase

    critics = None if args.quick or args.staircase_full else ("separable",)
    results["staircase"] = staircase.run(quick=args.quick, critics=critics, out_dir=ROOT / "artifacts" / "bench")


# ----------------------------------------------------------------------------- verdicts

def verdicts(results) -> dict:
    v = {}
    speed = results.get("speed", {})
    cpu = speed.get("cpu", {})
    if "course" in cpu:
        ratio = cpu["course"]["speedup_vs_baseline"]
        v["cpu_speedup"] = ("PASS" if ratio >= 2 else "MISS", f"{ratio:.2f}x")
    else:
        v["cpu_speedup"] = ("SKIP", "not measured (no course trainer or section not run)")
    if "cuda_vs_cpu" in speed:
        r = speed["cuda_vs_cpu"]
        v["cuda_vs_cpu"] = ("PASS" if r > 1 else "MISS", f"CPU/CUDA = {r:.2f}x")
    else:
        v["cuda_vs_cpu"] = ("SKIP", "no CUDA device here" if not torch.cuda.is_available() else "not measured")
    acc = results.get("accuracy", {})
    rows = {k: r for k, r in acc.items() if isinstance(r, dict) and "within_1sd" in r and float(k) <= 0.95}
    if rows:
        seeds = acc["seeds"]
        need = math.ceil(0.9 * seeds)
        ok = all(r["within_1sd"] >= need for r in rows.values())
        detail = ", ".join(f"rho {k}: {r['within_1sd']}/{seeds}" for k, r in rows.items())
        if seeds == 10:
            chance = max(r["floor"]["p_9_of_10"] for r in rows.values())
            detail += f" (the optimal critic itself would pass with probability <= {chance:.2f})"
        v["accuracy"] = ("PASS" if ok else "MISS", detail)
    else:
        v["accuracy"] = ("SKIP", "not measured")
    nbs = results.get("notebooks")
    if nbs:
        clean = not nbs["problems"]
        ok = nbs["total"] < 60 and clean
        v["notebooks"] = ("PASS" if ok else "MISS", f"{nbs['total']:.1f} s" + ("" if clean else f", problems in {sorted(nbs['problems'])}"))
    else:
        v["notebooks"] = ("SKIP", "not measured")
    g = results.get("grading")
    if g:
        ratio = g["zygote_over_baseline"]
        v["grading"] = ("PASS" if ratio <= 1 / 3 else "MISS",
                        f"one student with the zygote: {ratio:.2f}x the time before it (target <= 0.33), "
                        f"{g['zygote_over_fresh']:.2f}x fresh kernels in this run")
        two = g["two_over_one"]
        v["grading_scaling"] = ("PASS" if two >= 1.8 else "MISS", f"2 workers / 1: {two:.2f}x")
        over = g["overhead_per_notebook_s"]["zygote"]
        v["grading_overhead"] = ("PASS" if over <= 1 else "MISS", f"{over:.1f} s per notebook")
    else:
        for key in ("grading", "grading_scaling", "grading_overhead"):
            v[key] = ("SKIP", "not measured")
    speed = results.get("staircase", {}).get("speed", {})
    if "separable" in speed:
        ratio = speed["separable"]["ratio"]
        detail = "; ".join(f"{kind}: {r['ratio']:.2f}x (at most {r['ceiling_ratio']:.2f}x at the matrix products' floor)"
                           for kind, r in speed.items())
        v["staircase_speedup"] = ("PASS" if ratio >= 4 else "MISS", detail)
    else:
        v["staircase_speedup"] = ("SKIP", "not measured")
    return v


SECTIONS = {
    "speed": section_speed,
    "ablation": section_ablation,
    "accuracy": section_accuracy,
    "notebooks": section_notebooks,
    "grading": section_grading,
    "estimators": section_estimators,
    "staircase": section_staircase,
}


def plain(value):
    """JSON for the NumPy scalars among the results (np.float64 from the closed form, np.int64 counts)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def machine() -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and seeds: a smoke test")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all",
                        help="devices to time (all: the CPU, and CUDA when present)")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--staircase-full", action="store_true",
                        help="the staircase with the concat critics too (2.5 hours on 2 CPU cores)")
    parser.add_argument("--compile", action="store_true", help="add torch.compile(net) to the ablation (slow to start)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads for every run (default 1; 0: torch's default, "
                             f"{DEFAULT_THREADS} here). Small nets on a busy machine: see docs/performance.md")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH")
    parser.add_argument("--keep-notebooks", metavar="DIR", help="write the executed notebooks of [notebooks] to DIR")
    parser.add_argument("--plot", metavar="PATH", help="where [estimators] draws its figure (default: "
                        "nde-bench-estimators.png in the temporary folder; artifacts/ is ignored by git)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    results = {"machine": machine(), "quick": args.quick, "threads": torch.get_num_threads()}
    m = results["machine"]
    print(f"torch {m['torch']} on {m['cpu_count']} CPU cores ({m['torch_threads']} torch threads)"
          + (f", GPU {m['cuda']}" if m["cuda"] else ", no GPU") + (f"; load average {m['load_average'][0]:.2f}" if "load_average" in m else ""))
    for name in args.only or list(SECTIONS):
        print(f"\n[{name}]")
        start = time.perf_counter()
        SECTIONS[name](args, results)
        print(f"  ({time.perf_counter() - start:.0f} s)")

    results["verdicts"] = verdicts(results)
    print("\n[targets]")
    for key, (verdict, detail) in results["verdicts"].items():
        print(f"  {verdict:4}  {TARGETS[key]}: {detail}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=plain) + "\n")
        print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
