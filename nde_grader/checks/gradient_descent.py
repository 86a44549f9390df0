"""Checks of the scalar gradient-descent notebook (02): the loss ``L`` and the loop ``descend``.

``L`` is called with the global ``z`` set by the check, on tensors of several shapes.
``descend`` is called with the global ``L`` replaced by a loss of the check's own,
L(w) = cosh(a (w - b)) (gradient a sinh(a (w - b))), as the exercise asks ("gradient
descent on L"), so that a mistake in ``L`` costs nothing here and a loop that does not
use ``L`` is caught: one step (``descent_step``, which a visible test alone cannot hold
against a shadowed builtin) and several (``descent_iterates``). The expected iterates are
computed here in double precision.
"""
from __future__ import annotations

import math

import numpy as np

from . import array, dims, field, flag, rng, text

# (a, b, z, w0, learning rate, steps): other losses, starts and rates than the notebook's.
CASES = [(1.0, 0.5, -1.0, 0.0, 0.05, 7), (0.7, -1.0, 0.5, -2.0, 0.2, 5), (1.3, 2.0, 2.0, 0.3, 0.01, 12),
         (0.5, 0.0, -0.3, 2.0, 0.5, 9)]

# (a, b, z, w0, learning rate) of the single steps: not the visible test's loss e^(-w), start 0 and rate 0.1.
STEP_CASES = [(1.0, 0.5, -1.0, 0.0, 0.3), (0.7, -1.0, 0.5, -2.0, 0.05), (1.3, 2.0, 2.0, 0.3, 0.2),
              (0.5, 0.0, -0.3, 2.0, 1.0)]


def iterates(a: float, b: float, w0: float, lr: float, steps: int) -> float:
    """w after ``steps`` updates w <- w - lr * a sinh(a (w - b)), in double precision."""
    w = w0
    for _ in range(steps):
        w -= lr * a * math.sinh(a * (w - b))
    return w


def _loss(probe, z, w, grad=False) -> dict:
    got = probe.run("gradient_descent.loss", z=z, w=w, grad=grad)
    kind = text(field(got, "type", "L(w)"), "the type of L(w)")
    assert kind == "Tensor", f"L must return a torch tensor, got {kind}"
    return got


def loss_values(probe) -> None:
    """L(w) equals e^{w z} elementwise and keeps the shape of w, for several z and any shape of w."""
    g = rng(1)
    for z, shape in ((-1.0, (7,)), (0.5, (2, 3)), (2.0, (1,)), (-0.7, (3, 1, 2))):
        w = g.uniform(-2, 2, size=shape)
        got = _loss(probe, z, w)
        got_shape = dims(field(got, "shape", "L(w)"), "the shape of L(w)")
        assert got_shape == shape, f"L(w) must have the shape of w {shape}, got {got_shape}"
        value = array(field(got, "value", "L(w)"), "the values of L(w)", shape, finite=False)
        expected = np.exp(w.astype(np.float32).astype(np.float64) * z)
        assert np.allclose(value, expected, rtol=1e-5), (
            f"with z = {z}: L(w) = {np.round(value, 6).tolist()} but e^(w z) = {np.round(expected, 6).tolist()}"
        )


def loss_gradient(probe) -> None:
    """backward() through L gives dL/dw = z e^{w z}: L is built from torch operations."""
    g = rng(2)
    for z, shape in ((-1.0, (5,)), (1.5, (2, 2))):
        w = g.uniform(-1, 1, size=shape)
        got = _loss(probe, z, w, grad=True)
        assert flag(field(got, "requires_grad", "L(w)"), "requires_grad of L(w)"), (
            "L(w) must stay connected to w (use torch operations, not NumPy or math) so that backward() works"
        )
        expected = z * np.exp(w.astype(np.float32).astype(np.float64) * z)
        grad = field(got, "grad", "the gradient of L")
        assert grad is not None, f"with z = {z}: backward() through L(w) gave w no gradient"
        grad = array(grad, "the gradient of L", shape, finite=False)
        assert np.allclose(grad, expected, rtol=1e-5), (
            f"with z = {z}: the gradient is {np.round(grad, 6).tolist()}, expected z e^(w z) = "
            f"{np.round(expected, 6).tolist()}"
        )


def _descend(probe, a, b, z, w0, lr, steps) -> dict:
    return probe.run("gradient_descent.descend", a=a, b=b, z=z, w0=w0, lr=lr, steps=steps)


def _returned(got: dict) -> float:
    """The one number of the tensor descend returned (NaN when it returned no such tensor)."""
    out = field(got, "out", "descend")
    if text(field(out, "type", "what descend returned"), "the type of what descend returned") != "Tensor":
        return math.nan
    value = array(field(out, "value", "what descend returned"), "what descend returned", finite=False)
    return float(value.reshape(-1)[0]) if value.size == 1 else math.nan


def _update_rule(a, b, z, w0, lr, steps, final: float, expected: float) -> str:
    return (f"with L(w) = cosh({a} (w - {b})), w0 = {w0}, lr = {lr}, steps = {steps}: descend returned w = {final:.6f}, "
            f"the update rule w <- w - lr dL/dw gives {expected:.6f} (the hidden tests put other losses in place of L: "
            "use L and backward()")


def descent_step(probe) -> None:
    """One step of descend moves w by -lr dL/dw, for other losses L, starts and learning rates."""
    for a, b, z, w0, lr in STEP_CASES:
        final, expected = _returned(_descend(probe, a, b, z, w0, lr, 1)), iterates(a, b, w0, lr, 1)
        assert math.isclose(final, expected, rel_tol=1e-4, abs_tol=1e-5), (
            _update_rule(a, b, z, w0, lr, 1, final, expected) + ", and step against the gradient)"
        )


def descent_iterates(probe) -> None:
    """descend(w, lr, steps) reproduces the update rule's iterates for other losses L, starts, rates and steps."""
    for a, b, z, w0, lr, steps in CASES:
        final, expected = _returned(_descend(probe, a, b, z, w0, lr, steps)), iterates(a, b, w0, lr, steps)
        assert math.isclose(final, expected, rel_tol=1e-4, abs_tol=1e-5), (
            _update_rule(a, b, z, w0, lr, steps, final, expected) + ", and reset the gradient before each step)"
        )


def descent_in_place(probe) -> None:
    """descend updates the caller's leaf tensor in place and returns that same tensor."""
    a, b, z, w0, lr, steps = 1.0, 1.0, -1.0, 0.5, 0.1, 4
    got = _descend(probe, a, b, z, w0, lr, steps)
    assert flag(field(got, "same", "descend"), "whether descend returned w"), (
        "descend must update the tensor it was given and return that same tensor"
    )
    is_leaf = flag(field(got, "is_leaf", "descend"), "whether w is a leaf")
    requires_grad = flag(field(got, "requires_grad", "descend"), "whether w requires gradients")
    assert is_leaf and requires_grad, "after descend, w must still be a leaf tensor that requires gradients"
    (w,) = array(field(got, "w", "descend"), "the caller's w after descend", (1,), finite=False)
    assert math.isfinite(w), f"the caller's w is {w} after {steps} steps of descend from {w0}"
    assert not math.isclose(w, w0, rel_tol=1e-9, abs_tol=1e-9), (
        f"the caller's w is still {w0} after {steps} steps: update it in place (w -= ... under torch.no_grad())"
    )
