"""Kernel side of the checks of notebook 05: train with the student's ``DVTrainer`` and record it.

``step`` calls the notebook's global ``DV``. While a routine runs, that name is bound to
the course's DV of notebook 04 (from ``from_notebook``, which the grader gives the
course's earlier answers), so a mistake in an earlier exercise costs no points here,
and the student's is put back afterwards. The networks trained here are wrapped in
``Recorder``, which notes every batch the trainer feeds them while gradients are on.
What the routines return is a record of what happened (the batches, the gradients at
each optimiser step compared with those of the batch's loss, the logged scalars, the
returned estimates); the check decides whether it is right.
"""
from __future__ import annotations

import tempfile

import torch
from torch import nn

from . import bound, device, seeded


def course_answer(notebook: str, name: str):
    """The course's answer of an earlier notebook (given to from_notebook by the grader)."""
    from nde_student.earlier import from_notebook

    return from_notebook(notebook, name)


class Recorder(nn.Module):
    """A network that notes the inputs it sees while gradients are on."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.calls: list[torch.Tensor] = []
        self.recording = True

    def forward(self, z):
        if self.recording and torch.is_grad_enabled():
            self.calls.append(z.detach().cpu().clone())
        return self.net(z)


def _network(kind: str, dev) -> nn.Module:
    if kind == "course":
        return course_answer("03_network", "Net")().to(dev)
    return nn.Sequential(nn.Linear(2, 8), nn.ELU(), nn.Linear(8, 8), nn.ELU(), nn.Linear(8, 1)).to(dev)


def _rows(calls: list[torch.Tensor], since: int, where: dict) -> list[int]:
    out = []
    for call in calls[since:]:
        for row in call.tolist():
            i = where.get(tuple(row))
            if i is not None:
                out.append(i)
    return out


def train(ns: dict, Z, Z_ref, k: int, epochs: list, lr: float, check_seed: int, net: str = "check",
          held_out=None, watch_steps: bool = False, record_batches: bool = True) -> dict:
    """Build the student's trainer on the samples given (held_out optional), in a temporary
    log folder, and call ``step(e)`` for each e of ``epochs``; return what happened."""
    dev = device(ns)
    dv = course_answer("04_dv_bound", "DV")
    as_tensor = lambda a: torch.tensor(a, dtype=torch.float32, device=dev)  # noqa: E731
    Z, Z_ref = as_tensor(Z), as_tensor(Z_ref)
    held = None if held_out is None else tuple(as_tensor(a) for a in held_out)
    where_Z = {tuple(r): i for i, r in enumerate(Z.cpu().tolist())}
    where_ref = {tuple(r): i for i, r in enumerate(Z_ref.cpu().tolist())}
    with seeded(check_seed):
        model = Recorder(_network(net, dev))
    model.recording = record_batches
    steps: list[dict] = []

    def before_step(optimizer, args, kwargs):
        since = steps[-1]["calls"] if steps else 0
        step = {"calls": len(model.calls)}
        steps.append(step)
        rows_Z, rows_ref = _rows(model.calls, since, where_Z), _rows(model.calls, since, where_ref)
        step["batch"] = [len(rows_Z), len(rows_ref)]
        if not rows_Z or not rows_ref:
            return
        model.recording = False
        params = [p for group in optimizer.param_groups for p in group["params"]]
        with torch.enable_grad():
            loss = -dv(Z[rows_Z], Z_ref[rows_ref], model)
            expected = torch.autograd.grad(loss, params, allow_unused=True)
        model.recording = True
        step["loss"] = float(loss.detach())
        worst = 0.0
        for p, g in zip(params, expected):
            g = torch.zeros_like(p) if g is None else g
            got = torch.zeros_like(p) if p.grad is None else p.grad
            scale = 1e-5 * (1 + float(g.abs().max())) + 1e-3 * g.abs()
            worst = max(worst, float(((got - g).abs() / scale).max()))
        step["gradient_error"] = worst  # <= 1: the gradient of this batch's loss, to float32 rounding

    with tempfile.TemporaryDirectory(prefix="nde-check-") as logdir:
        with bound(ns, DV=dv), seeded(check_seed + 1):
            trainer = ns["DVTrainer"](Z, Z_ref, model, k, writer_params={"log_dir": logdir}, held_out=held, lr=lr)
            optimizer = getattr(trainer, "optimizer", None)
            if watch_steps and isinstance(optimizer, torch.optim.Optimizer):
                optimizer.register_step_pre_hook(before_step)
            returned = [trainer.step(e) for e in epochs]
        writer = getattr(trainer, "writer", None)
        if writer is not None:
            writer.flush()
        from nde_student.logs import read_scalars

        scalars = read_scalars(logdir)
        if writer is not None:
            writer.close()
    model.recording = False
    with torch.no_grad():
        own = float(dv(Z, Z_ref, model))
        on_held_out = None if held is None else float(dv(*held, model))
    return {
        "returned": [r if isinstance(r, (int, float)) and not isinstance(r, bool) else {"type": type(r).__name__}
                     for r in returned],
        "batches": [[_rows([c], 0, where_Z), _rows([c], 0, where_ref)] for c in model.calls],
        "steps": steps,
        "watched": watch_steps and isinstance(optimizer, torch.optim.Optimizer),
        "optimizer": type(optimizer).__name__,
        "lr": [g.get("lr") for g in optimizer.param_groups] if isinstance(optimizer, torch.optim.Optimizer) else None,
        "scalars": {"tag": scalars.tag.tolist(), "step": scalars.step.tolist(), "value": scalars.value.tolist()},
        "counters": [getattr(trainer, "n_iter", None), getattr(trainer, "n_epoch", None)],
        "dv_own": own,
        "dv_held_out": on_held_out,
    }
