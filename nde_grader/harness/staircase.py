"""Kernel side of the checks of notebook 08: call ``rho_for_mi``, ``staircase_pairs`` and
``separable_scores`` on the check's inputs and report what came back.

``separable_scores`` is given two networks of the check's own (weights sent by the check),
each wrapped so that every call and the shape of its input are recorded; the gradient of a
weighted sum of the scores with respect to their weights comes back too. The values are
judged by the check.
"""
from __future__ import annotations

import numpy as np
import torch

from . import raised, result, seeded, watch


def rho(ns: dict, cases: list) -> list:
    """``rho_for_mi(info, d)`` for each case [info, d, as_int] (info a number, an int when
    ``as_int``, or an array): what came back and whether the argument was changed."""
    out = []
    for info, d, as_int in cases:
        if isinstance(info, np.ndarray):
            info = np.array(info)  # writeable, of the check's dtype
        elif as_int:
            info = int(info)
        out.append(watch(ns["rho_for_mi"], {"info": info, "d": int(d)}))
    return out


def pairs(ns: dict, rho: float, d: int, n: int, seeds: list, global_seeds: list) -> list:
    """``staircase_pairs(rho, d, n, torch.Generator().manual_seed(s))`` for each s of ``seeds``,
    the global generators seeded with the matching entry of ``global_seeds`` before the call:
    the kinds, dtypes and shapes of what came back and the values of x and y."""
    out = []
    for s, g in zip(seeds, global_seeds, strict=True):
        with seeded(int(g)):
            try:
                got = ns["staircase_pairs"](float(rho), int(d), int(n), torch.Generator().manual_seed(int(s)))
            except Exception as exc:  # noqa: BLE001 (reported to the check, which words it)
                out.append(raised(exc))
                continue
        info = {"type": type(got).__name__}
        if isinstance(got, (tuple, list)):
            info["length"] = len(got)
            info["parts"] = [result(part) for part in got[:2]]
            for part in info["parts"]:  # float32 values travel as they are, not as float64
                if "value" in part:
                    part["value"] = part["value"].astype(np.float32)
        out.append(info)
    return out


class _Recorded(torch.nn.Module):
    """A network of the check's: v -> tanh(v A) (or v A), recording each call's input shape."""

    def __init__(self, A, squash: bool, calls: list, name: str):
        super().__init__()
        self.A = torch.nn.Parameter(torch.tensor(np.asarray(A), dtype=torch.float32))
        self.squash, self.calls, self.name = squash, calls, name

    def forward(self, inputs):
        self.calls.append([self.name, [int(s) for s in getattr(inputs, "shape", [])]])
        out = inputs @ self.A
        return torch.tanh(out) if self.squash else out


def scores(ns: dict, A, B, x, y, W) -> dict:
    """``separable_scores(g, h, x, y)`` with g(v) = tanh(v A) and h(v) = v B: what came back, the
    calls of g and h with their input shapes, whether x or y was changed, and the gradients of
    sum(W * S) with respect to A and B (None where none reaches them)."""
    calls: list = []
    g, h = _Recorded(A, True, calls, "g"), _Recorded(B, False, calls, "h")
    args = {"g": g, "h": h, "x": torch.tensor(np.asarray(x), dtype=torch.float32),
            "y": torch.tensor(np.asarray(y), dtype=torch.float32)}
    out = watch(ns["separable_scores"], args)
    out["calls"] = list(calls)  # those of this first call
    if "raised" not in out:
        got = ns["separable_scores"](g, h, args["x"], args["y"])  # again, for the gradient of the weighted sum
        grads = {"A": None, "B": None}
        if isinstance(got, torch.Tensor) and got.requires_grad and tuple(got.shape) == np.shape(W):
            weighted = (got * torch.tensor(np.asarray(W), dtype=got.dtype)).sum()
            found = torch.autograd.grad(weighted, [g.A, h.A], allow_unused=True)
            grads = {"A": None if found[0] is None else found[0].double().numpy(),
                     "B": None if found[1] is None else found[1].double().numpy()}
        out["grads"] = grads
    return out
