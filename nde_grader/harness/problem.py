"""Kernel side of the checks of notebook 01: call ``draw_samples``, ``ground_truth`` and ``t_star``."""
from __future__ import annotations

import numpy as np

from . import DTYPES, device, seeded, watch


def _part(a) -> dict:
    part = {"type": type(a).__name__}
    if isinstance(a, np.ndarray):
        part.update(dtype=a.dtype.name, shape=list(a.shape))
        if a.dtype.name in DTYPES:
            part["array"] = a
    return part


def draw(ns: dict, calls: list, check_seed: int) -> list:
    """``draw_samples(rho, n, n_ref, seed)`` for each [rho, n, n_ref, seed] of ``calls``,
    with the generators seeded by the check; "move" draws from NumPy's global stream."""
    out = []
    with seeded(check_seed):
        for call in calls:
            if call == "move":
                np.random.random(5)  # a seeded answer must not care
                continue
            rho, n, n_ref, seed = call
            got = ns["draw_samples"](float(rho), int(n), int(n_ref), int(seed))
            out.append({"type": type(got).__name__,
                        "parts": [_part(a) for a in got] if isinstance(got, (tuple, list)) else None})
    return out


_MAKE = {"int": int, "float": float, "float64": np.float64, "array": np.array}  # np.array: a writable copy


def truth(ns: dict, calls: list) -> list:
    """``ground_truth(value)`` for each [kind, value] of ``calls`` (``watch``: what came back, its
    kind and values, or what it raised; whether an array argument was changed)."""
    return [watch(ns["ground_truth"], {"rho": _MAKE[kind](value)}) for kind, value in calls]


def critic(ns: dict, calls: list) -> list:
    """``t_star(Z, rho)`` for each {Z, rho, kind} of ``calls``, Z passed as a float64 NumPy array
    (kind "numpy") or as a float32 tensor on the notebook's device (kind "torch"): what came
    back (``watch``: its kind, dtype, shape and values), or what it raised; whether Z was changed."""
    import torch

    out = []
    for call in calls:
        Z = np.array(call["Z"], dtype=np.float64)
        if call["kind"] == "torch":
            Z = torch.tensor(Z, dtype=torch.float32, device=device(ns))
        out.append(watch(ns["t_star"], {"Z": Z, "rho": float(call["rho"])}))
    return out
