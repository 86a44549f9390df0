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
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # nde_grader and course, when the package is not installed

from seed_loop import SeedLoop, SeedNet, seed_dv  # noqa: E402

from nde_grader.reference import ground_truth as truth, t_star  # noqa: E402

N = 1000  # samples of Z and of Z' (training), and again for the held-out set
ITERS = 10  # minibatches per epoch
EPOCHS = 100  # epochs of one training run
CALLS = 10  # a run is CALLS calls of step(EPOCHS // CALLS), as the notebooks call it
LR = 1e-3
RHOS = (0.81, 0.9, 0.95, 0.99)
DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice on this machine, before --threads

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


# ----------------------------------------------------------------------------- problem

def gaussian_problem(rho: float, seed: int, n: int = N, n_ref: int = N):
    """Training and held-out samples for one rho: (Z, Z', Z_test, Z'_test), float32 numpy.

    Z ~ N(0, [[1, rho], [rho, 1]]), Z' ~ N(0, I), four independent streams.
    """
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, round(rho * 10_000)]).spawn(4)]

    def joint(rng, m):
        x = rng.standard_normal(m)
        y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(m)
        return np.stack([x, y], axis=1).astype(np.float32)

    def product(rng, m):
        return rng.standard_normal((m, 2)).astype(np.float32)

    return joint(streams[0], n), product(streams[1], n_ref), joint(streams[2], n), product(streams[3], n_ref)


def noise_floor(rho: float, seeds: int, n: int = N, n_ref: int = N) -> dict:
    """Mean error and sd of the DV estimate with the optimal critic at sample size n, n'."""
    rng = np.random.default_rng([7, round(rho * 10_000)])
    estimates = []
    for start in range(0, seeds, 250):
        s = min(250, seeds - start)
        x = rng.standard_normal((s, n))
        z = np.stack([x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((s, n))], axis=-1)
        z_ref = rng.standard_normal((s, n_ref, 2))
        t_ref = t_star(z_ref, rho)
        top = t_ref.max(axis=1, keepdims=True)
        log_mean_exp = top[:, 0] + np.log(np.exp(t_ref - top).mean(axis=1))
        estimates.append(t_star(z, rho).mean(axis=1) - log_mean_exp)
    err = np.concatenate(estimates) - truth(rho)
    sd = float(err.std(ddof=1))
    # How often even the optimal critic lands within one sd (about 68% for a normal error), and
    # hence the chance that it would meet ">= 9 of 10 seeds within 1 sd" (binomial tail).
    p = float(np.mean(np.abs(err) <= sd))
    p_nine = p**10 + 10 * p**9 * (1 - p)
    return {"seeds": seeds, "mean_error": float(err.mean()), "sd": sd, "within_1sd_fraction": p, "p_9_of_10": p_nine}


# ----------------------------------------------------------------------------- trainers

def course_api():
    """The course's DVTrainer and Net (nde_grader.reference), or None with the reason when they are not there yet."""
    try:
        import nde_grader.reference as reference

        return reference.DVTrainer, reference.Net
    except Exception as exc:  # the reference module is generated; it may lack them
        return None, f"{type(exc).__name__}: {exc}"


def make_course(device, held_out=None, **optimizer_kwargs):
    DVTrainer, Net = course_api()
    optimizer_kwargs.setdefault("lr", LR)

    def make(Z, Z_ref):
        logs = tempfile.TemporaryDirectory(prefix="bench-course-runs-", ignore_cleanup_errors=True)  # never ./runs in the tree
        trainer = DVTrainer(Z, Z_ref, Net().to(device), ITERS, writer_params={"log_dir": logs.name},
                            held_out=held_out, **optimizer_kwargs)
        trainer._bench_logs = logs
        return trainer

    return make


def finish(trainer) -> None:
    """Close a trainer's TensorBoard writer, then delete its temporary log folder."""
    if hasattr(trainer, "close"):
        trainer.close()
        return
    writer = getattr(trainer, "writer", None)
    if writer is not None:
        writer.close()
    logs = getattr(trainer, "_bench_logs", None)
    if logs is not None:
        logs.cleanup()


