"""Checks of the scalar gradient-descent notebook (02): the loss ``L`` and the loop ``descend``.

``L`` reads the notebook's global ``z``, so the checks take the notebook's namespace
(``globals()``), set ``z`` (and, for ``descend``, an exact ``L``) for the duration of a
check, and put the student's values back.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import torch

from . import seeded

# (z, w0, learning rate, steps): cases other than the notebook's own.
CASES = [(-1.0, 0.0, 0.05, 7), (0.5, -1.0, 0.2, 5), (2.0, 0.3, 0.01, 12), (-0.3, 2.0, 0.5, 9)]


@contextmanager
def _bound(namespace: dict, **names):
    """Temporarily bind names in the notebook's namespace."""
    missing = object()
    old = {k: namespace.get(k, missing) for k in names}
    namespace.update(names)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is missing:
                namespace.pop(k, None)
            else:
                namespace[k] = v


def _exact_loss(namespace):
    return lambda w: torch.exp(w * namespace["z"])


def iterates(z: float, w0: float, lr: float, steps: int) -> float:
    """w after ``steps`` updates w <- w - lr * z * exp(w z), in double precision."""
    w = w0
    for _ in range(steps):
        w -= lr * z * math.exp(w * z)
    return w


def loss_values(L, namespace: dict) -> None:
    """L(w) equals e^{w z} elementwise, keeps the shape of w, for several z."""
    with seeded(1) as rng:
        for z in (-1.0, 0.5, 2.0):
            w = torch.tensor(rng.uniform(-2, 2, size=7), dtype=torch.float32)
            with _bound(namespace, z=torch.tensor([z])):
                got = L(w)
            assert isinstance(got, torch.Tensor), f"L must return a torch tensor, got {type(got).__name__}"
            assert got.shape == w.shape, f"L(w) must have the shape of w {tuple(w.shape)}, got {tuple(got.shape)}"
            expected = torch.exp(w.double() * z)
            assert torch.allclose(got.detach().double(), expected, rtol=1e-5), (
                f"with z = {z}: L(w) = {got.tolist()} but e^(w z) = {expected.tolist()}"
            )


def loss_gradient(L, namespace: dict) -> None:
    """backward() through L gives dL/dw = z e^{w z}: L is built from torch operations."""
    with seeded(2) as rng:
        for z in (-1.0, 1.5):
            w = torch.tensor(rng.uniform(-1, 1, size=5), dtype=torch.float32, requires_grad=True)
            with _bound(namespace, z=torch.tensor([z])):
                out = L(w)
            assert isinstance(out, torch.Tensor) and out.requires_grad, (
                "L(w) must stay connected to w (use torch operations, not NumPy or math) so that backward() works"
            )
            out.sum().backward()
            expected = z * torch.exp(w.detach().double() * z)
            assert torch.allclose(w.grad.double(), expected, rtol=1e-5), (
                f"with z = {z}: the gradient is {w.grad.tolist()}, expected z e^(w z) = {expected.tolist()}"
            )


def descent_iterates(descend, namespace: dict) -> None:
    """descend(w, lr, steps) reproduces the update rule's iterates for other z, w0, lr, steps."""
    for z, w0, lr, steps in CASES:
        with _bound(namespace, z=torch.tensor([z])):
            with _bound(namespace, L=_exact_loss(namespace)):
                w = torch.tensor([w0], requires_grad=True)
                out = descend(w, lr=lr, steps=steps)
        expected = iterates(z, w0, lr, steps)
        got = float(out.detach()) if isinstance(out, torch.Tensor) else float("nan")
        assert math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5), (
            f"z={z}, w0={w0}, lr={lr}, steps={steps}: w ended at {got:.6f}, the update rule gives {expected:.6f}"
        )


def descent_in_place(descend, namespace: dict) -> None:
    """descend updates the caller's leaf tensor in place, returns it, and resets the gradient each step."""
    z, w0, lr, steps = -1.0, 0.5, 0.1, 4
    with _bound(namespace, z=torch.tensor([z])):
        with _bound(namespace, L=_exact_loss(namespace)):
            w = torch.tensor([w0], requires_grad=True)
            out = descend(w, lr=lr, steps=steps)
    assert out is w, "descend must update the tensor it was given and return that same tensor"
    assert w.is_leaf and w.requires_grad, "after descend, w must still be a leaf tensor that requires gradients"
    expected_w = iterates(z, w0, lr, steps)
    assert math.isclose(float(w.detach()), expected_w, rel_tol=1e-4), (
        f"the caller's w is {float(w.detach()):.6f}, expected {expected_w:.6f}: was it updated in place?"
    )
    last = iterates(z, w0, lr, steps - 1)
    expected_grad = z * math.exp(last * z)
    assert w.grad is not None and math.isclose(float(w.grad), expected_grad, rel_tol=1e-4), (
        f"w.grad is {None if w.grad is None else round(float(w.grad), 6)}: it should hold only the last step's "
        f"gradient {expected_grad:.6g}; reset it before each backward()"
    )
