"""The hidden checks, one module per notebook: each function checks one property.

A check takes a probe (``nde_grader/probe.py``), has the student's code run on inputs of
its own through ``probe.run``, and decides in this process, from what came back, whether
the answer is right; a wrong answer raises AssertionError with a message for the student.
Expected values are computed here, from the course's reference (``nde_grader.reference``)
and closed forms, never in the student's kernel.

Every check draws its inputs from generators seeded with the grading seed, and has the
kernel's generators seeded with it while the student's code runs (the student's own
generator states are put back afterwards). ``NDE_GRADING_SEED`` changes the grading
seed: scripts/flake_check.py uses it to measure how often a correct answer would fail
(it must be never).
"""
from __future__ import annotations

import math
import os

import numpy as np

DEFAULT_GRADING_SEED = 20261126


def grading_seed() -> int:
    return int(os.environ.get("NDE_GRADING_SEED", DEFAULT_GRADING_SEED))


def seed(offset: int = 0) -> int:
    """The seed of one check: the grading seed plus the check's own offset."""
    return grading_seed() + offset


def rng(offset: int = 0) -> np.random.Generator:
    """The check's own generator for its inputs."""
    return np.random.default_rng(seed(offset))


def close(actual, expected, tol: float, what: str) -> None:
    """Assert |actual - expected| <= tol with a message a student can act on."""
    actual, expected = float(actual), float(expected)
    assert abs(actual - expected) <= tol, f"{what}: got {actual:.6g}, expected {expected:.6g} (tolerance {tol:.3g})"


# --- reading the kernel's replies ---------------------------------------------------------
#
# What comes back from the kernel passed through code the student controls. A check reads
# every value it decides on through these, so that a value that is missing, of the wrong
# kind or shape, or (where a finite one is needed) NaN or infinite fails with a reason,
# and a list of results is as long as what was asked, never zipped short.

CHANGED = "the reply from your kernel is incomplete or was changed (leave the grader's functions as they are)"


def _kind(value) -> str:
    shape = getattr(value, "shape", None)
    return f"{type(value).__name__} of shape {tuple(shape)}" if shape is not None else type(value).__name__


def entries(got, n: int, what: str) -> list:
    """``got`` as the list of the ``n`` results asked for."""
    assert isinstance(got, list), f"{what}: the hidden tests asked for {n} results and got a {_kind(got)}: {CHANGED}"
    assert len(got) == n, f"{what}: the hidden tests asked for {n} results and got {len(got)}: {CHANGED}"
    return got


def pairs(asked, got, what: str) -> list[tuple]:
    """(asked, result) for each case asked, from the list of results ``got`` (as long as ``asked``)."""
    asked = list(asked)
    return list(zip(asked, entries(got, len(asked), what), strict=True))


def mapping(reply, what: str) -> dict:
    """A reply that must be a record (a dict) of results."""
    assert isinstance(reply, dict), f"{what}: expected a record of results, got a {_kind(reply)}: {CHANGED}"
    return reply


def field(reply, key: str, what: str):
    """The value ``key`` of a reply (a dict) that must hold it."""
    assert key in mapping(reply, what), f"{what}: the result has no {key!r}: {CHANGED}"
    return reply[key]


def flag(value, what: str) -> bool:
    """A yes or no of a reply (truthiness is not enough: NaN and any string are true)."""
    assert isinstance(value, bool), f"{what}: expected True or False, got a {_kind(value)}: {CHANGED}"
    return value


def text(value, what: str) -> str:
    """A name of a reply (a type's, a tag's)."""
    assert isinstance(value, str), f"{what}: expected a name, got a {_kind(value)}: {CHANGED}"
    return value


def integer(value, what: str) -> int:
    """A count or index of a reply."""
    assert isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)), (
        f"{what}: expected a whole number, got a {_kind(value)}: {CHANGED}"
    )
    return int(value)


