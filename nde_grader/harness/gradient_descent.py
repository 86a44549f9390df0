"""Kernel side of the checks of notebook 02: call ``L`` and ``descend``.

``L`` reads the notebook's global ``z``; ``descend`` calls the notebook's global ``L``.
The routines bind those names for the duration of a call and put the student's back.
``descend`` is run on a loss of the check's own, cosh(a (w - b)), so that it is tested
on any loss, as the exercise asks, and not through the student's ``L``.
"""
from __future__ import annotations

import torch

from . import bound, device

def _tensor_info(t) -> dict:
    if not isinstance(t, torch.Tensor):
        return {"type": type(t).__name__}
    return {"type": "Tensor", "shape": list(t.shape), "requires_grad": bool(t.requires_grad),
            "value": t.detach().double().cpu().numpy()}


def loss(ns: dict, z: float, w, grad: bool) -> dict:
    """``L(w)`` with the global z set to ``z``; with ``grad``, the gradient of its sum in w."""
    dev = device(ns)
    w = torch.tensor(w, dtype=torch.float32, device=dev, requires_grad=grad)
    with bound(ns, z=torch.tensor([z], device=dev)):
        out = ns["L"](w)
    info = _tensor_info(out)
    if grad and isinstance(out, torch.Tensor) and out.requires_grad:
        out.sum().backward()
        info["grad"] = None if w.grad is None else w.grad.double().cpu().numpy()
    return info


def descend(ns: dict, a: float, b: float, z: float, w0: float, lr: float, steps: int) -> dict:
    """``descend(w, lr=lr, steps=steps)`` from w = [w0], with L(w) = cosh(a (w - b)) and z set."""
    dev = device(ns)
    w = torch.tensor([w0], dtype=torch.float32, device=dev, requires_grad=True)
    with bound(ns, z=torch.tensor([z], device=dev), L=lambda v: torch.cosh(a * (v - b))):
        out = ns["descend"](w, lr=lr, steps=steps)
    return {"same": out is w, "is_leaf": w.is_leaf, "requires_grad": w.requires_grad,
            "w": w.detach().double().cpu().numpy(), "out": _tensor_info(out)}
