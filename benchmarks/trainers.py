"""What the timing and accuracy benchmarks share: the Gaussian problem and its noise floor,
the trainers compared (the course's DVTrainer, the seed notebook's loop) and the timing of
their steps, interleaved call by call (benchmarks/README.md)."""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(HERE), str(ROOT)):  # the other benchmarks; nde_grader and course when not installed
    if _path not in sys.path:
        sys.path.append(_path)

from seed_loop import SeedLoop, SeedNet  # noqa: E402

from nde_grader.oracle import correlate, mi as truth, noise_floor as dv_star_draws  # noqa: E402

N = 1000  # samples of Z and of Z' (training), and again for the held-out set
ITERS = 10  # minibatches per epoch
EPOCHS = 100  # epochs of one training run
CALLS = 10  # a run is CALLS calls of step(EPOCHS // CALLS), as the notebooks call it
LR = 1e-3
RHOS = (0.81, 0.9, 0.95, 0.99)
DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice on this machine, before --threads


# ----------------------------------------------------------------------------- problem

def gaussian_problem(rho: float, seed: int, n: int = N, n_ref: int = N):
    """Training and held-out samples for one rho: (Z, Z', Z_test, Z'_test), float32 numpy.

    Z ~ N(0, [[1, rho], [rho, 1]]), Z' ~ N(0, I), four independent streams.
    """
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, round(rho * 10_000)]).spawn(4)]

    def joint(rng, m):  # x, then the noise e: m normals each
        x = rng.standard_normal(m)
        return correlate(np.stack([x, rng.standard_normal(m)], axis=1), rho).astype(np.float32)

    def product(rng, m):
        return rng.standard_normal((m, 2)).astype(np.float32)

    return joint(streams[0], n), product(streams[1], n_ref), joint(streams[2], n), product(streams[3], n_ref)


def noise_floor(rho: float, seeds: int, n: int = N, n_ref: int = N) -> dict:
    """Mean error and sd of the DV estimate with the optimal critic at sample size n, n'."""
    err = dv_star_draws(rho, n, n_ref, seeds, np.random.default_rng([7, round(rho * 10_000)])) - truth(rho)
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
