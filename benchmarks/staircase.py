#!/usr/bin/env python
"""The "staircase": the reference benchmark of variational mutual-information estimators.

    python benchmarks/staircase.py --quick        # 100 steps a stage, separable critics (CI)
    python benchmarks/staircase.py                # 4,000 steps a stage, both critics (hours)
    python benchmarks/staircase.py --device cuda --critics concat --seed 0   # on a GPU
    python benchmarks/bench.py --only staircase   # the same, as a section of the bench
    python benchmarks/staircase.py --combine a/staircase.json b/staircase.json   # seeds side by side

After Poole, Ozair, van den Oord, Alemi and Tucker (2019), "On Variational Bounds of Mutual
Information", and Song and Ermon (2020), "Understanding the Limitations of Variational
Mutual Information Estimators". Each critic is trained on a task whose mutual information
(MI) steps up during the run: I = 2, 4, 6, 8, 10 nats, 4,000 steps each, a fresh batch of
K = 64 pairs every step, Adam at lr 5e-4. The tasks come from ``course.tasks``:

- gaussian: x ~ N(0, I_20), y = rho x + sqrt(1 - rho^2) eps coordinate by coordinate,
  I = -(d/2) log(1 - rho^2) with d = 20 (``GaussianPair``; rho from ``mi_to_rho``);
- cubic:    the same pair with y -> y^3 (``cubic_gaussian``): the same I, since the cube is
  one-to-one, but a critic must now learn a non-linear dependence.

A critic t scores all K x K pairs of a batch, S[i, j] = t(x_i, y_j): the diagonal holds the
K samples of P_XY, the K(K - 1) entries off it samples of P_X x P_Y. Two critics:

- separable: t(x, y) = g(x)^T h(y), g and h two MLPs 20 -> 256 -> 256 -> 32 (ReLU);
- concat:    t(x, y) = f([x, y]), one MLP 40 -> 256 -> 256 -> 1 (ReLU) on every pair.

Both papers use two hidden layers of 256 (as here); one public re-implementation of their
benchmark uses three, which changes the numbers a little but not the picture.

The estimators, each with a critic of its own (the course's functions, reused by import:
``DV``, ``nwj``, ``infonce``, ``smile`` from ``nde_grader.reference`` and ``mine_loss``,
``update_average`` from notebook 06's answers):

- MINE:          trained with MINE's loss, whose denominator is the moving average (alpha
                 = 0.01, notebook 06) of the batch means of e^t off the diagonal; it reports
                 the DV bound of the batch;
- NWJ:           trained with and reporting the NWJ bound;
- InfoNCE:       trained with and reporting InfoNCE, which cannot exceed log K = 4.16;
- NWJ (JS):      Poole et al.'s Jensen-Shannon-trained NWJ: the critic is trained with the
                 Jensen-Shannon objective -E_P softplus(-t) - E_Q softplus(t), whose optimum
                 is t* = log dP/dQ, and NWJ is read at t + 1 (NWJ's own optimum is t* + 1);
- SMILE tau=1, 5, inf: trained with Jensen-Shannon too, reporting DV with the values off the
                 diagonal clipped to [-tau, tau], as Song and Ermon do (tau = inf: DV itself).

Speed: the 7 estimators x 2 tasks = 14 critics of one kind are trained *together*: their
weights are stacked along a leading "critic" axis (``torch.func.stack_module_state``), every
layer of all 14 is one batched matrix product (``torch.baddbmm``), the objectives are the
course's functions mapped over that axis (``torch.func.vmap``), and one Adam updates all the
stacked weights (Adam works entry by entry: one Adam on the stack is 14 Adams). The bench
measures, in the same run and on the same batches, the steps per second of that against
training the 14 critics one by one (each its own module, forward, backward and Adam: the
same arithmetic), and explains the ratio with the floor of the matrix products (see
``flops_per_step``).

Per stage, estimator and task it prints the mean of the per-step estimates over the stage's
last half, their bias (mean - I), sd and mean squared error, and the estimate smoothed by an
exponential moving average of span 200 (as in the papers' figures) at the stage's end; the
figure (estimate against step, the true I as a staircase) and every number go to
``--out`` (default artifacts/bench/: staircase.png, staircase.json).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # course and nde_grader, when the package is not installed

import nde_grader.reference as ref  # noqa: E402
from course.tasks import GaussianPair, cubic_gaussian, mi_to_rho  # noqa: E402

STAGES = (2.0, 4.0, 6.0, 8.0, 10.0)  # the true MI of each stage, nats
STEPS = 4000  # steps per stage (full mode)
QUICK_STEPS = 100  # steps per stage (--quick)
DIM = 20  # dimension of x and of y
BATCH = 64  # K: pairs per batch, and InfoNCE's ceiling log K
LR = 5e-4
HIDDEN = 256
LAYERS = 2  # hidden layers, as in both papers (one public re-implementation uses 3)
EMBED = 32  # the separable critic's embedding dimension
MINE_ALPHA = 0.01  # the rate of MINE's moving average (notebook 06)
EMA_SPAN = 200  # the smoothing of the figures, as in the papers' plots
TASKS = ("gaussian", "cubic")
CRITICS = ("separable", "concat")
LOG_K = math.log(BATCH)
SAMPLE_CHUNK = 500  # steps whose batches are drawn at once (bounds the memory of a stage)
DEFAULT_OUT = ROOT / "artifacts" / "bench"
# Critics run this many at a time in the stacked forward (0: all at once). The concat
# critic's activations, (critics, K^2, 256) floats, leave the cache beyond about two
# critics: all 14 at once ran at 0.6x the speed of one by one here, two at a time 1.0x.
CHUNK = {"separable": 0, "concat": 2}


# ----------------------------------------------------------------------------- the course's functions

def _course_answers(notebook: str, grade_ids: tuple[str, ...]) -> dict:
    """The functions a notebook's answer cells define (the course's own answers, from
    source/), by grade_id: the definitions only, as ``nde_grader.reference_build`` reads them."""
    import nbformat

    from nde_grader.cells import grade_id
    from nde_grader.reference_build import answer_code
    from nde_student.earlier import definitions_only

    nb = nbformat.read(ROOT / "source" / "divergence" / f"{notebook}.ipynb", as_version=4)
    namespace = {"torch": torch, "math": math}
    found = set()
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.cell_type == "code" and gid in grade_ids:
            exec(compile(definitions_only(answer_code(cell.source)), f"{notebook}:{gid}", "exec"), namespace)
            found.add(gid)
    missing = set(grade_ids) - found
    if missing:
        raise LookupError(f"no answer cell {sorted(missing)} in source/divergence/{notebook}.ipynb")
    return {name: namespace[name] for name in grade_ids}


_mine = _course_answers("06_minibatch_bias", ("mine_loss", "update_average"))
mine_loss, update_average = _mine["mine_loss"], _mine["update_average"]


def _values(v):
    """The critic "v -> v" of notebook 06: hands ref.DV values instead of samples."""
    return v


def diagonal(S: torch.Tensor) -> torch.Tensor:
    """S[..., i, i]: the critic on the K pairs of P_XY, shape (..., K)."""
    return S.diagonal(dim1=-2, dim2=-1)


def off_diagonal(S: torch.Tensor) -> torch.Tensor:
    """The K(K - 1) entries of S[..., :, :] off its diagonal (x_i with y_j, j != i): samples
    of P_X x P_Y, shape (..., K(K - 1)). Dropping the first of the K^2 entries, the rest
    read as K - 1 rows of K + 1 whose last entry is the next diagonal one."""
    K = S.shape[-1]
    return S.flatten(-2)[..., 1:].unflatten(-1, (K - 1, K + 1))[..., :-1].flatten(-2)


def _js(S, t, t_ref):
    """The Jensen-Shannon objective (f-GAN), maximised at t* = log dP/dQ."""
    return -F.softplus(-t).mean() - F.softplus(t_ref).mean()


OBJECTIVES = {  # what a critic is trained to maximise, from one (K, K) score matrix; MINE is apart
    "nwj": lambda S, t, t_ref: ref.nwj(t, t_ref),
    "infonce": lambda S, t, t_ref: ref.infonce(S),
    "js": _js,
}


def _smile(tau):
    return lambda S, t, t_ref: ref.smile(t, t_ref, tau)


# name -> (training objective, what it reports from (S, t, t_ref)). Critics that share an
# objective are neighbours in this order (MINE, NWJ, InfoNCE, then the four read from a
# critic trained with Jensen-Shannon), so that each objective is one slice of the stack.
ESTIMATORS = {
    "MINE": ("mine", lambda S, t, t_ref: ref.DV(t[:, None], t_ref[:, None], _values)),
    "NWJ": ("nwj", lambda S, t, t_ref: ref.nwj(t, t_ref)),
    "InfoNCE": ("infonce", lambda S, t, t_ref: ref.infonce(S)),
    "NWJ (JS)": ("js", lambda S, t, t_ref: ref.nwj(t + 1, t_ref + 1)),
    "SMILE tau=1": ("js", _smile(1.0)),
    "SMILE tau=5": ("js", _smile(5.0)),
    "SMILE tau=inf": ("js", _smile(math.inf)),
}
NAMES = tuple(ESTIMATORS)


# ----------------------------------------------------------------------------- critics

def mlp(d_in: int, d_out: int) -> nn.Sequential:
    """LAYERS hidden layers of HIDDEN units with ReLU; Linear layers at indices 0, 2, ..., 2 LAYERS."""
    sizes = [d_in] + [HIDDEN] * LAYERS
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(HIDDEN, d_out))


class SeparableCritic(nn.Module):
    """t(x, y) = g(x)^T h(y): the K x K scores of a batch are one product of embeddings."""

    def __init__(self, dim: int = DIM):
        super().__init__()
        self.g, self.h = mlp(dim, EMBED), mlp(dim, EMBED)

    def forward(self, x, y):
        """S[i, j] = t(x_i, y_j) for x, y of shape (K, dim): shape (K, K)."""
        return self.g(x) @ self.h(y).T


class ConcatCritic(nn.Module):
    """t(x, y) = f([x, y]), one MLP on the concatenated pair, for all K x K pairs.

    The first layer on [x_i, y_j] is W_x x_i + W_y y_j + b, so it is computed once per x_i
    and once per y_j and added for every pair (the same numbers as on the K^2 concatenated
    inputs, with K times fewer products); the layers after it see all K^2 pairs."""

    def __init__(self, dim: int = DIM):
        super().__init__()
        self.dim = dim
        self.f = mlp(2 * dim, 1)

    def forward(self, x, y):
        first = self.f[0]
        a = F.linear(x, first.weight[:, : self.dim], first.bias)  # (K, H): x_i's share
        b = F.linear(y, first.weight[:, self.dim:])  # (K, H): y_j's share
        h = a[:, None, :] + b[None, :, :]  # (K, K, H): the first layer on [x_i, y_j]
        return self.f[1:](h).squeeze(-1)


CRITIC_CLASSES = {"separable": SeparableCritic, "concat": ConcatCritic}


class StackedCritics:
    """E critics of one kind as one set of stacked weights, applied each to its own batch.

    ``torch.func.stack_module_state`` stacks the modules' parameters along a new first
    axis; a Linear weight (out, in) is kept here transposed, (E, in, out), and its bias as
    (E, 1, out), so that a layer of all E critics is one ``torch.baddbmm``. ``chunk`` > 0
    runs the critics that many at a time (the concat critic's (E, K^2, 256) activations
    leave the cache when E is large); the weights stay one stack and one Adam's.
    """

    def __init__(self, critics: list[nn.Module], chunk: int = 0):
        params, _ = torch.func.stack_module_state(critics)
        self.kind = "separable" if isinstance(critics[0], SeparableCritic) else "concat"
        self.dim = DIM
        self.count = len(critics)
        self.chunk = chunk or self.count
        self.params = {name: (v.transpose(1, 2) if name.endswith("weight") else v.unsqueeze(1))
                       .contiguous().detach().requires_grad_() for name, v in params.items()}

    def state_dicts(self) -> list[dict]:
        """The weights back in the modules' layout, one state dict per critic."""
        out = [{} for _ in range(self.count)]
        for name, v in self.params.items():
            v = v.detach().transpose(1, 2) if name.endswith("weight") else v.detach().squeeze(1)
            for i in range(self.count):
                out[i][name] = v[i].clone()
        return out

    @staticmethod
    def _layers(p, prefix, h, start):
        """The Linear layers ``start``, start + 2, ... of an mlp (ReLU between them)."""
        for i in range(start, 2 * LAYERS + 1, 2):
            h = torch.baddbmm(p[f"{prefix}.{i}.bias"], h, p[f"{prefix}.{i}.weight"])
            if i < 2 * LAYERS:
                h = h.relu()
        return h

    def _scores(self, p, x, y):
        if self.kind == "separable":
            return torch.bmm(self._layers(p, "g", x, 0), self._layers(p, "h", y, 0).transpose(1, 2))
        W = p["f.0.weight"]  # (E, 2 dim, H)
        a = torch.baddbmm(p["f.0.bias"], x, W[:, : self.dim])
        b = torch.bmm(y, W[:, self.dim:])
        h = (a[:, :, None, :] + b[:, None, :, :]).relu().flatten(1, 2)  # (E, K^2, H)
        K = x.shape[1]
        return self._layers(p, "f", h, 2).view(-1, K, K)

    def __call__(self, x, y):
        """S[e, i, j] = t_e(x[e, i], y[e, j]) for x, y of shape (E, K, dim): shape (E, K, K)."""
        if self.chunk >= self.count:
            return self._scores(self.params, x, y)
        parts = []
        for lo in range(0, self.count, self.chunk):
            hi = min(lo + self.chunk, self.count)
            parts.append(self._scores({k: v[lo:hi] for k, v in self.params.items()}, x[lo:hi], y[lo:hi]))
        return torch.cat(parts)