def make_seed(device):
    def make(Z, Z_ref):
        return SeedLoop(Z, Z_ref, SeedNet().to(device), ITERS, lr=LR)

    return make


class VariantLoop:
    """The seed loop with the changes of the ablation switched on one by one.

    concat           one forward pass on torch.cat((batch, batch_ref)) instead of two
    sync_per_step    loss.item() every step (seed); False: the epoch's losses are read
                     back in one transfer after the epoch
    writer           log to TensorBoard (seed); False: no SummaryWriter at all
    perm_on_device   torch.randperm(..., device=...) instead of on the CPU
    adam             None (torch's default), "foreach" or "fused"
    estimate_every   "epoch" (seed) or "call": the estimate once per step() call
    threads          torch.set_num_threads during the run (None: leave it)
    compile          torch.compile the network
    """

    def __init__(self, Z, Z_ref, net, *, concat=False, sync_per_step=True, writer=True, perm_on_device=False,
                 adam=None, estimate_every="epoch", threads=None, compile=False):
        self.Z, self.Z_ref, self.net = Z, Z_ref, net
        self.fwd = torch.compile(net) if compile else net
        self.concat, self.sync_per_step, self.perm_on_device = concat, sync_per_step, perm_on_device
        self.estimate_every, self.threads = estimate_every, threads
        kw = {"foreach": True} if adam == "foreach" else {"fused": True} if adam == "fused" else {}
        self.optimizer = torch.optim.Adam(net.parameters(), lr=LR, **kw)
        self._tmp, self.writer = None, None
        if writer:
            from torch.utils.tensorboard import SummaryWriter

            self._tmp = tempfile.TemporaryDirectory(prefix="bench-runs-", ignore_cleanup_errors=True)
            self.writer = SummaryWriter(log_dir=self._tmp.name)
        self.n_iter = self.n_epoch = 0

    def _dv(self, Z, Z_ref):
        if not self.concat:
            return seed_dv(Z, Z_ref, self.fwd)
        t = self.fwd(torch.cat((Z, Z_ref)))
        t_Z, t_ref = t[: len(Z)], t[len(Z):]
        return t_Z.mean() - (torch.logsumexp(t_ref, dim=0).squeeze() - math.log(len(Z_ref)))

    def step(self, epochs=1):
        saved = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            return self._step(epochs)
        finally:
            torch.set_num_threads(saved)

    def _step(self, epochs):
        perm_device = self.Z.device if self.perm_on_device else "cpu"
        estimate = float("nan")
        for e in range(epochs):
            self.n_epoch += 1
            order = torch.randperm(len(self.Z), device=perm_device)
            order_ref = torch.randperm(len(self.Z_ref), device=perm_device)
            losses = []
            for j in range(ITERS):
                self.n_iter += 1
                self.optimizer.zero_grad()
                loss = -self._dv(self.Z[order[j::ITERS]], self.Z_ref[order_ref[j::ITERS]])
                loss.backward()
                self.optimizer.step()
                if self.sync_per_step:
                    value = loss.item()
                    if self.writer:
                        self.writer.add_scalar("Loss/train", value, global_step=self.n_iter)
                else:
                    losses.append(loss.detach())
            if losses and self.writer:
                first = self.n_iter - len(losses) + 1
                for i, value in enumerate(torch.stack(losses).tolist()):
                    self.writer.add_scalar("Loss/train", value, global_step=first + i)
            if self.estimate_every == "epoch" or e == epochs - 1:
                with torch.no_grad():
                    estimate = self._dv(self.Z, self.Z_ref).item()
                if self.writer:
                    self.writer.add_scalar("Estimate", estimate, global_step=self.n_epoch)
        return estimate

    def close(self):
        if self.writer:
            self.writer.close()
            self._tmp.cleanup()


