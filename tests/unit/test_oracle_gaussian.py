"""nde_grader/oracle.py: the Gaussian problem on the instructor's side, against routes of its own."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nde_grader import oracle


@pytest.mark.parametrize("rho", [0.0, 0.5, -0.9, 0.99])
def test_mi_is_the_mean_of_t_star_under_p(rho):
    """KL(P || Q) = E_P[log p/q]: the Monte Carlo mean of t* over draws of P (sd of t* under P
    is |rho| exactly, so 6 sd of the mean of 200,000 is 6 |rho| / 447)."""
    Z = oracle.pairs(np.random.default_rng(1), rho, 200_000, dtype=np.float64)
    mean = oracle.t_star(Z, rho).mean()
    assert abs(mean - oracle.mi(rho)) <= 6 * abs(rho) / math.sqrt(len(Z)) + 1e-12
    assert oracle.mi(rho) == pytest.approx(-0.5 * math.log1p(-rho * rho), rel=1e-12, abs=1e-15)


def test_pairs_have_the_asked_correlation_unit_variances_and_dtype():
    Z = oracle.pairs(np.random.default_rng(2), 0.8, 100_000)
    assert Z.dtype == np.float32 and Z.shape == (100_000, 2)
    assert np.corrcoef(Z.T)[0, 1] == pytest.approx(0.8, abs=6 * (1 - 0.8**2) / math.sqrt(len(Z)))
    assert Z.std(axis=0) == pytest.approx([1, 1], abs=6 * math.sqrt(0.5 / len(Z)))
    again = oracle.pairs(np.random.default_rng(2), 0.8, 100_000)
    np.testing.assert_array_equal(Z, again)


def test_t_star_is_the_log_ratio_of_the_densities():
    """At a few points, against the two densities written out with their normalising constants."""
    rho = 0.7
    pts = np.array([[0.0, 0.0], [1.0, -2.0], [3.0, 2.5]])
    cov = np.array([[1, rho], [rho, 1]])
    inv, det = np.linalg.inv(cov), np.linalg.det(cov)
    for z in pts:
        log_p = -0.5 * z @ inv @ z - math.log(2 * math.pi) - 0.5 * math.log(det)
        log_q = -0.5 * z @ z - math.log(2 * math.pi)
        assert oracle.t_star(z[None], rho)[0] == pytest.approx(log_p - log_q, rel=1e-12)
    tensor = oracle.t_star(torch.tensor(pts), rho)
    assert isinstance(tensor, torch.Tensor) and np.allclose(tensor.numpy(), oracle.t_star(pts, rho))


def test_log_mean_exp_and_dv_do_not_overflow():
    a = np.array([1000.0, 1000.0, 1000.0 - math.log(2)])
    assert oracle.log_mean_exp(a) == pytest.approx(1000 + math.log(2.5 / 3), rel=1e-15)
    small = np.random.default_rng(3).normal(size=(4, 50))
    np.testing.assert_allclose(oracle.log_mean_exp(small, axis=1), np.log(np.exp(small).mean(axis=1)), rtol=1e-13)
    assert oracle.dv(np.full(5, 3.0), np.full(7, 3.0)) == 0.0  # a constant critic bounds nothing
    assert oracle.dv([0.0], [-1e4, 0.0]) == pytest.approx(math.log(2))


def test_the_noise_floor_centres_on_d_with_the_delta_method_spread():
    """DV(t*) is consistent: its mean over draws is D up to O(1/n), its sd near the delta
    method's sqrt(Var_P t*/n + Var_Q e^t*/n') = sqrt(rho^2 + e^{2D} - 1) / sqrt(n) for n = n'."""
    rho, n, reps = 0.5, 2000, 2000
    draws = oracle.noise_floor(rho, n, n, reps, np.random.default_rng(4))
    assert draws.shape == (reps,)
    delta = math.sqrt(rho**2 + math.exp(2 * oracle.mi(rho)) - 1) / math.sqrt(n)
    assert draws.std(ddof=1) == pytest.approx(delta, rel=0.1)
    assert abs(draws.mean() - oracle.mi(rho)) <= 5 * delta / math.sqrt(reps) + 2 / n
