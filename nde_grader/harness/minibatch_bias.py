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

from . import correlated, device, raised, result, seeded, watch


def scaled(ns: dict, calls: list) -> list:
    """``dv_scaled(c, rho)`` for each {c, rho} of ``calls``, watched (``watch``): a list c is
    passed as a NumPy array of its shape (whose values must be left as they were)."""
    out = []
    for call in calls:
        c = np.array(call["c"], dtype=np.float64) if isinstance(call["c"], list) else float(call["c"])
        out.append(watch(ns["dv_scaled"], {"c": c, "rho": float(call["rho"])}))
    return out


def _number(value, kind: str, dev):
    """m as the case asks: a number, a 0-dim tensor ("tensor") or a tensor of shape (1,) ("tensor (1,)")."""
    if kind == "tensor":
        return torch.tensor(float(value), device=dev)
    if kind == "tensor (1,)":
        return torch.tensor([float(value)], device=dev)
    return float(value)


def naive(ns: dict, cases: list) -> list:
    """``naive_grad(t, t_ref, c=c, m=m)`` for each {t, t_ref, c, m, m_kind} of ``cases``, watched:
    the values as float32 tensors on the notebook's device, m None, a number or a tensor (m_kind)."""
    dev = device(ns)
    out = []
    for case in cases:
        t = torch.tensor(np.asarray(case["t"]), dtype=torch.float32, device=dev)
        t_ref = torch.tensor(np.asarray(case["t_ref"]), dtype=torch.float32, device=dev)
        m = None if case["m"] is None else _number(case["m"], case["m_kind"], dev)
        out.append(watch(ns["naive_grad"], {"t": t, "t_ref": t_ref, "c": float(case["c"]), "m": m},
                         keywords=("c", "m")))
    return out


def bias(ns: dict, rho: float, k: int, size: int, check_seed: int) -> dict:
    """``naive_grad`` at c = 1 on k batches of ``size`` samples of P (correlation rho) and of Q,
    drawn here, with m = None and with m = 1: the gradients of every batch."""
    from nde_student.earlier import from_notebook

    course_t_star = from_notebook("01_problem", "t_star")  # the grader gives it the course's answer
    dev = device(ns)
    with seeded(check_seed):
        generator = torch.Generator().manual_seed(check_seed)
        Z = correlated(torch.randn(k * size, 2, generator=generator), rho).to(dev)
        Z_ref = torch.randn(k * size, 2, generator=generator).to(dev)
        t, t_ref = course_t_star(Z, rho).reshape(k, size), course_t_star(Z_ref, rho).reshape(k, size)
        out = {}
        for name, m in (("naive", None), ("true_m", 1.0)):
            try:
                out[name] = result(ns["naive_grad"](t, t_ref, m=m))
            except Exception as exc:  # noqa: BLE001 (reported to the check, which words it)
                out[name] = raised(exc)
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
    weights, watched (a gradient to each of t and t_ref, by autograd; the arguments changed in
    place); then ``backward()``. m is a tensor: the case's number (of shape ``m_shape``, 0-dim
    unless given), or (``attached``) a + b * mean of e^net(Z_m) over other samples, still
    connected to the network. Adds the value of m and the gradient of every parameter
    (``params``)."""
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
            m = torch.tensor(float(case["m"]), device=dev).reshape(case.get("m_shape", []))
        m_value = float(m.detach().reshape(()))
        kept = []

        def call(*args):
            kept.append(ns["mine_loss"](*args))
            return kept[-1]

        info = watch(call, {"t": t, "t_ref": t_ref, "m": m}, grad_wrt=("t", "t_ref"))
        info.pop("grads", None)
        info["m"] = m_value
        got = kept[0] if kept else None
        if isinstance(got, torch.Tensor) and got.numel() == 1 and got.requires_grad:
            try:
                got.reshape(()).backward()
            except Exception as exc:  # noqa: BLE001
                out.append(raised(exc))
                continue
            info["params"] = {name: (None if p.grad is None else p.grad.double().cpu().numpy())
                              for name, p in net.named_parameters()}
        out.append(info)
    return out


def average(ns: dict, calls: list) -> list:
    """``update_average(m, t_ref, alpha)`` for each {m, t_ref, alpha} of ``calls``, watched: m None
    or a 0-dim tensor, t_ref a float32 tensor that requires gradients (as a network's output would)."""
    dev = device(ns)
    out = []
    for call in calls:
        t_ref = torch.tensor(np.asarray(call["t_ref"]), dtype=torch.float32, device=dev, requires_grad=True)
        m = None if call["m"] is None else torch.tensor(float(call["m"]), device=dev)
        out.append(watch(ns["update_average"], {"m": m, "t_ref": t_ref, "alpha": float(call["alpha"])}))
    return out
