"""Checks of the DV-bound notebook (04): the sample Donsker-Varadhan bound ``DV(Z, Z_ref, net)``.

Every check calls the student's ``DV`` in the kernel with samples and a critic of its
own (``harness/dv.py``): a lookup table that returns, at each sample, a value the check
chose. So the check knows exactly what DV must return,

    DV = mean_i t(Z_i) - log( (1/n') sum_j e^{t(Z'_j)} ),

and its gradient with respect to each value, d/dt(Z_i) = 1/n and
d/dt(Z'_j) = -e^{t(Z'_j)} / sum_k e^{t(Z'_k)}, computed here in double precision. The
comparisons allow only float32 rounding: no statistics are involved, so no correct
answer can fail by chance. One check, one property:

- ``dv_value``:     the value, for the optimal critic t* and for other critics, n != n';
- ``dv_stability``: shifting the critic by +-1000 changes nothing, and nothing overflows;
- ``dv_constant``:  a constant critic gives 0 when n != n';
- ``dv_gradient``:  the value is a one-element tensor whose gradient is the formula's,
                    for both terms.

The problem is the course's: P = N(0, [[1, rho], [rho, 1]]) against Q = N(0, I), whose
log density ratio is, in closed form (notebook 01),

    t*(x, y) = -1/2 log(1 - rho^2) + rho (2 x y - rho (x^2 + y^2)) / (2 (1 - rho^2)).
"""
from __future__ import annotations

import math

import numpy as np

from ..reference import t_star
from . import rng

def gaussian(g: np.random.Generator, rho: float, n: int) -> np.ndarray:
    """n samples of N(0, [[1, rho], [rho, 1]]), rounded to float32 (what the kernel holds)."""
    w = g.standard_normal((n, 2))
    w[:, 1] = rho * w[:, 0] + math.sqrt(1 - rho**2) * w[:, 1]
    return w.astype(np.float32)


def expected_dv(t_Z: np.ndarray, t_ref: np.ndarray) -> float:
    """The sample DV bound of critic values, in double precision."""
    t_Z, t_ref = np.asarray(t_Z, np.float64), np.asarray(t_ref, np.float64)
    top = t_ref.max()
    return float(t_Z.mean() - (top + math.log(np.exp(t_ref - top).sum()) - math.log(len(t_ref))))


def expected_gradient(t_Z: np.ndarray, t_ref: np.ndarray) -> np.ndarray:
    """d DV / d t at each sample: 1/n for Z, minus the softmax of t over Z'."""
    t_ref = np.asarray(t_ref, np.float64)
    weights = np.exp(t_ref - t_ref.max())
    return np.concatenate([np.full(len(t_Z), 1 / len(t_Z)), -weights / weights.sum()])


def _case(Z, Z_ref, t_Z, t_ref, backward=False) -> dict:
    as32 = lambda a: np.asarray(a, np.float32)  # noqa: E731 (the critic holds float32 values)
    return {"Z": as32(Z), "Z_ref": as32(Z_ref), "t_Z": as32(t_Z), "t_ref": as32(t_ref), "backward": backward}


def _value(info: dict, what: str) -> float:
    """The number DV returned, or an assertion a student can act on."""
    if info["type"] == "Tensor":
        assert info["numel"] == 1, f"{what}: DV must return one number, got a tensor of shape {tuple(info['shape'])}"
    else:
        assert "value" in info, f"{what}: DV must return a tensor with one number, got {info['type']}"
    return info["value"]


# Float32 rounding: sums of a few thousand values of size ~10 and a logsumexp carry
# relative errors ~1e-6; 1e-4 absolute plus 1e-5 relative leaves a margin of 10-100.
ATOL, RTOL = 1e-4, 1e-5


def dv_value(probe) -> None:
    """DV equals mean t(Z) - log mean e^t(Z') for the optimal critic and for other critics, n != n'."""
    g = rng(41)
    cases, labels = [], []
    for rho, n, n_ref in ((0.5, 3000, 2000), (-0.35, 1000, 4000), (0.9, 2500, 500)):
        Z, Z_ref = gaussian(g, rho, n), gaussian(g, 0.0, n_ref)
        cases.append(_case(Z, Z_ref, t_star(Z.astype(np.float64), rho), t_star(Z_ref.astype(np.float64), rho)))
        labels.append(f"the optimal critic for rho = {rho}, n = {n}, n' = {n_ref}")
    Z, Z_ref = gaussian(g, 0.3, 500), gaussian(g, 0.0, 700)
    cases.append(_case(Z, Z_ref, g.normal(0, 2, 500), g.normal(0.5, 1.5, 700)))
    labels.append("a critic with random values, n = 500, n' = 700")
    for case, label, info in zip(cases, labels, probe.run("dv.evaluate", cases=cases)):
        value = _value(info, label)
        want = expected_dv(case["t_Z"], case["t_ref"])
        assert math.isfinite(value) and math.isclose(value, want, rel_tol=RTOL, abs_tol=ATOL), (
            f"with {label}: DV is {value:.6f}, but mean t(Z) - log mean e^t(Z') is {want:.6f}. Check the sign, the "
            f"log of the MEAN of e^t over Z' (not the mean of t), and that you subtract log n' = log {len(case['t_ref'])}, "
            "the size of Z_ref"
        )


