"""Kernel side of the checks of notebook 07: call ``shuffle_reference``, ``nwj``, ``infonce`` and
``smile`` on the check's inputs and report what came back.

The inputs are the check's own (pairs, critic values, score matrices), except in
``smile_spread``, which draws its many data sets here from a generator seeded by the check
(the check draws the same ones again on its side) and evaluates them with the course's
``t_star`` of notebook 01, given to ``from_notebook`` by the grader. The verdicts are
reached by the check.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from . import device, seeded


def _raised(exc: Exception) -> dict:
    return {"raised": f"{type(exc).__name__}: {exc}"}


def _info(got) -> dict:
    """Type, shape, one-number-ness, graph and value (float64) of what an estimator returned."""
    info = {"type": type(got).__name__}
    if isinstance(got, torch.Tensor):
        info.update(shape=list(got.shape), numel=got.numel(), requires_grad=bool(got.requires_grad))
        value = got.detach().double().cpu()
        info["value"] = float(value.reshape(())) if got.numel() == 1 else value.numpy()
    else:
        try:
            info["value"] = float(got)
        except (TypeError, ValueError):
            pass
    return info


def shuffle(ns: dict, cases: list, check_seed: int) -> list:
    """``shuffle_reference(Z, generator)`` for each array Z of ``cases`` (a float32 tensor on the
    notebook's device), each with a CPU generator of its own: the array that came back."""
    dev = device(ns)
    out = []
    with seeded(check_seed):
        for i, Z in enumerate(cases):
            Z = torch.tensor(np.asarray(Z), dtype=torch.float32, device=dev)
            try:
                got = ns["shuffle_reference"](Z, torch.Generator().manual_seed(check_seed + i))
            except Exception as exc:  # noqa: BLE001 (reported to the check, which words it)
                out.append(_raised(exc))
                continue
            info = {"type": type(got).__name__}
            if isinstance(got, torch.Tensor):
                info["value"] = got.detach().float().cpu().numpy()
            out.append(info)
    return out


def values(ns: dict, name: str, cases: list) -> list:
    """``ns[name](*args)`` for each case {args, tau}: the arrays of ``args`` as float32 tensors on
    the notebook's device that require gradients (as a network's outputs would), ``tau`` (for
    smile) a number. What came back: its type, shape, value and whether it is connected."""
    dev = device(ns)
    out = []
    for case in cases:
        args = [torch.tensor(np.asarray(a), dtype=torch.float32, device=dev, requires_grad=True) for a in case["args"]]
        if "tau" in case:
            args.append(float(case["tau"]))
        try:
            got = ns[name](*args)
        except Exception as exc:  # noqa: BLE001
            out.append(_raised(exc))
            continue
        out.append(_info(got))
    return out


def draw_sets(rho: float, sets: int, n: int, check_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``sets`` data sets of n pairs of P (correlation rho) and n of Q, float32 on the CPU, from
    a CPU generator seeded with ``check_seed``; the check draws the same ones on its side."""
    generator = torch.Generator().manual_seed(check_seed)
    w = torch.randn(sets, n, 2, generator=generator)
    Z = torch.stack([w[..., 0], rho * w[..., 0] + math.sqrt(1 - rho**2) * w[..., 1]], dim=-1)
    return Z, torch.randn(sets, n, 2, generator=generator)


def smile_spread(ns: dict, rho: float, sets: int, n: int, tau: float, check_seed: int) -> dict:
    """``smile(t*(Z), t*(Z'), tau)`` on each of ``sets`` data sets drawn here: the values."""
    from nde_student.earlier import from_notebook

    course_t_star = from_notebook("01_problem", "t_star")  # the grader gives it the course's answer
    dev = device(ns)
    Z, Z_ref = draw_sets(rho, sets, n, check_seed)
    got = []
    with seeded(check_seed):
        for s in range(sets):
            t, t_ref = course_t_star(Z[s].to(dev), rho), course_t_star(Z_ref[s].to(dev), rho)
            try:
                got.append(_info(ns["smile"](t, t_ref, float(tau))))
            except Exception as exc:  # noqa: BLE001
                return _raised(exc)
    return {"results": got}
