"""Kernel side of the checks of notebook 06: call ``dv_scaled``, ``naive_grad``, ``mine_loss``
and ``update_average`` on the check's inputs and report what came back.

The inputs are the check's own: numbers, critic values, the weights of a small network.
Only ``bias`` draws samples here (too many to send), from a generator seeded by the check,
and evaluates them with the course's ``t_star`` of notebook 01 (which the grader gives
``from_notebook``). Whether what came back is right is decided by the check.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import device, seeded


def _raised(exc: Exception) -> dict:
    return {"raised": f"{type(exc).__name__}: {exc}"}


def _tensor_info(got) -> dict:
    """Type, shape and values (float64) of what a student's function returned."""
    info = {"type": type(got).__name__}
    if isinstance(got, torch.Tensor):
        info.update(shape=list(got.shape), requires_grad=bool(got.requires_grad))
        info["value"] = got.detach().double().cpu().numpy()
    else:
        try:
            info["value"] = np.asarray(got, dtype=np.float64)
            info["shape"] = list(info["value"].shape)
        except (TypeError, ValueError):
            pass
    return info


def scaled(ns: dict, calls: list) -> list:
    """``dv_scaled(c, rho)`` for each {c, rho} of ``calls``; a list c is passed as a NumPy array."""
    out = []
    for call in calls:
        c = np.asarray(call["c"], dtype=np.float64) if isinstance(call["c"], list) else float(call["c"])
        try:
            with np.errstate(all="ignore"):
                got = ns["dv_scaled"](c, float(call["rho"]))
        except Exception as exc:  # noqa: BLE001 (reported to the check, which words it)
            out.append(_raised(exc))
            continue
        out.append(_tensor_info(got))
    return out


def _number(value, kind: str, dev):
    return torch.tensor(float(value), device=dev) if kind == "tensor" else float(value)


def naive(ns: dict, cases: list) -> list:
    """``naive_grad(t, t_ref, c=c, m=m)`` for each {t, t_ref, c, m, m_kind} of ``cases``, the values
    as float32 tensors on the notebook's device, m as a number or a 0-dim tensor (m_kind)."""
    dev = device(ns)
    out = []
    for case in cases:
        t = torch.tensor(np.asarray(case["t"]), dtype=torch.float32, device=dev)
        t_ref = torch.tensor(np.asarray(case["t_ref"]), dtype=torch.float32, device=dev)
        m = None if case["m"] is None else _number(case["m"], case["m_kind"], dev)
        try:
            got = ns["naive_grad"](t, t_ref, c=float(case["c"]), m=m)
        except Exception as exc:  # noqa: BLE001
            out.append(_raised(exc))
            continue
        out.append(_tensor_info(got))
    return out


def bias(ns: dict, rho: float, k: int, size: int, check_seed: int) -> dict:
    """``naive_grad`` at c = 1 on k batches of ``size`` samples of P (correlation rho) and of Q,
    drawn here, with m = None and with m = 1: the gradients of every batch."""
    from nde_student.earlier import from_notebook

    course_t_star = from_notebook("01_problem", "t_star")  # the grader gives it the course's answer
    dev = device(ns)
    with seeded(check_seed):
        generator = torch.Generator().manual_seed(check_seed)
        w = torch.randn(k * size, 2, generator=generator)
        Z = torch.stack([w[:, 0], rho * w[:, 0] + (1 - rho**2) ** 0.5 * w[:, 1]], dim=1).to(dev)
        Z_ref = torch.randn(k * size, 2, generator=generator).to(dev)
        t, t_ref = course_t_star(Z, rho).reshape(k, size), course_t_star(Z_ref, rho).reshape(k, size)
        out = {}
        for name, m in (("naive", None), ("true_m", 1.0)):
            try:
                out[name] = _tensor_info(ns["naive_grad"](t, t_ref, m=m))
            except Exception as exc:  # noqa: BLE001
                out[name] = _raised(exc)
    return out


class Small(nn.Module):
    """A 2-h-1 network with tanh, its weights given."""

    def __init__(self, weights: dict, dev):
        super().__init__()
        hidden = len(weights["b1"])
        self.fc1, self.fc2 = nn.Linear(2, hidden), nn.Linear(hidden, 1)
        with torch.no_grad():
            for layer, w, b in ((self.fc1, "W1", "b1"), (self.fc2, "W2", "b2")):
                layer.weight.copy_(torch.tensor(np.asarray(weights[w]), dtype=torch.float32))
                layer.bias.copy_(torch.tensor(np.asarray(weights[b]), dtype=torch.float32))
        self.to(dev)

    def forward(self, z):
        return self.fc2(torch.tanh(self.fc1(z)))


def mine(ns: dict, cases: list) -> list:
    """``mine_loss(net(Z), net(Z_ref), m)`` for each case, on the small network of the case's
    weights; then ``backward()``. m is a 0-dim tensor: the case's number, or (``attached``)
    a + b * mean of e^net(Z_m) over other samples, still connected to the network. Returns
    what came back, the value of m, and the gradient of every parameter."""
    dev = device(ns)
    out = []
    for case in cases:
        net = Small(case["weights"], dev)
        as32 = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32, device=dev)  # noqa: E731
        Z, Z_ref = as32(case["Z"]), as32(case["Z_ref"])
        t, t_ref = net(Z).squeeze(-1), net(Z_ref).squeeze(-1)
        if case.get("attached"):
            a, b = case["attached"]["a"], case["attached"]["b"]
            m = a + b * net(as32(case["attached"]["Z_m"])).squeeze(-1).exp().mean()
        else:
            m = torch.tensor(float(case["m"]), device=dev)
        m_value = float(m.detach())
        try:
            got = ns["mine_loss"](t, t_ref, m)
        except Exception as exc:  # noqa: BLE001
            out.append(_raised(exc))
            continue
        info = {"type": type(got).__name__, "m": m_value}
        if isinstance(got, torch.Tensor):
            info.update(shape=list(got.shape), numel=got.numel(), requires_grad=bool(got.requires_grad))
            if got.numel() == 1 and got.requires_grad:
                try:
                    got.reshape(()).backward()
                except Exception as exc:  # noqa: BLE001
                    out.append(_raised(exc))
                    continue
                info["grads"] = {name: (None if p.grad is None else p.grad.double().cpu().numpy())
                                 for name, p in net.named_parameters()}
        out.append(info)
    return out


def average(ns: dict, calls: list) -> list:
    """``update_average(m, t_ref, alpha)`` for each {m, t_ref, alpha} of ``calls``: m None or a
    0-dim tensor, t_ref a float32 tensor that requires gradients (as a network's output would)."""
    dev = device(ns)
    out = []
    for call in calls:
        t_ref = torch.tensor(np.asarray(call["t_ref"]), dtype=torch.float32, device=dev, requires_grad=True)
        m = None if call["m"] is None else torch.tensor(float(call["m"]), device=dev)
        try:
            got = ns["update_average"](m, t_ref, float(call["alpha"]))
        except Exception as exc:  # noqa: BLE001
            out.append(_raised(exc))
            continue
        info = _tensor_info(got)
        if isinstance(got, torch.Tensor):
            info["numel"] = got.numel()
        out.append(info)
    return out