def number(value, what: str, finite: bool = True) -> float:
    """A number of a reply; with ``finite``, NaN and infinities fail (the message says which)."""
    assert isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)), (
        f"{what}: expected a number, got a {_kind(value)}: {CHANGED}"
    )
    value = float(value)
    assert not finite or math.isfinite(value), f"{what} is {value}: expected a finite number"
    return value


def array(value, what: str, shape: tuple | None = None, finite: bool = True) -> np.ndarray:
    """A numeric array of a reply, of ``shape`` when given (None entries: any size); with
    ``finite``, NaN and infinities fail."""
    assert isinstance(value, np.ndarray) and value.dtype.kind in "fiu", (
        f"{what}: expected an array of numbers, got a {_kind(value)}"
        + (f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else "") + f": {CHANGED}"
    )
    if shape is not None:
        assert value.ndim == len(shape) and all(s is None or s == t for s, t in zip(shape, value.shape, strict=True)), (
            f"{what}: expected shape {tuple('any' if s is None else s for s in shape)}, got {value.shape}"
        )
    assert not finite or np.isfinite(value).all(), (
        f"{what}: {int(np.sum(~np.isfinite(value)))} of its {value.size} values are NaN or infinite"
    )
    return value


def dims(value, what: str) -> tuple[int, ...]:
    """A shape sent back as a list of whole numbers."""
    assert isinstance(value, list), f"{what}: expected a shape, got a {_kind(value)}: {CHANGED}"
    return tuple(integer(s, what) for s in value)


# --- what a watched call reports (nde_grader.harness.watch) -------------------------------

def returned(reply, where: str) -> dict:
    """The record of a call that must not have raised."""
    reply = mapping(reply, where)
    assert "raised" not in reply, f"{where} raised {reply['raised']}"
    return reply


def of_kind(reply, kinds: dict[str, str], where: str) -> str:
    """The kind of what came back, which must be one of ``kinds`` (kind -> how the text says it,
    e.g. {"ndarray": "a NumPy array"}); the message names what the statement asks for."""
    got = text(field(returned(reply, where), "type", where), f"{where}: the kind of what it returned")
    wanted = " or ".join(kinds.values())
    shown = {"numpy.float64": "a NumPy float64 (np.float64)", "numpy.float32": "a NumPy float32", "Tensor": "a tensor",
             "ndarray": "a NumPy array", "float": "a plain number (float)", "list": "a list", "tuple": "a tuple"}
    assert got in kinds, f"{where} must return {wanted}, got {shown.get(got, 'a ' + got)}"
    return got


def left_alone(reply, where: str) -> None:
    """No argument changed in place (the names of the changed ones come back as ``changed``)."""
    changed = field(mapping(reply, where), "changed", where)
    assert isinstance(changed, list), f"{where}: {CHANGED}"
    changed = [text(name, f"{where}: a changed argument") for name in changed]
    assert not changed, (
        f"{where} changed its argument{'s' if len(changed) > 1 else ''} {', '.join(changed)} in place: the caller's "
        "data must stay as they were (use operations that make new tensors or arrays, not in-place ones such as "
        "+=, [...] = or methods ending in _)"
    )


def reaches_each(reply, names: tuple[str, ...], where: str) -> None:
    """A gradient of the result reaches every input of ``names`` (by autograd, per input)."""
    reply = returned(reply, where)
    assert "grad_error" not in reply, f"{where}: backward through the result failed: {reply['grad_error']}"
    reaches = mapping(field(reply, "reaches", where), f"{where}: the gradients")
    cut = [name for name in names if not flag(field(reaches, name, where), f"{where}: a gradient to {name}")]
    assert not cut, (
        f"{where}: no gradient reaches {' or '.join(cut)}, though the value depends on it: a term was cut from "
        "the graph (.item(), float(), .detach(), NumPy or torch.no_grad()); keep every term a tensor operation"
    )