ABLATION = {
    "seed loop (baseline)": {},
    "one forward pass on cat(B, B')": {"concat": True},
    "losses read once per epoch": {"sync_per_step": False},
    "no TensorBoard writer": {"writer": False, "sync_per_step": False},
    "randperm on the device": {"perm_on_device": True},
    "Adam(foreach=True)": {"adam": "foreach"},
    "Adam(fused=True)": {"adam": "fused"},
    "estimate once per step() call": {"estimate_every": "call"},
    "all of the above": {"concat": True, "sync_per_step": False, "perm_on_device": True, "adam": "foreach",
                         "estimate_every": "call"},
    # The floor of eager PyTorch for this algorithm: one forward pass, backward and a fused
    # Adam step per minibatch, and nothing else (no log, one estimate per call). No trainer
    # that logs and estimates as the lesson asks can be faster than this.
    "floor: forward, backward, fused Adam": {"concat": True, "sync_per_step": False, "writer": False,
                                             "perm_on_device": True, "adam": "fused", "estimate_every": "call"},
}


def make_variant(device, options):
    def make(Z, Z_ref):
        return VariantLoop(Z, Z_ref, SeedNet().to(device), **options)

    return make


# ----------------------------------------------------------------------------- timing

def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def build(make, device, seed=0):
    """A fresh trainer on the problem rho = 0.9 used for every timing."""
    Z, Z_ref, _, _ = gaussian_problem(0.9, seed)
    torch.manual_seed(seed)
    return make(torch.from_numpy(Z).to(device), torch.from_numpy(Z_ref).to(device))


