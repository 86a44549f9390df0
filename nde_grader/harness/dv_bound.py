"""Kernel side of the checks of notebook 04: call the student's ``DV`` with a critic of the check's own.

The critic is a lookup table: the check sends the samples and the value t(z) it wants
at each of them, and ``Lookup`` returns those values, as a parameter vector, for the
rows it is called on. So the check knows exactly what DV should return, and what its
gradient with respect to each value should be, whatever the student's code does
between the samples and the critic (one call on Z and one on Z_ref, or one call on
both stacked). A row that is not one of the samples is an error: DV must pass the
samples to the critic unchanged.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import device, kind, raised, watch


class Lookup(nn.Module):
    """t(z) = theta[index of the row z among the known rows], for (N, 2) float32 inputs."""

    def __init__(self, rows: torch.Tensor, values: torch.Tensor):
        super().__init__()
        keys = rows.contiguous().view(torch.int64).reshape(-1)  # the two float32 of a row as one int64
        self.order = torch.argsort(keys)
        self.keys = keys[self.order]
        self.theta = nn.Parameter(values.clone())

    def forward(self, z):
        z = torch.as_tensor(z).to(device=self.keys.device, dtype=torch.float32).contiguous()
        if z.dim() != 2 or z.shape[1] != 2:
            raise ValueError(f"the critic takes a batch of shape (N, 2); it was called on shape {tuple(z.shape)}")
        keys = z.view(torch.int64).reshape(-1)
        pos = torch.searchsorted(self.keys, keys).clamp(max=len(self.keys) - 1)
        if not torch.equal(self.keys[pos], keys):
            raise ValueError("the critic was called on rows that are not samples of Z or Z_ref: "
                             "pass the samples to net unchanged")
        return self.theta[self.order[pos]].unsqueeze(-1)


def _number(got) -> float | None:
    """The value of a one-number tensor or of a number, as a float (None for anything else)."""
    if isinstance(got, torch.Tensor):
        return float(got.detach().double().cpu().reshape(())) if got.numel() == 1 else None
    if isinstance(got, (int, float, np.integer, np.floating)) and not isinstance(got, (bool, np.bool_)):
        return float(got)
    return None


def evaluate(ns: dict, cases: list) -> list:
    """For each case {Z, Z_ref, t_Z, t_ref, backward}: what ``DV(Z, Z_ref, critic)`` returned
    (``watch``: type, shape, requires_grad; ``value``, a float, for one number), or what it raised,
    and which of Z, Z_ref it changed; with ``backward``, the gradient of that value with respect to
    the critic's values at Z and at Z_ref."""
    dev = device(ns)
    out = []
    for case in cases:
        Z = torch.tensor(case["Z"], dtype=torch.float32, device=dev)
        Z_ref = torch.tensor(case["Z_ref"], dtype=torch.float32, device=dev)
        values = torch.tensor(list(case["t_Z"]) + list(case["t_ref"]), dtype=torch.float32, device=dev)
        critic = Lookup(torch.cat([Z, Z_ref]), values)
        kept = []

        def dv(Z, Z_ref, net, kept=kept):
            kept.append(ns["DV"](Z, Z_ref, net))  # kept for the backward pass
            return kept[0]

        info = watch(dv, {"Z": Z, "Z_ref": Z_ref, "net": critic})
        info.pop("value", None)
        if kept and (value := _number(kept[0])) is not None:
            info["value"] = value
            got = kept[0]
            if case["backward"] and isinstance(got, torch.Tensor) and got.requires_grad:
                got.reshape(()).backward()
                grad = critic.theta.grad
                info["grad"] = None if grad is None else grad.double().cpu().numpy()
        out.append(info)
    return out


def numbers(ns: dict, name: str, calls: list) -> list:
    """``ns[name](*args)`` for each list of plain-number arguments of ``calls``: the number it
    returned (``value``, a float, where it converts to one) and its kind (``type``, as ``kind`` of
    the package names it: "float", "numpy.float64", "Tensor", ...), or what it raised."""
    out = []
    for args in calls:
        try:
            got = ns[name](*args)
        except Exception as exc:  # noqa: BLE001 (reported to the check, which words it)
            out.append(raised(exc))
            continue
        one = got.reshape(-1)[0] if isinstance(got, np.ndarray) and got.size == 1 else got  # float() takes 0-d only
        try:
            out.append({"value": float(one), "type": kind(got)})
        except (TypeError, ValueError, RuntimeError):
            out.append({"type": kind(got)})
    return out


def adam_steps(ns: dict, calls: list) -> list:
    """``adam_first_step(grad, lr=..., betas=..., eps=...)`` for each {grad, lr, betas, eps} of
    ``calls``, the gradients as a float32 tensor on the notebook's device (``watch``: the kind,
    dtype, shape and values of the result, or what it raised; whether grad was changed)."""
    dev = device(ns)
    out = []
    for call in calls:
        grad = torch.tensor(np.asarray(call["grad"]), dtype=torch.float32, device=dev)
        args = {"grad": grad, "lr": float(call["lr"]), "betas": tuple(float(b) for b in call["betas"]),
                "eps": float(call["eps"])}
        out.append(watch(ns["adam_first_step"], args, keywords=("lr", "betas", "eps")))
    return out
