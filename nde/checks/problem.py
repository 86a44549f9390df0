"""Checks of the opening notebook (01): the samples ``draw_samples`` and the truth ``ground_truth``.

Stochastic checks compare a sample statistic with its expected value in units of the
statistic's standard deviation at the sample size used, and fail beyond ``Z_TOL`` of
them.  With about thirty such comparisons per grading, a correct answer fails with
probability below 30 * P(|N(0,1)| > 5) ~ 2e-5.  ``record``, when set to a list, receives
every (what, z-score) pair: the flake measurement of the catalog reads it.
"""
from __future__ import annotations

import math

import numpy as np

from . import seeded

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


def _draw(draw_samples, rho, n, n_ref, seed):
    out = draw_samples(rho, n, n_ref, seed)
    assert isinstance(out, tuple) and len(out) == 2, "draw_samples must return a tuple (Z, Z_ref)"
    Z, Z_ref = out
    for name, a in (("Z", Z), ("Z_ref", Z_ref)):
        assert isinstance(a, np.ndarray), f"{name} must be a NumPy array, got {type(a).__name__}"
    return Z, Z_ref


# --- draw_samples ---------------------------------------------------------------------


def samples_shapes(draw_samples) -> None:
    """Z has shape (n, 2), Z_ref shape (n_ref, 2), both float64, for several sizes."""
    with seeded(11) as rng:
        for n, n_ref in ((5, 8), (13, 3), (1, 1), (200, 100)):
            rho = float(rng.uniform(-0.95, 0.95))
            Z, Z_ref = _draw(draw_samples, rho, n, n_ref, int(rng.integers(2**31)))
            assert Z.shape == (n, 2), f"with n = {n}, Z must have shape ({n}, 2), got {Z.shape}"
            assert Z_ref.shape == (n_ref, 2), f"with n_ref = {n_ref}, Z_ref must have shape ({n_ref}, 2), got {Z_ref.shape}"
            for name, a in (("Z", Z), ("Z_ref", Z_ref)):
                assert a.dtype == np.float64, f"{name} must hold float64 numbers, got {a.dtype}"


def samples_seeded(draw_samples) -> None:
    """The same seed gives the same arrays; another seed gives other arrays (Z and Z_ref)."""
    with seeded(12) as rng:
        for _ in range(3):
            rho, seed = float(rng.uniform(-0.95, 0.95)), int(rng.integers(2**31))
            Z1, R1 = _draw(draw_samples, rho, 40, 30, seed)
            np.random.random(5)  # move NumPy's global stream: a seeded answer must not care
            Z2, R2 = _draw(draw_samples, rho, 40, 30, seed)
            assert np.array_equal(Z1, Z2) and np.array_equal(R1, R2), (
                f"two calls with seed = {seed} gave different samples: draw only from generators made from `seed`"
            )
            Z3, R3 = _draw(draw_samples, rho, 40, 30, seed + 1)
            assert not np.array_equal(Z1, Z3), f"seeds {seed} and {seed + 1} gave the same Z: use the seed argument"
            assert not np.array_equal(R1, R3), f"seeds {seed} and {seed + 1} gave the same Z_ref: use the seed argument"


def samples_moments(draw_samples) -> None:
    """At a large n, Z has zero means, unit variances and correlation rho; Z_ref is standard."""
    n, n_ref = N_LARGE, 80_000
    with seeded(13) as rng:
        for rho in (float(rng.uniform(0.5, 0.95)), float(rng.uniform(-0.95, -0.5))):
            Z, Z_ref = _draw(draw_samples, rho, n, n_ref, int(rng.integers(2**31)))
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


def samples_independent(draw_samples) -> None:
    """Z and Z_ref are independent: every cross-correlation corr(Z[:, i], Z_ref[:, j]) is near 0."""
    n = N_LARGE
    with seeded(14) as rng:
        for rho in (float(1 - 0.19 * rng.random()), float(rng.uniform(-0.6, 0.6))):
            Z, Z_ref = _draw(draw_samples, rho, n, n, int(rng.integers(2**31)))
            for i, a in enumerate("XY"):
                for j, b in enumerate(("X'", "Y'")):
                    # the sample correlation of two independent normal samples of size n
                    # has mean 0 and sd 1/sqrt(n - 1) (it is exactly t-distributed)
                    _within(_corr(Z[:, i], Z_ref[:, j]), 0.0, 1 / math.sqrt(n - 1),
                            f"rho = {rho:.3f}: corr({a}, {b}) between Z and Z_ref (did both come from one random stream?)")


# --- ground_truth ---------------------------------------------------------------------


def _truth(rho):
    return -0.5 * np.log1p(-np.square(rho, dtype=np.float64))


def ground_truth_values(ground_truth) -> None:
    """ground_truth(rho) = -1/2 log(1 - rho^2) for unseen rho, negative ones too, and elementwise on arrays."""
    with seeded(21) as rng:
        for rho in [*rng.uniform(-0.99, -0.05, 3), *rng.uniform(0.05, 0.99, 3)]:
            got = float(ground_truth(float(rho)))
            assert math.isclose(got, _truth(rho), rel_tol=1e-9, abs_tol=1e-12), (
                f"ground_truth({rho:.4f}) = {got:.6g}, expected -1/2 log(1 - rho^2) = {_truth(rho):.6g}"
            )
        rho = rng.uniform(-0.99, 0.99, size=(3, 4))
        try:
            got = ground_truth(rho)
        except TypeError as exc:
            raise AssertionError(f"ground_truth must work on NumPy arrays (use np.log, not math.log): {exc}") from None
        got = np.asarray(got)
        assert got.shape == rho.shape, f"ground_truth of an array of shape {rho.shape} must have that shape, got {got.shape}"
        assert np.allclose(got, _truth(rho), rtol=1e-9, atol=1e-12), "ground_truth is wrong for some entries of an array"


def ground_truth_zero(ground_truth) -> None:
    """Uncorrelated samples: ground_truth(0) is 0 (P_Z = P_Z' then)."""
    for rho in (0, 0.0, np.float64(0.0)):
        with np.errstate(all="ignore"):
            got = float(ground_truth(rho))
        assert got == 0 or abs(got) < 1e-12, f"ground_truth({rho!r}) = {got}: for rho = 0 the two distributions are equal, D = 0"


def ground_truth_positive(ground_truth) -> None:
    """ground_truth(rho) > 0 for every rho != 0 in (-1, 1): a divergence is never negative."""
    for rho in (*np.linspace(-0.999, -0.01, 12), *np.linspace(0.01, 0.999, 12)):
        got = float(ground_truth(float(rho)))
        assert got > 0 and math.isfinite(got), (
            f"ground_truth({rho:.3f}) = {got:.4g}: a KL divergence is >= 0, and > 0 when the distributions differ"
        )