def timed_call(trainer, device, epochs) -> tuple[float, float]:
    """(wall, CPU) seconds per optimiser step of one call trainer.step(epochs)."""
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    trainer.step(epochs)
    sync(device)
    steps = epochs * ITERS
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def interleaved(contenders: dict, device, repeats, epochs, calls, baseline) -> dict:
    """Seconds per step of each contender, measured call by call, interleaved.

    Each repeat builds a fresh trainer per contender, then makes ``calls`` calls of
    step(epochs // calls) on each, the contenders taking turns (in a shuffled order)
    call after call.  A busy machine then slows all contenders alike, and the ratio
    baseline / contender of the two calls of the same turn cancels most of it: the
    reported speed-up is the median of those paired ratios.
    """
    names = list(contenders)
    for name in names:  # warm-up: first-call costs (allocator, kernels, lazy imports)
        trainer = build(contenders[name], device)
        timed_call(trainer, device, 1)
        finish(trainer)
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    shuffle = random.Random(0)
    for r in range(repeats):
        trainers = {name: build(contenders[name], device, seed=r) for name in names}
        for _ in range(calls):
            shuffle.shuffle(names)
            for name in names:
                w, c = timed_call(trainers[name], device, epochs // calls)
                wall[name].append(w)
                cpu[name].append(c)
        for t in trainers.values():
            finish(t)
    out = {}
    for name in contenders:
        ratios = [b / t for b, t in zip(wall[baseline], wall[name])]
        out[name] = {
            "ms_per_step": 1e3 * statistics.median(wall[name]),
            "ms_min": 1e3 * min(wall[name]),
            "ms_max": 1e3 * max(wall[name]),
            "cpu_ms_per_step": 1e3 * statistics.median(cpu[name]),
            "speedup_vs_baseline": statistics.median(ratios),
            "cpu_speedup_vs_baseline": statistics.median(cpu[baseline]) / statistics.median(cpu[name]),
            "calls": len(wall[name]),
        }
    return out


def devices(choice: str) -> list[str]:
    if choice == "cpu":
        return ["cpu"]
    if choice == "cuda":
        return ["cuda"] if torch.cuda.is_available() else []
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def section_speed(args, results):
    repeats = 2 if args.quick else 5
    epochs = 20 if args.quick else EPOCHS
    calls = 2 if args.quick else CALLS
    DVTrainer, why = course_api()
    out = {"epochs_per_run": epochs, "calls_per_run": calls, "repeats": repeats, "torch_threads": torch.get_num_threads()}
    if DVTrainer is None:
        print(f"  the course's trainer cannot be imported from nde_grader.reference ({why}): timing the seed loop only")
    if not torch.cuda.is_available():
        print("  no CUDA device here: the CUDA timings are skipped")
    for device in devices(args.device):
        contenders = {"seed": make_seed(device)}
        if DVTrainer is not None:
            contenders["course"] = make_course(device)
        res = interleaved(contenders, device, repeats, epochs, calls, baseline="seed")
        out[device] = res
        print(f"  {device}: {repeats} runs of {epochs} epochs x {ITERS} steps each, as {calls} calls of step({epochs // calls}),"
              " interleaved call by call; medians")
        for name, r in res.items():
            print(f"    {name:8} {r['ms_per_step']:6.2f} ms/step (fastest call {r['ms_min']:.2f}, slowest {r['ms_max']:.2f})"
                  f"   CPU time {r['cpu_ms_per_step']:6.2f} ms/step")
        if "course" in res:
            c = res["course"]
            print(f"    seed/course = {c['speedup_vs_baseline']:.2f}x wall (median of paired calls),"
                  f" {c['cpu_speedup_vs_baseline']:.2f}x CPU time")
    if "cpu" in out and "cuda" in out and "course" in out["cpu"]:
        out["cuda_vs_cpu"] = out["cpu"]["course"]["ms_per_step"] / out["cuda"]["course"]["ms_per_step"]
        print(f"  course trainer: CPU/CUDA time per step = {out['cuda_vs_cpu']:.2f}x (CPU with {torch.get_num_threads()} threads)")
    results["speed"] = out


def section_ablation(args, results):
    repeats = 2 if args.quick else 3
    epochs = 10 if args.quick else 20
    calls = 2 if args.quick else 4
    variants = dict(ABLATION)
    if args.compile:
        variants["torch.compile(net)"] = {"compile": True}
    out = {"epochs_per_run": epochs, "calls_per_run": calls, "repeats": repeats}
    base = "seed loop (baseline)"
    for device in devices(args.device):
        contenders = {name: make_variant(device, opts) for name, opts in variants.items()}
        if course_api()[0] is not None:  # the course's trainer as it is, and with fused Adam
            contenders["course trainer"] = make_course(device)
            contenders["course trainer, Adam(fused=True)"] = make_course(device, fused=True)
        res = interleaved(contenders, device, repeats, epochs, calls, baseline=base)
        if device == "cpu" and DEFAULT_THREADS != torch.get_num_threads():
            # slow on a busy machine: a short separate measurement, two calls of one epoch
            name = f"torch's default threads ({DEFAULT_THREADS})"
            pair = {base: make_variant(device, {}), name: make_variant(device, {"threads": DEFAULT_THREADS})}
            res[name] = interleaved(pair, device, repeats, 2, 2, baseline=base)[name]
        out[device] = res
        print(f"  {device}: {repeats} runs of {epochs} epochs x {ITERS} steps per variant, as {calls} calls,"
              " interleaved call by call; speed-up = seed / variant (median of paired calls)")
        print(f"    {'variant':34} {'ms/step':>8} {'fastest':>8}  {'speed-up':>8}  {'CPU-time speed-up':>17}")
        for name, r in res.items():
            print(f"    {name:34} {r['ms_per_step']:8.2f} {r['ms_min']:8.2f}  {r['speedup_vs_baseline']:7.2f}x"
                  f"  {r['cpu_speedup_vs_baseline']:16.2f}x")
    results["ablation"] = out


def section_accuracy(args, results):
    seeds = 3 if args.quick else 10
    floor_seeds = 500 if args.quick else 4000
    device = "cuda" if args.device == "cuda" and torch.cuda.is_available() else "cpu"
    DVTrainer, Net = course_api()
    if DVTrainer is None:
        print(f"  the course's trainer is not in nde_grader.reference yet ({Net}): skipped")
        results["accuracy"] = {"skipped": Net}
        return
    out = {"seeds": seeds, "device": device, "epochs": EPOCHS, "n": N}
    print(f"  {'rho':>5} {'D':>6} {'floor sd':>9} {'floor bias':>10} {'mean err':>9} {'sd err':>7} {'worst':>7} {'within 1 sd':>11}"
          f"   {'optimal critic: within 1 sd, P(>=9/10)':>40}")
    for rho in RHOS:
        floor = noise_floor(rho, floor_seeds)
        errors = []
        for seed in range(seeds):
            Z, Z_ref, Z_test, Z_ref_test = (torch.from_numpy(a).to(device) for a in gaussian_problem(rho, seed))
            torch.manual_seed(seed)
            trainer = make_course(device, held_out=(Z_test, Z_ref_test))(Z, Z_ref)
            estimate = trainer.step(EPOCHS)
            finish(trainer)
            errors.append(float(estimate) - truth(rho))
        within = int(sum(abs(e) <= floor["sd"] for e in errors))
        row = {"truth": truth(rho), "floor": floor, "errors": errors, "mean_error": statistics.mean(errors),
               "sd_error": statistics.stdev(errors) if len(errors) > 1 else 0.0,
               "worst": min(errors, key=lambda e: -abs(e)), "within_1sd": within}
        out[str(rho)] = row
        print(f"  {rho:5.2f} {truth(rho):6.3f} {floor['sd']:9.3f} {floor['mean_error']:+10.3f} {row['mean_error']:+9.3f}"
              f" {row['sd_error']:7.3f} {row['worst']:+7.3f} {within:>6}/{seeds}"
              f"   {floor['within_1sd_fraction']:>28.0%}, {floor['p_9_of_10']:.2f}")
    results["accuracy"] = out


def headless_env():
    os.environ["NDE_HEADLESS"] = "1"
    os.environ.setdefault("MPLBACKEND", "agg")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")


def section_notebooks(args, results):
    import nbformat
    from nbclient import NotebookClient

    headless_env()
    paths = sorted((ROOT / "source" / "divergence").glob("*.ipynb"))
    out = {"per_notebook": {}, "problems": {}}
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as tmp:
        for path in paths:  # run copies, so that nothing a notebook writes lands in the tree
            work = Path(tmp) / "source" / "divergence"
            work.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, work)
            nb = nbformat.read(work / path.name, as_version=4)
            client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                                    resources={"metadata": {"path": str(work)}})
            start = time.perf_counter()
            client.execute()
            seconds = time.perf_counter() - start
            problems = []
            for cell in nb.cells:
                for o in cell.get("outputs", []):
                    if o.output_type == "error":
                        problems.append(f"error {o.ename}: {o.evalue}"[:120])
                    elif o.output_type == "stream" and o.name == "stderr":
                        problems.append("stderr: " + o.text.strip().splitlines()[0][:110] if o.text.strip() else "stderr")
            out["per_notebook"][path.stem] = seconds
            if args.keep_notebooks:  # the executed notebooks, outputs and all, to read afterwards
                Path(args.keep_notebooks).mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, Path(args.keep_notebooks) / path.name)
            if problems:
                out["problems"][path.stem] = problems
            print(f"  {path.stem:34} {seconds:6.1f} s" + (f"   {len(problems)} problem(s): {problems[0]}" if problems else ""))
    out["total"] = sum(out["per_notebook"].values())
    print(f"  {'total':34} {out['total']:6.1f} s  ({len(paths)} notebooks, each in a fresh kernel)")
    results["notebooks"] = out


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

    from course.engine import grade_class

    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        course = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        for tree in ("source", "release"):
            shutil.copytree(ROOT / tree / "divergence", course / tree / "divergence")
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
    from nde_grader.sandbox import unavailable

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