def flops_per_step(kind: str, critics: int) -> float:
    """Floating-point operations of the matrix products of one training step of ``critics``
    critics (forward, the gradients of the weights, the gradients of the activations; the
    first layer's input needs none). Everything else (ReLU, losses, Adam) is small beside it."""
    K, H, L = BATCH, HIDDEN, LAYERS
    if kind == "separable":
        per_row = DIM * H + (L - 1) * H * H + H * EMBED  # one tower on one sample
        backward_inputs = (L - 1) * H * H + H * EMBED
        macs = 2 * K * (2 * per_row + backward_inputs) + 3 * K * K * EMBED  # two towers; S = G H^T
    else:
        first = 2 * 2 * K * DIM * H  # the x and the y shares, forward and weight gradient
        rest = (L - 1) * H * H + H  # the layers after the first, per pair
        macs = first + 3 * K * K * rest
    return 2.0 * macs * critics


# ----------------------------------------------------------------------------- training

def make_task(name: str, mi: float):
    rho = mi_to_rho(mi, DIM)
    return GaussianPair(DIM, rho) if name == "gaussian" else cubic_gaussian(DIM, rho)


class Staircase:
    """The critics of one kind, one per (estimator, task), trained together or one by one.

    Critic e serves estimator NAMES[e // T] on task TASKS[e % T] (T = len(TASKS)). Both ways
    start from the same weights (``torch.manual_seed(seed)`` before the modules are built)
    and do the same arithmetic; ``step`` returns each critic's estimate on the batch, shape
    (E,), before the update."""

    def __init__(self, kind: str, seed: int = 0, together: bool = True, chunk: int | None = None,
                 device: str = "cpu"):
        self.kind, self.together, self.T = kind, together, len(TASKS)
        torch.manual_seed(seed)  # the weights drawn on the CPU whatever the device: the same start
        self.critics = [CRITIC_CLASSES[kind]().to(device) for _ in range(len(NAMES) * self.T)]
        self.slices = {}  # objective -> the slice of critics trained with it
        for e, name in enumerate(name for name in NAMES for _ in range(self.T)):
            objective = ESTIMATORS[name][0]
            lo = self.slices.get(objective, slice(e, e)).start
            self.slices[objective] = slice(lo, e + 1)
        if together:
            self.stack = StackedCritics(self.critics, CHUNK[kind] if chunk is None else chunk)
            self.optimizer = torch.optim.Adam(self.stack.params.values(), lr=LR, fused=True)
            self.m = None  # MINE's moving averages, one per MINE critic
            self.readings = [torch.func.vmap(ESTIMATORS[name][1]) for name in NAMES]
            self.objectives = {k: torch.func.vmap(f) for k, f in OBJECTIVES.items()}
            self.mine_first = torch.func.vmap(lambda t_ref: update_average(None, t_ref, MINE_ALPHA))
            self.mine_next = torch.func.vmap(lambda m, t_ref: update_average(m, t_ref, MINE_ALPHA))
            self.mine_loss = torch.func.vmap(mine_loss)
        else:
            self.optimizers = [torch.optim.Adam(c.parameters(), lr=LR, fused=True) for c in self.critics]
            self.m = [None] * len(self.critics)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One Adam step of every critic on its task's batch: x, y of shape (T, K, DIM)."""
        return self._step_together(x, y) if self.together else self._step_alone(x, y)

    def _step_together(self, x, y):
        E = len(self.critics)
        reps = E // self.T
        S = self.stack(x.repeat(reps, 1, 1), y.repeat(reps, 1, 1))  # critic e reads task e % T
        t, t_ref = diagonal(S), off_diagonal(S)
        loss = 0.0
        for objective, sl in self.slices.items():
            if objective == "mine":
                self.m = self.mine_first(t_ref[sl]) if self.m is None else self.mine_next(self.m, t_ref[sl])
                loss = loss + self.mine_loss(t[sl], t_ref[sl], self.m).sum()
            else:
                loss = loss - self.objectives[objective](S[sl], t[sl], t_ref[sl]).sum()
        with torch.no_grad():
            Sd, td, rd = S.detach(), t.detach(), t_ref.detach()
            estimates = torch.cat([read(Sd[k * self.T:(k + 1) * self.T], td[k * self.T:(k + 1) * self.T],
                                        rd[k * self.T:(k + 1) * self.T]) for k, read in enumerate(self.readings)])
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return estimates

    def _step_alone(self, x, y):
        estimates = []
        for e, (critic, optimizer) in enumerate(zip(self.critics, self.optimizers)):
            objective, read = ESTIMATORS[NAMES[e // self.T]]
            S = critic(x[e % self.T], y[e % self.T])
            t, t_ref = diagonal(S), off_diagonal(S)
            if objective == "mine":
                self.m[e] = update_average(self.m[e], t_ref, MINE_ALPHA)
                loss = mine_loss(t, t_ref, self.m[e])
            else:
                loss = -OBJECTIVES[objective](S, t, t_ref)
            with torch.no_grad():
                estimates.append(read(S.detach(), t.detach(), t_ref.detach()))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return torch.stack(estimates)


def stage_batches(mi: float, steps: int, seed: int, stage: int):
    """The batches of one stage, SAMPLE_CHUNK steps at a time: (x, y) of shape (n, T, K, DIM),
    float32, drawn by ``course.tasks`` from one numpy Generator per task and stage."""
    tasks = [make_task(name, mi) for name in TASKS]
    rngs = [np.random.default_rng([seed, stage, i]) for i in range(len(TASKS))]
    for start in range(0, steps, SAMPLE_CHUNK):
        n = min(SAMPLE_CHUNK, steps - start)
        pairs = [task.sample(n * BATCH, rng) for task, rng in zip(tasks, rngs)]
        x = np.stack([p[0] for p in pairs]).reshape(len(TASKS), n, BATCH, DIM).swapaxes(0, 1)
        y = np.stack([p[1] for p in pairs]).reshape(len(TASKS), n, BATCH, DIM).swapaxes(0, 1)
        yield torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), \
            torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def synchronize(device: str) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously), so that a clock read
    after it counts that work."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def train(kind: str, steps: int, seed: int = 0, together: bool = True, stages=STAGES, chunk: int | None = None,
          progress=None, device: str = "cpu") -> tuple[np.ndarray, dict]:
    """The staircase for one critic kind: estimates of shape (len(stages) * steps, len(NAMES),
    len(TASKS)), float64, and the run's wall and CPU seconds. ``device``: where the critics
    train ("cuda" on a GPU); the batches are drawn on the CPU as everywhere, then moved."""
    seed_everything(seed)
    trainer = Staircase(kind, seed, together, chunk, device)
    out = torch.empty(len(stages) * steps, len(trainer.critics), device=device)
    wall, cpu = time.perf_counter(), time.process_time()
    step = 0
    for s, mi in enumerate(stages):
        for x, y in stage_batches(mi, steps, seed, s):
            x, y = x.to(device), y.to(device)
            for i in range(len(x)):
                out[step] = trainer.step(x[i], y[i])
                step += 1
        if progress:
            synchronize(device)
            progress(kind, s, mi, time.perf_counter() - wall)
    synchronize(device)
    timing = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    return out.cpu().view(-1, len(NAMES), len(TASKS)).double().numpy(), timing


