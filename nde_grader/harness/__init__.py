"""The part of the hidden checks that runs inside the student's kernel.

A check (``nde_grader/checks``) calls ``probe.run("<key>.<routine>", **params)``. The
routine runs where the student's answers are (the notebook's namespace ``ns``), calls
them on the check's inputs, and returns what came back: numbers, arrays, short strings.
Whether that is right is decided by the check, outside the kernel.

This package is what the grader sends into a grading kernel (as source code, see
``nde_grader/probe.py``): it imports only the standard library, NumPy, PyTorch and the
students' library, and it holds no answer and no expected value (a test scans it).

Wire format: JSON, with NumPy arrays (and tensors, as arrays) as
``{"__array__": [dtype, shape, base64]}`` and non-finite floats as
``{"__float__": "nan" | "inf" | "-inf"}``; tuples come back as lists.
"""
from __future__ import annotations

import base64
import importlib
import json
import math
import random
from contextlib import contextmanager

import numpy as np

MIME = "application/vnd.nde.result+json"
DTYPES = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"}


def encode(obj):
    """``obj`` as JSON-compatible data (see the module's docstring)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if type(obj).__module__ == "torch" and type(obj).__name__ in ("Tensor", "Parameter"):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        name = obj.dtype.name
        if name not in DTYPES:
            raise TypeError(f"cannot send an array of dtype {name}")
        data = np.ascontiguousarray(obj)
        return {"__array__": [name, list(obj.shape), base64.b64encode(data.tobytes()).decode("ascii")]}
    if isinstance(obj, (list, tuple)):
        return [encode(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    raise TypeError(f"cannot send a {type(obj).__name__}")


def decode(obj):
    """The inverse of ``encode``; arrays come back as read-only NumPy arrays, no pickle involved."""
    if isinstance(obj, list):
        return [decode(x) for x in obj]
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            name, shape, data = obj["__array__"]
            if name not in DTYPES:
                raise ValueError(f"unexpected dtype {name!r}")
            raw = base64.b64decode(data, validate=True)
            return np.frombuffer(raw, dtype=np.dtype(name)).reshape([int(s) for s in shape])
        if set(obj) == {"__float__"}:
            return float(obj["__float__"])
        return {k: decode(v) for k, v in obj.items()}
    return obj


def roundtrip(obj):
    """What the other side receives when ``obj`` is sent."""
    return decode(json.loads(json.dumps(encode(obj))))


def call_routine(ns: dict, routine: str, params: dict, package: str):
    module_name, _, name = routine.partition(".")
    module = importlib.import_module(f"{package}.{module_name}")
    return getattr(module, name)(ns, **params)


def serve(routine: str, payload: str, token: str) -> None:
    """Run in the kernel: call ``routine`` with the decoded ``payload`` and display its
    result with the request's ``token`` (the grader takes nothing else for the reply)."""
    from IPython import get_ipython
    from IPython.display import display

    result = call_routine(get_ipython().user_ns, routine, decode(json.loads(payload)), __name__)
    display({MIME: {"token": token, "result": encode(result)}}, raw=True)


_MISSING = object()


@contextmanager
def bound(ns: dict, **names):
    """Bind names in the notebook's namespace for a while; put the student's back after."""
    old = {k: ns.get(k, _MISSING) for k in names}
    ns.update(names)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is _MISSING:
                ns.pop(k, None)
            else:
                ns[k] = v


@contextmanager
def seeded(seed: int):
    """Seed Python's, NumPy's and PyTorch's generators for a check, whatever the student
    seeded; put the student's states back afterwards. Yields a NumPy Generator."""
    import torch

    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    try:
        yield np.random.default_rng(seed)
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def correlated(w, rho: float):
    """Standard normals w of shape (..., 2) (an array or a tensor) made pairs with correlation
    rho: (w_0, rho w_0 + sqrt(1 - rho^2) w_1), a new array or tensor of w's kind. The grader's
    side (nde_grader.oracle) draws its pairs with it too."""
    out = w * 1
    out[..., 1] = rho * w[..., 0] + math.sqrt(1 - rho**2) * w[..., 1]
    return out