# ----------------------------------------------------------------------------- estimators

MI_RHOS = (0.5, 0.9, 0.99, 0.999)
MI_K = 16  # pairs per batch: the K x K score matrix of notebook 07
MI_TAU = 1.0  # SMILE's clipping
MI_LR = 1e-3
MI_TEST = 1024  # held-out pairs per evaluation (64 batches of K for InfoNCE)
MI_ESTIMATORS = ("DV", "NWJ", "InfoNCE", "SMILE")


def _mi_pairs(rho: float, n: int, generator, device) -> torch.Tensor:
    """n pairs (x, y) of N(0, [[1, rho], [rho, 1]]), float32 on ``device``."""
    w = torch.randn(n, 2, generator=generator)
    return torch.stack([w[:, 0], rho * w[:, 0] + math.sqrt(1 - rho**2) * w[:, 1]], dim=1).to(device)


def _mi_scores(critic, Z: torch.Tensor) -> torch.Tensor:
    """S[..., i, j] = critic((x_i, y_j)) for batches Z of shape (..., K, 2)."""
    K = Z.shape[-2]
    x = Z[..., :, None, 0].expand(*Z.shape[:-2], K, K)
    y = Z[..., None, :, 1].expand(*Z.shape[:-2], K, K)
    return critic(torch.stack([x, y], dim=-1).reshape(-1, 2)).reshape(*Z.shape[:-2], K, K)


