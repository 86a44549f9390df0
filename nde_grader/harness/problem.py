"""Kernel side of the checks of notebook 01: call ``draw_samples`` and ``ground_truth``."""
from __future__ import annotations

import numpy as np

from . import DTYPES, seeded


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


_MAKE = {"int": int, "float": float, "float64": np.float64, "array": np.asarray}


def truth(ns: dict, calls: list) -> list:
    """``ground_truth(value)`` for each [kind, value] of ``calls``: its result, or what it raised."""
    out = []
    for kind, value in calls:
        try:
            with np.errstate(all="ignore"):
                got = ns["ground_truth"](_MAKE[kind](value))
        except Exception as exc:  # noqa: BLE001 (reported to the check, which words it)
            out.append({"raised": f"{type(exc).__name__}: {exc}"})
            continue
        if isinstance(got, np.ndarray) and got.dtype.kind in "fiu":
            out.append({"value": got.astype(np.float64)})
            continue
        try:
            out.append({"value": float(got), "type": type(got).__name__})
        except (TypeError, ValueError):
            out.append({"type": type(got).__name__})
    return out


def critic(ns: dict, calls: list) -> list:
    """``t_star(Z, rho)`` for each {Z, rho, kind} of ``calls``, Z passed as a float64 NumPy array
    (kind "numpy") or as a float32 tensor on the notebook's device (kind "torch"): what came
    back (its type, shape and values), or what it raised."""
    import torch

    from . import device

    out = []
    for call in calls:
        Z = np.array(call["Z"], dtype=np.float64)
        if call["kind"] == "torch":
            Z = torch.tensor(Z, dtype=torch.float32, device=device(ns))
        try:
            with np.errstate(all="ignore"):
                got = ns["t_star"](Z, float(call["rho"]))
        except Exception as exc:  # noqa: BLE001 (reported to the check, which words it)
            out.append({"raised": f"{type(exc).__name__}: {exc}"})
            continue
        info = {"type": type(got).__name__, "shape": list(getattr(got, "shape", ()) or ())}
        try:
            if isinstance(got, torch.Tensor):
                info["value"] = got.detach().double().cpu().numpy()
            else:
                info["value"] = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError, RuntimeError):
            pass
        out.append(info)
    return out