# ----------------------------------------------------------------------------- speed

def throughput(kind: str, steps: int, repeats: int, seed: int = 0, chunk: int | None = None,
               device: str = "cpu") -> dict:
    """Steps per second of the 14 critics trained together and one by one, in the same run.

    Both trainers start from the same weights and take the same batches (stage 1, I = 2);
    they take turns in blocks of ``steps`` steps, in a shuffled order, so that a burst of
    load from another process hits both; the ratio is the median of the paired blocks'
    ratios. Also the floor: the matrix products' operations at the rate this machine reaches
    on the model's largest product, which no eager implementation can beat."""
    seed_everything(seed)
    x, y = (a.to(device) for a in next(stage_batches(STAGES[0], steps, seed, 0)))
    trainers = {"together": Staircase(kind, seed, True, chunk, device), "one by one": Staircase(kind, seed, False, device=device)}
    for trainer in trainers.values():  # warm-up: first-call costs
        trainer.step(x[0], y[0])
    synchronize(device)
    wall = {name: [] for name in trainers}
    cpu = {name: [] for name in trainers}
    order = list(trainers)
    shuffle = random.Random(seed)
    for _ in range(repeats):
        shuffle.shuffle(order)
        for name in order:
            w, c = time.perf_counter(), time.process_time()
            for i in range(steps):
                trainers[name].step(x[i], y[i])
            synchronize(device)
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(time.process_time() - c)
    ratios = [a / b for a, b in zip(wall["one by one"], wall["together"])]
    critics = len(trainers["together"].critics)
    flops = flops_per_step(kind, critics)
    rate = gemm_rate(kind, device=device)
    alone = steps / statistics.median(wall["one by one"])
    out = {
        "steps_per_block": steps, "blocks": repeats, "critics": critics, "chunk": trainers["together"].stack.chunk,
        "together_steps_per_s": steps / statistics.median(wall["together"]),
        "one_by_one_steps_per_s": alone,
        "ratio": statistics.median(ratios), "ratios": ratios,
        "cpu_ratio": statistics.median(cpu["one by one"]) / statistics.median(cpu["together"]),
        "gflop_per_step": flops / 1e9, "gemm_gflops": rate / 1e9,
        "floor_steps_per_s": rate / flops,
    }
    out["ceiling_ratio"] = out["floor_steps_per_s"] / alone
    return out