def _mi_objectives(ref) -> dict:
    """The objective each critic is trained with, on a K x K score matrix (notebook 07): DV and NWJ
    read the diagonal as the samples of P_XY and the other entries as the shuffled reference;
    "JS" (Jensen-Shannon, whose best critic is t*) trains the critic SMILE reads, as Song and
    Ermon do."""
    off = ~torch.eye(MI_K, dtype=torch.bool)

    def split(S):
        return S.diagonal(), S[off.to(S.device)]

    return {
        "DV": lambda S: ref.DV(split(S)[0][:, None], split(S)[1][:, None], lambda v: v),
        "NWJ": lambda S: ref.nwj(*split(S)),
        "InfoNCE": ref.infonce,
        "JS": lambda S: -F.softplus(-split(S)[0]).mean() - F.softplus(split(S)[1]).mean(),
    }


def _mi_train(ref, objective, rho: float, seed: int, steps: int, device) -> torch.nn.Module:
    """The course's Net trained by Adam to maximise ``objective`` on batches of K pairs at rho."""
    torch.manual_seed(seed)
    net = ref.Net().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=MI_LR)
    generator = torch.Generator().manual_seed(10_000 + seed)  # the same batches for every objective
    for _ in range(steps):
        value = objective(_mi_scores(net, _mi_pairs(rho, MI_K, generator, device)))
        optimizer.zero_grad()
        (-value).backward()
        optimizer.step()
    return net


def _mi_evaluate(ref, critics: dict, rho: float, generator, device) -> dict:
    """Each estimator on fresh held-out pairs, with its critic: DV, NWJ and SMILE on MI_TEST
    pairs and their shuffled reference (notebook 07's shuffle_reference), InfoNCE averaged over
    the MI_TEST / K batches of K pairs. SMILE reads the critic trained with Jensen-Shannon, as in
    notebook 07."""
    Z = _mi_pairs(rho, MI_TEST, generator, device)
    Z_ref = ref.shuffle_reference(Z, generator)
    out = {}
    with torch.no_grad():
        for name in ("DV", "NWJ", "SMILE"):
            critic = critics["JS" if name == "SMILE" else name]
            t, t_ref = critic(Z).squeeze(-1), critic(Z_ref).squeeze(-1)
            if name == "DV":
                out[name] = ref.DV(Z, Z_ref, critic).item()
            elif name == "NWJ":
                out[name] = ref.nwj(t, t_ref).item()
            else:
                out[name] = ref.smile(t, t_ref, MI_TAU).item()
        S = _mi_scores(critics["InfoNCE"], Z.reshape(-1, MI_K, 2))
        out["InfoNCE"] = float(np.mean([ref.infonce(s).item() for s in S]))
    return out


