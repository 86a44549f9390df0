"""Checks of the scalar gradient-descent notebook (02): the loss ``L`` and the loop ``descend``.

``L`` is called with the global ``z`` set by the check, on tensors of several shapes.
``descend`` is called with the global ``L`` replaced by a loss of the check's own,
L(w) = cosh(a (w - b)) (gradient a sinh(a (w - b))), as the exercise asks ("gradient
descent on L"), so that a mistake in ``L`` costs nothing here and a loop that does not
use ``L`` is caught. The expected iterates are computed here in double precision.
"""
from __future__ import annotations

import math

import numpy as np

from . import rng

# (a, b, z, w0, learning rate, steps): other losses, starts and rates than the notebook's.
CASES = [(1.0, 0.5, -1.0, 0.0, 0.05, 7), (0.7, -1.0, 0.5, -2.0, 0.2, 5), (1.3, 2.0, 2.0, 0.3, 0.01, 12),
         (0.5, 0.0, -0.3, 2.0, 0.5, 9)]


def iterates(a: float, b: float, w0: float, lr: float, steps: int) -> float:
    """w after ``steps`` updates w <- w - lr * a sinh(a (w - b)), in double precision."""
    w = w0
    for _ in range(steps):
        w -= lr * a * math.sinh(a * (w - b))
    return w


def _loss(probe, z, w, grad=False) -> dict:
    got = probe.run("descent.loss", z=z, w=w, grad=grad)
    assert got["type"] == "Tensor", f"L must return a torch tensor, got {got['type']}"
    return got


def loss_values(probe) -> None:
    """L(w) equals e^{w z} elementwise and keeps the shape of w, for several z and any shape of w."""
    g = rng(1)
    for z, shape in ((-1.0, (7,)), (0.5, (2, 3)), (2.0, (1,)), (-0.7, (3, 1, 2))):
        w = g.uniform(-2, 2, size=shape)
        got = _loss(probe, z, w)
        assert tuple(got["shape"]) == shape, f"L(w) must have the shape of w {shape}, got {tuple(got['shape'])}"
        expected = np.exp(w.astype(np.float32).astype(np.float64) * z)
        assert np.allclose(got["value"], expected, rtol=1e-5), (
            f"with z = {z}: L(w) = {np.round(got['value'], 6).tolist()} but e^(w z) = {np.round(expected, 6).tolist()}"
        )


def loss_gradient(probe) -> None:
    """backward() through L gives dL/dw = z e^{w z}: L is built from torch operations."""
    g = rng(2)
    for z, shape in ((-1.0, (5,)), (1.5, (2, 2))):
        w = g.uniform(-1, 1, size=shape)
        got = _loss(probe, z, w, grad=True)
        assert got["requires_grad"], (
            "L(w) must stay connected to w (use torch operations, not NumPy or math) so that backward() works"
        )
        expected = z * np.exp(w.astype(np.float32).astype(np.float64) * z)
        assert got.get("grad") is not None and np.allclose(got["grad"], expected, rtol=1e-5), (
            f"with z = {z}: the gradient is {got.get('grad')}, expected z e^(w z) = {np.round(expected, 6).tolist()}"
        )


def _descend(probe, a, b, z, w0, lr, steps) -> dict:
    return probe.run("descent.descend", a=a, b=b, z=z, w0=w0, lr=lr, steps=steps)


def descent_iterates(probe) -> None:
    """descend(w, lr, steps) reproduces the update rule's iterates for other losses L, starts, rates and steps."""
    for a, b, z, w0, lr, steps in CASES:
        got = _descend(probe, a, b, z, w0, lr, steps)
        value = got["out"].get("value")
        final = float(np.asarray(value).reshape(-1)[0]) if value is not None and np.size(value) == 1 else math.nan
        expected = iterates(a, b, w0, lr, steps)
        assert math.isclose(final, expected, rel_tol=1e-4, abs_tol=1e-5), (
            f"with L(w) = cosh({a} (w - {b})), w0 = {w0}, lr = {lr}, steps = {steps}: descend returned w = {final:.6f}, "
            f"the update rule w <- w - lr dL/dw gives {expected:.6f} (the hidden tests put other losses in place of L: "
            "use L and backward(), and reset the gradient before each step)"
        )


def descent_in_place(probe) -> None:
    """descend updates the caller's leaf tensor in place and returns that same tensor."""
    a, b, z, w0, lr, steps = 1.0, 1.0, -1.0, 0.5, 0.1, 4
    got = _descend(probe, a, b, z, w0, lr, steps)
    assert got["same"], "descend must update the tensor it was given and return that same tensor"
    assert got["is_leaf"] and got["requires_grad"], "after descend, w must still be a leaf tensor that requires gradients"
    assert not math.isclose(float(got["w"][0]), w0, rel_tol=1e-9, abs_tol=1e-9), (
        f"the caller's w is still {w0} after {steps} steps: update it in place (w -= ... under torch.no_grad())"
    )