def gemm_rate(kind: str, seconds: float = 0.3, device: str = "cpu") -> float:
    """FLOP/s of the model's largest matrix product on this machine now: (rows, 256) x (256, 256),
    rows = K (separable) or K^2 (concat)."""
    rows = BATCH if kind == "separable" else BATCH * BATCH
    a, b = torch.randn(rows, HIDDEN, device=device), torch.randn(HIDDEN, HIDDEN, device=device)
    a @ b
    synchronize(device)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10 if torch.device(device).type == "cuda" else 1):  # a GPU: many products a clock read
            a @ b
            n += 1
        synchronize(device)
    return 2.0 * rows * HIDDEN * HIDDEN * n / (time.perf_counter() - start)


# ----------------------------------------------------------------------------- statistics

def ema(values: np.ndarray, span: int = EMA_SPAN) -> np.ndarray:
    """The exponential moving average along axis 0, alpha = 2 / (span + 1), with the
    weights of the first steps renormalised (pandas' ``ewm(span=...).mean()``, adjust=True)."""
    from scipy.signal import lfilter

    decay = 1.0 - 2.0 / (span + 1.0)
    num = lfilter([1.0], [1.0, -decay], values, axis=0)
    den = lfilter([1.0], [1.0, -decay], np.ones(len(values)))
    return num / den.reshape((-1,) + (1,) * (values.ndim - 1))