def _mi_plot(out: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    info = [truth(r) for r in MI_RHOS]
    fig, axes = plt.subplots(1, len(MI_ESTIMATORS), figsize=(4 * len(MI_ESTIMATORS), 3.6), sharey=True,
                             layout="constrained")
    for ax, name in zip(axes, MI_ESTIMATORS):
        rows = [out[str(r)][name] for r in MI_RHOS]
        floor = np.array([[r["floor_mean"], r["floor_sd"]] for r in rows])
        ax.fill_between(info, floor[:, 0] - floor[:, 1], floor[:, 0] + floor[:, 1], alpha=0.25,
                        label="optimal critic: mean +- sd")
        ax.errorbar(info, [r["mean"] for r in rows], yerr=[r["sd"] or 0.0 for r in rows], marker="o", capsize=3,
                    label="trained: mean +- sd over seeds")
        ax.plot(info, info, c="k", lw=0.8, label="$I(X;Y)$")
        ax.axhline(math.log(MI_K), c="tab:red", ls="--", lw=0.8, label="log K")
        ax.set(title=name + (f" (tau = {MI_TAU:g})" if name == "SMILE" else ""), xlabel="I(X;Y) [nats]")
    axes[0].set_ylabel("estimate")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def section_estimators(args, results):
    """Bias and sd of DV, NWJ, InfoNCE and SMILE after the same training, next to each one's
    noise floor with the optimal critic (t*, and t* + 1 for NWJ), for rho in MI_RHOS."""
    try:
        import nde_grader.reference as ref

        ref.nwj, ref.infonce, ref.smile, ref.shuffle_reference, ref.OptimalCritic  # noqa: B018 (present?)
    except Exception as exc:  # the reference module is generated; it may lack them
        print(f"  the estimators of notebook 07 are not in nde_grader.reference ({type(exc).__name__}: {exc}): skipped")
        results["estimators"] = {"skipped": str(exc)}
        return
    device = "cuda" if args.device == "cuda" and torch.cuda.is_available() else "cpu"
    seeds = 1 if args.quick else 4
    steps = 300 if args.quick else 1500
    floor_reps = 100 if args.quick else 1000
    objectives = _mi_objectives(ref)
    out = {"seeds": seeds, "steps": steps, "batch_pairs": MI_K, "lr": MI_LR, "test_pairs": MI_TEST, "tau": MI_TAU,
           "floor_repetitions": floor_reps, "device": device}
    print(f"  the course's Net, Adam (lr {MI_LR:g}), {steps} steps on batches of K = {MI_K} pairs, {seeds} seed(s) per rho;"
          f" each estimate on {MI_TEST} fresh held-out pairs")
    print(f"  floor: the same estimate with the optimal critic (t*, t* + 1 for NWJ), {floor_reps} held-out draws;"
          f" SMILE (tau = {MI_TAU:g}) reads a critic trained with Jensen-Shannon; log K = {math.log(MI_K):.3f}")
    print(f"  {'rho':>6} {'I':>6}  {'estimator':9}  {'trained: bias':>13} {'sd':>6}   {'floor: bias':>11} {'sd':>6}")
    for rho in MI_RHOS:
        info = truth(rho)
        trained = {name: [] for name in MI_ESTIMATORS}
        for seed in range(seeds):
            critics = {name: _mi_train(ref, objective, rho, seed, steps, device) for name, objective in objectives.items()}
            generator = torch.Generator().manual_seed(20_000 + seed)
            for name, value in _mi_evaluate(ref, critics, rho, generator, device).items():
                trained[name].append(value)
        star = ref.OptimalCritic(rho)
        floor_critics = {"DV": star, "NWJ": lambda z: star(z) + 1, "InfoNCE": star, "JS": star}
        generator = torch.Generator().manual_seed(30_000)
        floor = {name: [] for name in MI_ESTIMATORS}
        for _ in range(floor_reps):
            for name, value in _mi_evaluate(ref, floor_critics, rho, generator, device).items():
                floor[name].append(value)
        row = {}
        for name in MI_ESTIMATORS:
            t, f = np.array(trained[name]), np.array(floor[name])
            row[name] = {"estimates": t.tolist(), "mean": float(t.mean()), "bias": float(t.mean() - info),
                         "sd": float(t.std(ddof=1)) if len(t) > 1 else None,
                         "floor_mean": float(f.mean()), "floor_bias": float(f.mean() - info), "floor_sd": float(f.std(ddof=1))}
            r = row[name]
            sd = f"{r['sd']:6.3f}" if seeds > 1 else f"{'-':>6}"
            print(f"  {rho:6} {info:6.3f}  {name:9}  {r['bias']:+13.3f} {sd}   {r['floor_bias']:+11.3f} {r['floor_sd']:6.3f}")
        out[str(rho)] = row
    plot = Path(args.plot) if args.plot else Path(tempfile.gettempdir()) / "nde-bench-estimators.png"
    try:
        plot.parent.mkdir(parents=True, exist_ok=True)
        _mi_plot(out, plot)
        out["plot"] = str(plot)
        print(f"  plot: {plot}")
    except Exception as exc:  # a plot that cannot be written costs the plot only
        print(f"  no plot ({type(exc).__name__}: {exc})")
    results["estimators"] = out


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
