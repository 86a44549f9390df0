"""Kernel side of the checks of notebook 07: call ``shuffle_reference``, ``nwj``, ``infonce`` and
``smile`` (and ``nwj_critic``, ``smile_gap``) on the check's inputs and report what came back (``watch`` of the package: the kind,
dtype, device and values returned, the arguments changed in place, a gradient to each input).

The inputs are the check's own (pairs, critic values, score matrices), except in
``smile_spread``, which draws its many data sets here from a generator seeded by the check
(the check draws the same ones again on its side) and evaluates them with the course's
``t_star`` of notebook 01, given to ``from_notebook`` by the grader. The verdicts are
reached by the check.
"""
from __future__ import annotations


import numpy as np
import torch

from . import correlated, device, raised, result, seeded, watch


def _pairs(ns: dict, Z) -> torch.Tensor:
    """The check's pairs as a tensor of their own dtype (float32 or float64) on the notebook's device."""
    return torch.tensor(np.asarray(Z), device=device(ns))


def _shuffle_once(ns: dict, Z: torch.Tensor, generator: torch.Generator) -> dict:
    out = watch(ns["shuffle_reference"], {"Z": Z, "generator": generator})
    out["input_dtype"], out["input_device"] = str(Z.dtype).removeprefix("torch."), Z.device.type
    return out


def shuffle(ns: dict, cases: list, check_seed: int) -> list:
    """``shuffle_reference(Z, generator)`` for each array Z of ``cases`` (a tensor of the array's
    dtype on the notebook's device), each with a CPU generator of its own: what came back, and
    whether Z was changed."""
    out = []
    with seeded(check_seed):
        for i, Z in enumerate(cases):
            out.append(_shuffle_once(ns, _pairs(ns, Z), torch.Generator().manual_seed(check_seed + i)))
    return out


def shuffle_generator(ns: dict, Z, check_seed: int) -> list:
    """Four calls on the same Z: with a generator seeded with ``check_seed``, with that same
    generator again (its state advanced by the first call), with a new generator seeded with
    ``check_seed`` (the first call's state), and with one seeded with ``check_seed + 1``."""
    Z = _pairs(ns, Z)
    with seeded(check_seed):
        first = torch.Generator().manual_seed(check_seed)
        gens = (first, first, torch.Generator().manual_seed(check_seed), torch.Generator().manual_seed(check_seed + 1))
        return [_shuffle_once(ns, Z.clone(), generator) for generator in gens]


def values(ns: dict, name: str, cases: list) -> list:
    """``ns[name](*args)`` for each case {args, tau}: the arrays of ``args`` as float32 tensors on
    the notebook's device inside a graph (as a network's outputs are: each the clone of a leaf
    that requires gradients), ``tau`` (for smile and smile_gap) a number. What came back, whether an argument
    was changed, and the gradient of the result with respect to each tensor argument."""
    dev = device(ns)
    out = []
    names = {"nwj": ("t", "t_ref"), "smile": ("t", "t_ref"), "infonce": ("scores",), "smile_gap": ("t_ref",)}[name]
    for case in cases:
        args = {key: torch.tensor(np.asarray(a), dtype=torch.float32, device=dev, requires_grad=True).clone()
                for key, a in zip(names, case["args"], strict=True)}
        if "tau" in case:
            args["tau"] = float(case["tau"])
        out.append(watch(ns[name], args, grad_wrt=names))
    return out


def critic(ns: dict, cases: list) -> list:
    """``nwj_critic(Z, rho)`` for each case {Z, rho}: Z as a tensor of its own dtype (float32 or
    float64) on the notebook's device. What came back (with the dtype and device of Z), and
    whether Z was changed."""
    out = []
    for case in cases:
        Z = _pairs(ns, case["Z"])
        got = watch(ns["nwj_critic"], {"Z": Z, "rho": float(case["rho"])})
        got["input_dtype"], got["input_device"] = str(Z.dtype).removeprefix("torch."), Z.device.type
        out.append(got)
    return out


def draw_sets(rho: float, sets: int, n: int, check_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``sets`` data sets of n pairs of P (correlation rho) and n of Q, float32 on the CPU, from
    a CPU generator seeded with ``check_seed``; the check draws the same ones on its side."""
    generator = torch.Generator().manual_seed(check_seed)
    Z = correlated(torch.randn(sets, n, 2, generator=generator), rho)
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
                got.append(result(ns["smile"](t, t_ref, float(tau))))
            except Exception as exc:  # noqa: BLE001 (reported to the check, which words it)
                return raised(exc)
    return {"results": got}