def dv_stability(probe) -> None:
    """A critic shifted by +-1000 gives the same value, finite, in float32 (DV is shift-invariant)."""
    g = rng(42)
    rho = 0.6
    Z, Z_ref = gaussian(g, rho, 2000), gaussian(g, 0.0, 1000)
    t_Z, t_ref = t_star(Z.astype(np.float64), rho), t_star(Z_ref.astype(np.float64), rho)
    shifts = (0.0, 1000.0, -1000.0)
    got = probe.run("dv.evaluate", cases=[_case(Z, Z_ref, t_Z + s, t_ref + s) for s in shifts])
    base = _value(got[0], "the critic t*")
    assert math.isfinite(base), f"DV is {base} for a critic with values of order 1"
    for shift, info in zip(shifts[1:], got[1:]):
        value = _value(info, f"the critic t* {shift:+.0f}")
        assert math.isfinite(value), (
            f"DV is {value} for the critic t(z) {shift:+.0f}: e^t over- or underflows in float32 (e^88.7 is "
            "already too large). Use logsumexp, which subtracts the largest value before exponentiating."
        )
        # float32 resolves numbers near 1000 to 6e-5; 1e-2 leaves a wide margin.
        assert abs(value - base) <= 1e-2, (
            f"DV is {base:.5f} for t and {value:.5f} for t {shift:+.0f}, but adding a constant to t cancels "
            "in DV: mean t(Z) and log mean e^t(Z') both move by that constant"
        )


def dv_constant(probe) -> None:
    """A constant critic gives DV = 0 (up to float error) when n != n'."""
    g = rng(43)
    params = ((2.5, 300, 700), (-3.0, 1000, 10), (0.0, 64, 4096))
    cases = [_case(gaussian(g, 0.7, n), gaussian(g, 0.0, n_ref), np.full(n, c), np.full(n_ref, c))
             for c, n, n_ref in params]
    for (c, n, n_ref), info in zip(params, probe.run("dv.evaluate", cases=cases)):
        value = _value(info, f"t(z) = {c}")
        assert math.isfinite(value) and abs(value) <= 1e-4, (
            f"with the constant critic t(z) = {c}, n = {n} and n' = {n_ref}, DV should be "
            f"{c} - log(n' e^{c} / n') = 0, got {value:.6g}: is log n' subtracted, with n' = len(Z_ref)?"
        )


def dv_gradient(probe) -> None:
    """DV returns a one-element tensor whose gradient is that of the formula, through both of its terms."""
    g = rng(44)
    n, n_ref = 300, 200
    Z, Z_ref = gaussian(g, 0.8, n), gaussian(g, 0.0, n_ref)
    t_Z, t_ref = g.normal(0.5, 1.0, n), g.normal(-0.5, 1.5, n_ref)
    case = _case(Z, Z_ref, t_Z, t_ref, backward=True)
    (info,) = probe.run("dv.evaluate", cases=[case])
    assert info["type"] == "Tensor", (
        f"DV returned a {info['type']}: return the tensor itself (not .item() or float), so that "
        "backward() can compute the gradient"
    )
    assert info["numel"] == 1, f"DV must return one number, got a tensor of shape {tuple(info['shape'])}"
    assert info["requires_grad"], (
        "the value of DV is cut off from the network's parameters (.detach(), torch.no_grad() or NumPy): "
        "keep every step a torch operation on net's output"
    )
    grad = info.get("grad")
    assert grad is not None, "backward() did not reach the critic's parameters"
    want = expected_gradient(case["t_Z"], case["t_ref"])
    got_Z, got_ref = np.asarray(grad[:n]), np.asarray(grad[n:])
    assert np.allclose(got_Z, want[:n], rtol=1e-3, atol=1e-6), (
        f"the gradient of DV with respect to t(Z_i) should be 1/n = {1 / n:.5f} for every sample of Z, got values "
        f"from {got_Z.min():.5f} to {got_Z.max():.5f}: the first term is the mean of t over Z"
    )
    if np.allclose(got_ref, 0, atol=1e-9):
        raise AssertionError(
            "the term log mean e^t(Z') carries no gradient (was it computed with .detach(), .item(), NumPy or under "
            "torch.no_grad()?): the network learns from both terms"
        )
    assert np.allclose(got_ref, want[n:], rtol=1e-3, atol=1e-6), (
        "the gradient of DV with respect to t(Z'_j) should be -e^t(Z'_j) / sum_k e^t(Z'_k): the second term's "
        "gradient is wrong (is it the log of the MEAN of e^t over Z_ref?)"
    )
