"""Checks of the opening notebook (01): the samples ``draw_samples`` and the truth ``ground_truth``.

Stochastic checks compare a sample statistic with its expected value in units of the
statistic's standard deviation at the sample size used, and fail beyond ``Z_TOL`` of
them. With about forty such comparisons per grading, a correct answer fails with
probability below 40 * P(|N(0,1)| > 5) ~ 2e-5. ``record``, when set to a list, receives
every (what, z-score) pair: scripts/flake_check.py reads it.
"""
from __future__ import annotations

import math

import numpy as np

from ..reference import ground_truth as _reference_truth
from . import rng, seed

Z_TOL = 5.0
"""How many standard deviations a sample statistic may stray from its expected value."""

N_LARGE = 100_000
"""Sample size of the moment and independence checks: every sd below is ~ 1/316 or smaller."""

record: list | None = None


def _within(value: float, expected: float, sd: float, what: str) -> None:
    z = (float(value) - expected) / sd
    if record is not None:
        record.append((what, z))
    assert abs(z) <= Z_TOL, (
        f"{what}: got {float(value):.4f}, expected {expected:.4f} "
        f"(tolerance {Z_TOL * sd:.4f} = {Z_TOL:g} standard deviations at this sample size)"
    )


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def _draws(probe, calls: list, offset: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(Z, Z_ref) of each call of draw_samples, after checking they are two float arrays."""
    out = []
    for got in probe.run("problem.draw", calls=calls, check_seed=seed(offset)):
        assert got["parts"] is not None and len(got["parts"]) == 2, (
            f"draw_samples must return a tuple (Z, Z_ref), got a {got['type']}"
            + (f" of length {len(got['parts'])}" if got["parts"] is not None else "")
        )
        arrays = []
        for name, part in zip(("Z", "Z_ref"), got["parts"]):
            assert part["type"] == "ndarray", f"{name} must be a NumPy array, got {part['type']}"
            assert "array" in part, f"{name} must hold numbers, got an array of dtype {part['dtype']}"
            arrays.append(part["array"])
        out.append(tuple(arrays))
    return out


# --- draw_samples ---------------------------------------------------------------------


def samples_shapes(probe) -> None:
    """Z has shape (n, 2), Z_ref shape (n_ref, 2), both float64, for several sizes."""
    g = rng(11)
    sizes = ((5, 8), (13, 3), (1, 1), (200, 100))
    calls = [[float(g.uniform(-0.95, 0.95)), n, n_ref, int(g.integers(2**31))] for n, n_ref in sizes]
    for (n, n_ref), (Z, Z_ref) in zip(sizes, _draws(probe, calls, 11)):
        assert Z.shape == (n, 2), f"with n = {n}, Z must have shape ({n}, 2), got {Z.shape}"
        assert Z_ref.shape == (n_ref, 2), f"with n_ref = {n_ref}, Z_ref must have shape ({n_ref}, 2), got {Z_ref.shape}"
        for name, a in (("Z", Z), ("Z_ref", Z_ref)):
            assert a.dtype == np.float64, f"{name} must hold float64 numbers, got {a.dtype}"


def samples_seeded(probe) -> None:
    """The same seed gives the same arrays; another seed gives other arrays (Z and Z_ref)."""
    g = rng(12)
    for _ in range(3):
        rho, s = float(g.uniform(-0.95, 0.95)), int(g.integers(2**31))
        (Z1, R1), (Z2, R2), (Z3, R3) = _draws(
            probe, [[rho, 40, 30, s], "move", [rho, 40, 30, s], [rho, 40, 30, s + 1]], 12)
        assert np.array_equal(Z1, Z2) and np.array_equal(R1, R2), (
            f"two calls with seed = {s} gave different samples: draw only from generators made from `seed`"
        )
        assert not np.array_equal(Z1, Z3), f"seeds {s} and {s + 1} gave the same Z: use the seed argument"
        assert not np.array_equal(R1, R3), f"seeds {s} and {s + 1} gave the same Z_ref: use the seed argument"


def samples_moments(probe) -> None:
    """At a large n, Z has zero means, unit variances and correlation rho; Z_ref is standard."""
    n, n_ref = N_LARGE, 80_000
    g = rng(13)
    rhos = (float(g.uniform(0.5, 0.95)), float(g.uniform(-0.95, -0.5)))
    calls = [[rho, n, n_ref, int(g.integers(2**31))] for rho in rhos]
    for rho, (Z, Z_ref) in zip(rhos, _draws(probe, calls, 13)):
        for name, a, m, r in (("Z", Z, n, rho), ("Z_ref", Z_ref, n_ref, 0.0)):
            for i, coord in enumerate("XY" if name == "Z" else ("X'", "Y'")):
                # sd of a sample mean of N(0, 1): 1/sqrt(m)
                _within(a[:, i].mean(), 0.0, 1 / math.sqrt(m), f"rho = {rho:.3f}: mean of {coord} in {name}")
                # sd of a sample variance of N(0, 1): sqrt(2/(m-1)) (Var s^2 = 2 sigma^4/(m-1))
                _within(a[:, i].var(ddof=1), 1.0, math.sqrt(2 / (m - 1)), f"rho = {rho:.3f}: variance of {coord} in {name}")
            # sd of the sample correlation of a bivariate normal: (1 - r^2)/sqrt(m)
            # (delta method), never below 1/m so that a bound is left as r^2 -> 1
            sd = max((1 - r**2) / math.sqrt(m), 1 / m)
            _within(_corr(a[:, 0], a[:, 1]), r, sd, f"rho = {rho:.3f}: correlation of the two coordinates of {name}")


# Sharing random numbers between Z and Z_ref can hide from same-row correlations: the rows
# of Z_ref may be those of Z's underlying normals in another order, or the stream shifted
# by a few numbers. Two more views catch that:
#
# - lagged correlations: Z and Z_ref read as one sequence of numbers each (row after row),
#   Z_ref shifted by k = 1..LAGS against Z, both ways. Independent samples give correlations
#   of sd 1/sqrt(m - 1) for m overlapping numbers (t-distributed, as same-row ones).
# - shared vectors: for Z = A W with A A^T = Sigma (any square root: Cholesky, the SVD of
#   multivariate_normal, ...), the Mahalanobis norm z^T Sigma^-1 z of a row equals |w|^2 of
#   the normal vector it came from. If Z_ref's rows are (some of) those vectors, their
#   squared norms |z'|^2 reappear among Z's Mahalanobis norms, to rounding (1e-12 relative).
#   For independent samples of SHARED_N rows each, the expected number of such coincidences
#   is about SHARED_N^2 * 2e-12 * (density of norms ~ 0.5) = 4e-6; the check fails only
#   when at least SHARED_FRACTION of the rows coincide.
LAGS = 4
SHARED_N = 2_000
SHARED_RTOL = 1e-12
SHARED_FRACTION = 0.05


def _shared_fraction(Z: np.ndarray, Z_ref: np.ndarray, rho: float) -> float:
    """The fraction of Z_ref's rows whose squared norm equals a Mahalanobis norm of a row of Z."""
    inv = np.linalg.inv(np.array([[1.0, rho], [rho, 1.0]]))
    maha = np.sort(np.einsum("ij,jk,ik->i", Z, inv, Z))
    norms = np.einsum("ij,ij->i", Z_ref, Z_ref)
    pos = np.clip(np.searchsorted(maha, norms), 1, len(maha) - 1)
    nearest = np.minimum(np.abs(maha[pos] - norms), np.abs(maha[pos - 1] - norms))
    return float(np.mean(nearest <= SHARED_RTOL * np.maximum(norms, 1e-300)))


def samples_independent(probe) -> None:
    """Z and Z_ref are independent: no cross-correlation, at the same row or shifted, and no shared random vectors."""
    n = N_LARGE
    g = rng(14)
    rhos = (float(1 - 0.19 * g.random()), float(g.uniform(-0.6, 0.6)))
    calls = [[rho, n, n, int(g.integers(2**31))] for rho in rhos]
    calls += [[rho, SHARED_N, SHARED_N, int(g.integers(2**31))] for rho in rhos]
    draws = _draws(probe, calls, 14)
    hint = "did both come from one random stream?"
    for rho, (Z, Z_ref) in zip(rhos, draws[:2]):
        for i, a in enumerate("XY"):
            for j, b in enumerate(("X'", "Y'")):
                # the sample correlation of two independent normal samples of size n
                # has mean 0 and sd 1/sqrt(n - 1) (it is exactly t-distributed)
                _within(_corr(Z[:, i], Z_ref[:, j]), 0.0, 1 / math.sqrt(n - 1),
                        f"rho = {rho:.3f}: corr({a}, {b}) between Z and Z_ref ({hint})")
        flat, flat_ref = Z.reshape(-1), Z_ref.reshape(-1)
        for k in range(1, LAGS + 1):
            for name, a, b in (("Z_ref", flat[:-k], flat_ref[k:]), ("Z", flat[k:], flat_ref[:-k])):
                m = len(a)
                _within(_corr(a, b), 0.0, 1 / math.sqrt(m - 1),
                        f"rho = {rho:.3f}: correlation of Z with Z_ref when {name} is shifted by {k} numbers ({hint})")
    for rho, (Z, Z_ref) in zip(rhos, draws[2:]):
        shared = _shared_fraction(Z, Z_ref, rho)
        assert shared < SHARED_FRACTION, (
            f"rho = {rho:.3f}: {shared:.0%} of the rows of Z_ref are random vectors that Z was made from "
            f"(their lengths match exactly): Z and Z_ref must come from independent streams ({hint})"
        )


# --- ground_truth ---------------------------------------------------------------------


def _truth(rho):
    return _reference_truth(np.asarray(rho, dtype=np.float64))


def _values(probe, calls):
    return probe.run("problem.truth", calls=calls)


def ground_truth_values(probe) -> None:
    """ground_truth(rho) = -1/2 log(1 - rho^2) for unseen rho, negative ones too, and elementwise on arrays."""
    g = rng(21)
    rhos = [*g.uniform(-0.99, -0.05, 3), *g.uniform(0.05, 0.99, 3)]
    grid = g.uniform(-0.99, 0.99, size=(3, 4))
    got = _values(probe, [["float", float(r)] for r in rhos] + [["array", grid]])
    for rho, result in zip(rhos, got):
        assert "raised" not in result, f"ground_truth({rho:.4f}) raised {result['raised']}"
        assert "value" in result and np.ndim(result["value"]) == 0, (
            f"ground_truth({rho:.4f}) must return a number, got a {result.get('type', 'array')}"
        )
        value = float(result["value"])
        assert math.isclose(value, _truth(rho), rel_tol=1e-9, abs_tol=1e-12), (
            f"ground_truth({rho:.4f}) = {value:.6g}, expected -1/2 log(1 - rho^2) = {_truth(rho):.6g}"
        )
    result = got[-1]
    assert "raised" not in result, (
        f"ground_truth must work on NumPy arrays (use np.log, not math.log): it raised {result['raised']}"
    )
    value = np.asarray(result.get("value"))
    assert value.shape == grid.shape, f"ground_truth of an array of shape {grid.shape} must have that shape, got {value.shape}"
    assert np.allclose(value, _truth(grid), rtol=1e-9, atol=1e-12), "ground_truth is wrong for some entries of an array"


def ground_truth_zero(probe) -> None:
    """Uncorrelated samples: ground_truth(0) is 0 (P_Z = P_Z' then)."""
    calls = [["int", 0], ["float", 0.0], ["float64", 0.0]]
    for (kind, _), result in zip(calls, _values(probe, calls)):
        assert "raised" not in result, f"ground_truth(0) ({kind}) raised {result['raised']}"
        value = float(np.asarray(result.get("value", np.nan)).reshape(-1)[0]) if "value" in result else math.nan
        assert value == 0 or abs(value) < 1e-12, (
            f"ground_truth(0) ({kind}) = {value}: for rho = 0 the two distributions are equal, D = 0"
        )


def ground_truth_positive(probe) -> None:
    """ground_truth(rho) > 0 for every rho != 0 in (-1, 1): a divergence is never negative."""
    rhos = [*np.linspace(-0.999, -0.01, 12), *np.linspace(0.01, 0.999, 12)]
    for rho, result in zip(rhos, _values(probe, [["float", float(r)] for r in rhos])):
        assert "raised" not in result, f"ground_truth({rho:.3f}) raised {result['raised']}"
        value = float(np.asarray(result.get("value", np.nan)).reshape(-1)[0]) if "value" in result else math.nan
        assert value > 0 and math.isfinite(value), (
            f"ground_truth({rho:.3f}) = {value:.4g}: a KL divergence is >= 0, and > 0 when the distributions differ"
        )