def stage_stats(estimates: np.ndarray, steps: int, stages=STAGES) -> dict:
    """task -> estimator -> one row per stage: mean, bias, sd and MSE of the per-step
    estimates over the stage's last half, the EMA (span 200) at the stage's end, and how
    many of those steps gave no finite estimate."""
    smooth = ema(estimates)
    tail = max(1, steps // 2)
    out = {}
    for j, task in enumerate(TASKS):
        out[task] = {}
        for k, name in enumerate(NAMES):
            rows = []
            for s, mi in enumerate(stages):
                window = estimates[(s + 1) * steps - tail:(s + 1) * steps, k, j]
                good = window[np.isfinite(window)]
                mean = float(good.mean()) if len(good) else math.nan
                rows.append({
                    "mi": mi, "mean": mean, "bias": mean - mi,
                    "sd": float(good.std(ddof=1)) if len(good) > 1 else math.nan,
                    "mse": float(np.mean((good - mi) ** 2)) if len(good) else math.nan,
                    "ema_end": float(smooth[(s + 1) * steps - 1, k, j]),
                    "nonfinite": int(len(window) - len(good)),
                })
            out[task][name] = rows
    return out


# ----------------------------------------------------------------------------- output

def plot(runs: dict, steps: int, path: Path, stages=STAGES) -> None:
    """One panel per estimator (columns) and per critic and task (rows): each step's estimate
    (light), its EMA of span 200 (dark), the true I as a staircase and log K."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    rows = [(kind, task) for kind in runs for task in TASKS]
    fig, axes = plt.subplots(len(rows), len(NAMES), figsize=(2.6 * len(NAMES), 2.3 * len(rows)),
                             sharex=True, sharey=True, squeeze=False, layout="constrained")
    n = len(stages) * steps
    step = np.arange(n)
    truth = np.repeat(stages, steps)
    for r, (kind, task) in enumerate(rows):
        estimates = runs[kind]
        smooth = ema(estimates)
        j = TASKS.index(task)
        for k, name in enumerate(NAMES):
            ax = axes[r, k]
            ax.plot(step, estimates[:, k, j], c="tab:blue", alpha=0.25, lw=0.5)
            ax.plot(step, smooth[:, k, j], c="tab:blue", lw=1.2)
            ax.plot(step, truth, c="k", lw=1)
            ax.axhline(LOG_K, c="tab:red", ls="--", lw=0.8)
            ax.set_ylim(-1, max(stages) + 4)
            if r == 0:
                ax.set_title(name, fontsize=10)
            if k == 0:
                ax.set_ylabel(f"{kind}, {task}\nMI (nats)", fontsize=9)
            if r == len(rows) - 1:
                ax.set_xlabel("step")
    fig.suptitle(f"The staircase: estimate per step (light), EMA span {EMA_SPAN} (dark), true I (black), "
                 f"log {BATCH} (red); batch {BATCH}, d = {DIM}", fontsize=10)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _num(value: float, width: int, digits: int = 3, sign: bool = False) -> str:
    """A number in ``width`` characters: fixed point, or powers of ten when it is too large."""
    text = f"{value:{'+' if sign else ''}.{digits}f}"
    return f"{text:>{width}}" if len(text) <= width else f"{value:>{width}.1e}"


def print_table(kind: str, stats: dict, stages=STAGES) -> None:
    print(f"  {kind} critics: per-step estimates over each stage's last half (EMA span {EMA_SPAN} at its end);"
          f" log {BATCH} = {LOG_K:.2f} is InfoNCE's ceiling")
    head = "".join(f"  {task + ': mean':>13} {'bias':>7} {'sd':>6} {'MSE':>7} {'EMA':>6}" for task in TASKS)
    print(f"  {'I':>4}  {'estimator':13}{head}")
    for s, mi in enumerate(stages):
        for name in NAMES:
            cells = ""
            for task in TASKS:
                r = stats[task][name][s]
                flag = "*" if r["nonfinite"] else " "
                cells += (f"  {_num(r['mean'], 13)} {_num(r['bias'], 7, sign=True)} {_num(r['sd'], 6)}"
                          f" {_num(r['mse'], 7)} {_num(r['ema_end'], 6, 2)}{flag}")
            print(f"  {mi:4g}  {name:13}{cells}")
    if any(r["nonfinite"] for t in stats.values() for rows in t.values() for r in rows):
        print("  * some steps gave no finite estimate (left out of the row)")


def plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def run(quick: bool = False, steps: int | None = None, critics=None, seed: int = 0, out_dir: Path | str = DEFAULT_OUT,
        speed_steps: int | None = None, speed_repeats: int | None = None, keep_estimates: bool = False,
        log=print, device: str = "cpu") -> dict:
    """The whole benchmark: the throughput of training together against one by one, then the
    staircase itself (trained together) for each critic kind; prints the tables, writes
    staircase.png and staircase.json to ``out_dir`` and returns the results (with
    ``keep_estimates``, also every step's estimates, kind -> array (steps, estimators, tasks),
    under "estimates", which the JSON leaves out)."""
    steps = steps or (QUICK_STEPS if quick else STEPS)
    critics = tuple(critics or (("separable",) if quick else CRITICS))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {"config": {"quick": quick, "stages": list(STAGES), "steps_per_stage": steps, "dim": DIM, "batch": BATCH,
                          "lr": LR, "hidden": HIDDEN, "hidden_layers": LAYERS, "embedding": EMBED,
                          "mine_alpha": MINE_ALPHA, "ema_span": EMA_SPAN, "stats_window": max(1, steps // 2),
                          "seed": seed, "tasks": list(TASKS), "estimators": list(NAMES), "critics": list(critics),
                          "log_k": LOG_K, "torch_threads": torch.get_num_threads(), "device": device},
               "speed": {}, "runs": {}}
    raw = {}
    log(f"  {len(NAMES)} estimators x {len(TASKS)} tasks = {len(NAMES) * len(TASKS)} critics per kind;"
        f" I = {', '.join(f'{s:g}' for s in STAGES)} nats, {steps} steps each, batch {BATCH}, Adam lr {LR:g}")
    for kind in critics:
        block = speed_steps or (10 if quick else (20 if kind == "separable" else 2))
        repeats = speed_repeats or (3 if quick else 5)
        sp = throughput(kind, block, repeats, seed, device=device)
        results["speed"][kind] = sp
        log(f"  speed, {kind}: {sp['critics']} critics together {sp['together_steps_per_s']:.2f} steps/s,"
            f" one by one {sp['one_by_one_steps_per_s']:.2f} steps/s: together / one by one ="
            f" {sp['ratio']:.2f}x (median of {repeats} paired blocks of {block} steps; CPU time {sp['cpu_ratio']:.2f}x)")
        log(f"    floor: {sp['gflop_per_step']:.2f} GFLOP of matrix products per step at {sp['gemm_gflops']:.0f} GFLOP/s"
            f" = {sp['floor_steps_per_s']:.2f} steps/s, i.e. at most {sp['ceiling_ratio']:.2f}x over one by one")
    for kind in critics:
        def progress(kind, s, mi, seconds):
            log(f"    {kind}: stage I = {mi:g} done after {seconds:.0f} s")

        estimates, timing = train(kind, steps, seed, together=True, progress=progress if not quick else None,
                                  device=device)
        stats = stage_stats(estimates, steps)
        results["runs"][kind] = {"timing": timing, "steps_per_s": len(estimates) / timing["wall_s"], "stats": stats,
                                 "ema_every": 10, "ema": ema(estimates)[::10].round(4).tolist()}
        log(f"  {kind}: {len(estimates)} steps in {timing['wall_s']:.1f} s ({len(estimates) / timing['wall_s']:.1f} steps/s,"
            f" CPU {timing['cpu_s']:.1f} s)")
        print_table(kind, stats)
        raw[kind] = estimates
    png, js = out_dir / "staircase.png", out_dir / "staircase.json"
    plot(raw, steps, png)
    results["plot"], results["json"] = str(png), str(js)
    js.write_text(json.dumps(results, indent=1, default=plain) + "\n")
    log(f"  figure: {png}\n  numbers: {js}")
    if keep_estimates:
        results["estimates"] = raw
    return results


def combine(paths, log=print) -> dict:
    """Several runs of the same configuration with different seeds (their staircase.json),
    side by side: per critic kind, task, estimator and stage, the mean over the seeds of the
    stage's mean estimate, its standard error (SE) over the seeds, the mean of the per-step
    sds, and whether the bias is more than 2 SEs from 0. A run whose stage mean is not
    finite (a critic that overflowed) is counted and left out of that cell."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    if len(runs) < 2:
        raise SystemExit("--combine needs the staircase.json of at least two seeds")
    keys = ("stages", "steps_per_stage", "dim", "batch", "lr", "hidden", "embedding")
    first = runs[0]["config"]
    for r in runs[1:]:
        if any(r["config"][k] != first[k] for k in keys) or r["config"]["seed"] == first["seed"]:
            raise SystemExit("--combine takes runs of one configuration with different seeds")
    seeds = [r["config"]["seed"] for r in runs]
    out = {"seeds": seeds, "config": {k: first[k] for k in keys}, "cells": {}}
    for kind in runs[0]["runs"]:
        log(f"  {kind} critics, {len(runs)} seeds ({', '.join(map(str, seeds))}): the stage mean over the seeds (its SE)"
            f", the mean per-step sd, and the bias decided at 2 SE or not; log {first['batch']} = "
            f"{math.log(first['batch']):.2f}")
        for task in runs[0]["runs"][kind]["stats"]:
            log(f"  {task}:")
            log(f"  {'I':>4}  " + "".join(f"{name:>26}" for name in runs[0]["runs"][kind]["stats"][task]))
            for s, mi in enumerate(first["stages"]):
                line = f"  {mi:4g}  "
                for name in runs[0]["runs"][kind]["stats"][task]:
                    rows = [r["runs"][kind]["stats"][task][name][s] for r in runs]
                    means = np.array([row["mean"] for row in rows], dtype=float)
                    good = means[np.isfinite(means)]
                    cell = {"mi": mi, "seeds": len(good), "nonfinite_seeds": int(len(means) - len(good))}
                    if len(good) >= 2:
                        mean, se = float(good.mean()), float(good.std(ddof=1) / math.sqrt(len(good)))
                        sd = float(np.nanmean([row["sd"] for row in rows]))
                        call = "~" if abs(mean - mi) <= 2 * se else ("+" if mean > mi else "-")
                        cell.update(mean=mean, se=se, sd=sd, bias=mean - mi, call=call)
                        text = f"{_num(mean, 7, 2)} ({_num(se, 5, 2)}) sd {_num(sd, 5, 2)} {call}"
                    else:
                        text = "not finite"
                    if cell["nonfinite_seeds"] and len(good) >= 2:
                        text += "*"
                    out["cells"].setdefault(kind, {}).setdefault(task, {}).setdefault(name, []).append(cell)
                    line += f"{text:>26}"
                log(line)
        log("  +/-: the bias is above/below 0 by more than 2 SE; ~: within 2 SE; *: some seeds left out (not finite)")
    out["ema"] = {kind: [np.asarray(r["runs"][kind]["ema"], dtype=float) for r in runs] for kind in runs[0]["runs"]}
    out["ema_every"] = runs[0]["runs"][next(iter(runs[0]["runs"]))]["ema_every"]
    out["names"] = list(runs[0]["runs"][next(iter(runs[0]["runs"]))]["stats"]["gaussian"])
    return out


def plot_seeds(combined: dict, path: Path, every: int = 250) -> None:
    """The figure of several seeds (from ``combine``), as an SVG small enough for the course:
    one row per critic kind and task, one column per estimator; each seed's EMA (span 200)
    thin, their mean thick, the true I as a staircase and log K, every ``every`` steps."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    config, names = combined["config"], combined["names"]
    stages, steps = config["stages"], config["steps_per_stage"]
    stride = max(1, every // combined["ema_every"])
    rows = [(kind, j, task) for kind in combined["ema"] for j, task in enumerate(TASKS)]
    plt.rcParams["svg.fonttype"] = "none"  # text as text: a smaller file that stays searchable
    fig, axes = plt.subplots(len(rows), len(names), figsize=(2.1 * len(names), 1.9 * len(rows)),
                             sharex=True, sharey=True, squeeze=False, layout="constrained")
    truth_x = np.repeat(np.arange(len(stages) + 1) * steps, 2)[1:-1]
    truth_y = np.repeat(stages, 2)
    for r, (kind, j, task) in enumerate(rows):
        curves = np.stack([e[::stride, :, j] for e in combined["ema"][kind]])  # seed, point, estimator
        x = np.arange(curves.shape[1]) * stride * combined["ema_every"]
        for k, name in enumerate(names):
            ax = axes[r, k]
            for curve in curves[:, :, k]:
                ax.plot(x, np.clip(curve, -2, 16), c="tab:blue", lw=0.5, alpha=0.45)
            with warnings.catch_warnings():  # a step where no seed was finite (the cubic task's MINE, NWJ)
                warnings.simplefilter("ignore", RuntimeWarning)
                ax.plot(x, np.clip(np.nanmean(curves[:, :, k], axis=0), -2, 16), c="tab:blue", lw=1.3)
            ax.plot(truth_x, truth_y, c="k", lw=0.9)
            ax.axhline(math.log(config["batch"]), c="tab:red", ls="--", lw=0.7)
            ax.set_ylim(-1, max(stages) + 4)
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.set_title(name, fontsize=8)
            if k == 0:
                ax.set_ylabel(f"{kind}, {task}", fontsize=8)
    fig.suptitle(f"The staircase over {len(combined['seeds'])} seeds: each seed's EMA (span {EMA_SPAN}, thin), their "
                 f"mean (thick), the true I (black), log {config['batch']} (red dashes)", fontsize=8)
    fig.savefig(path, metadata={"Date": None}, format="svg")
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps a stage, separable critics only")
    parser.add_argument("--steps", type=int, help=f"steps per stage (default {STEPS}, --quick {QUICK_STEPS})")
    parser.add_argument("--critics", nargs="+", choices=CRITICS, help="critic kinds (default: both; --quick: separable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1; 0: torch's default)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="where the critics train (default cpu; cuda: the GPU, where the concat critics take minutes)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="folder of staircase.png and staircase.json")
    parser.add_argument("--combine", nargs="+", metavar="JSON",
                        help="no training: set the staircase.json of several seeds side by side (mean, SE over seeds)")
    parser.add_argument("--figure", help="with --combine: where to write the figure of the seeds (SVG)")
    args = parser.parse_args(argv)
    if args.combine:
        combined = combine(args.combine)
        if args.figure:
            plot_seeds(combined, Path(args.figure))
        Path(args.out).mkdir(parents=True, exist_ok=True)
        cells = {k: v for k, v in combined.items() if k != "ema"}
        (Path(args.out) / "staircase_seeds.json").write_text(json.dumps(cells, indent=1) + "\n")
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this machine's PyTorch sees no CUDA device")
    if args.threads:
        torch.set_num_threads(args.threads)
    run(quick=args.quick, steps=args.steps, critics=args.critics, seed=args.seed, out_dir=args.out, device=args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