def device(ns: dict):
    """The notebook's DEVICE, or the CPU."""
    import torch

    found = ns.get("DEVICE")
    return found if isinstance(found, torch.device) else torch.device("cpu")


def describe(obj) -> str:
    """A short name of what a student's function returned, for messages."""
    kind = type(obj).__name__
    shape = getattr(obj, "shape", None)
    return f"{kind} of shape {tuple(shape)}" if shape is not None else kind


# --- watching a student's function -------------------------------------------------------

def raised(exc: BaseException) -> dict:
    """What a student's function raised, as a reply."""
    return {"raised": f"{type(exc).__name__}: {exc}"}


def kind(obj) -> str:
    """The kind of object, as the checks name it: "ndarray", "Tensor", "float", "int", "list", ...
    (a NumPy scalar is "numpy.float64" and so on, not a plain number)."""
    if isinstance(obj, np.generic):
        return f"numpy.{type(obj).__name__}"
    return type(obj).__name__


def result(got) -> dict:
    """What a student's function returned: its kind, dtype, shape, size, whether it carries a
    gradient, and its values in float64 (an array, or a number for a plain number)."""
    import torch

    info = {"type": kind(got)}
    if isinstance(got, torch.Tensor):
        info.update(dtype=str(got.dtype).removeprefix("torch."), shape=list(got.shape), numel=got.numel(),
                    requires_grad=bool(got.requires_grad), device=got.device.type)
        info["value"] = got.detach().double().cpu().numpy()
    elif isinstance(got, np.ndarray) or isinstance(got, np.generic):
        info.update(dtype=got.dtype.name, shape=list(np.shape(got)), numel=int(np.size(got)))
        if got.dtype.kind in "fiub":
            info["value"] = np.asarray(got, dtype=np.float64)
    elif isinstance(got, (int, float)) and not isinstance(got, bool):
        info.update(shape=[], numel=1, value=float(got))
    elif isinstance(got, (list, tuple)):
        info["length"] = len(got)
    return info


def _copy(obj):
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, np.ndarray):
        return obj.copy()
    return None


def _same(before, after) -> bool:
    import torch

    if isinstance(before, torch.Tensor):
        return before.shape == after.shape and bool(torch.equal(before, after.detach()))
    return before.shape == after.shape and bool(np.array_equal(before, after, equal_nan=True))


def watch(fn, args: dict, grad_wrt: tuple[str, ...] = (), keywords: tuple[str, ...] = ()) -> dict:
    """Call ``fn`` on ``args`` (name -> value, passed in that order, positionally except the
    names in ``keywords``) and report: what it returned (``result``), or what it raised; the
    names of the array and tensor arguments whose values it changed (``changed``, compared
    with copies taken before the call); and, for each name of ``grad_wrt`` (tensors that
    require gradients), whether the result's sum has a gradient with respect to it
    (``reaches``: name -> True / False, by ``torch.autograd.grad``, not by ``requires_grad``)
    and that gradient (``grads``)."""
    import torch

    copies = {name: _copy(v) for name, v in args.items()}
    positional = [v for name, v in args.items() if name not in keywords]
    named = {name: args[name] for name in keywords if name in args}
    try:
        with np.errstate(all="ignore"):
            got = fn(*positional, **named)
    except Exception as exc:  # noqa: BLE001 (reported to the check, which words it)
        out = raised(exc)
    else:
        out = result(got)
        if grad_wrt and isinstance(got, torch.Tensor) and got.requires_grad and got.is_floating_point():
            wrt = [args[name] for name in grad_wrt]
            try:
                grads = torch.autograd.grad(got.sum(), wrt, allow_unused=True, retain_graph=True)
            except RuntimeError as exc:
                out["grad_error"] = f"{type(exc).__name__}: {exc}"
            else:
                out["reaches"] = {name: g is not None for name, g in zip(grad_wrt, grads, strict=True)}
                out["grads"] = {name: None if g is None else g.double().cpu().numpy()
                                for name, g in zip(grad_wrt, grads, strict=True)}
        elif grad_wrt:
            out["reaches"] = {name: False for name in grad_wrt}
    out["changed"] = [name for name, before in copies.items() if before is not None and not _same(before, args[name])]
    return out
