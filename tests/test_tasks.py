"""The tasks with known mutual information (course.tasks): each MI checked by a route
that does not use its formula.

- The Gaussian and Student-t pairs: the MI is E[log p(x, y) - log p(x) - log p(y)] under
  the pair, and SciPy's exact densities (scipy.stats.multivariate_normal, multivariate_t)
  give a Monte-Carlo mean of it over the task's own sample, whose sd is known (the sd of
  the log-ratio over sqrt(n)): the tolerance is 4 such sds. For the Student-t also the
  closed form against SciPy's entropies of the multivariate t, and the margins against
  scipy.stats.t (Kolmogorov-Smirnov).
- The digamma series against known values and scipy.special.digamma.
- The transformed tasks: each map is one-to-one (a sample maps back onto the Gaussian pair
  drawn with the same seed, by an inverse written here; the monotone maps keep every rank),
  which is what keeps the MI; Spearman's rank correlation, which a monotone map leaves
  unchanged, against the Gaussian pair's (6/pi) arcsin(rho/2); the normal-CDF margins
  against the uniform law.
- Every task but the 2-D Student-t: the Kraskov-Stögbauer-Grassberger (KSG) k-nearest-
  neighbour estimate (scikit-learn's mutual_info_regression for 1-D pairs, a KSG on
  SciPy's cKDTree for 2-D ones) against the closed form, within its bias and 5 of its sds
  as measured at that n.

Stochastic tests take ``seed`` (default ``SEED``; pytest leaves an argument with a default
alone), so that the flake rate can be measured by calling them with other seeds: the note
above each says how many runs over how many seeds failed. Each test takes under a second.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats
from scipy.spatial import cKDTree
from sklearn.feature_selection import mutual_info_regression

from nde_student import seed_everything
from course import tasks as T

SEED = 0
EULER_GAMMA = 0.5772156649015329


@pytest.fixture(autouse=True)
def _seeded():
    seed_everything(SEED)  # Python's, NumPy's and PyTorch's global generators; the tasks use their own


def rng(seed: int, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, salt])


def dispersion(d: int, rho: float) -> np.ndarray:
    """[[I, rho I], [rho I, I]]: the covariance of the Gaussian pair, the Student-t's dispersion."""
    eye = np.eye(d)
    return np.block([[eye, rho * eye], [rho * eye, eye]])


# ---------------------------------------------------------------- closed forms and helpers


def test_digamma_known_values_and_scipy():
    assert T.digamma(1.0) == pytest.approx(-EULER_GAMMA, abs=1e-12)
    assert T.digamma(0.5) == pytest.approx(-EULER_GAMMA - 2 * math.log(2), abs=1e-12)
    for n in range(1, 30):  # psi(n + 1) = H_n - gamma
        harmonic = sum(1.0 / k for k in range(1, n + 1))
        assert T.digamma(n + 1.0) == pytest.approx(harmonic - EULER_GAMMA, abs=1e-12)
    grid = np.geomspace(1e-3, 1e4, 400)
    ours = np.array([T.digamma(x) for x in grid])
    np.testing.assert_allclose(ours, special.digamma(grid), rtol=1e-12, atol=1e-12)
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            T.digamma(bad)


@pytest.mark.parametrize("dims", [(1, 1), (1, 3), (2, 2), (3, 2)])
@pytest.mark.parametrize("nu", [0.5, 1.0, 2.0, 3.0, 10.0, 100.0])
def test_student_t_mi_matches_scipy_entropies(nu, dims):
    # I = h(X) + h(Y) - h(X, Y), each from SciPy's own entropy of the multivariate t, for a
    # dispersion matrix with correlations inside the blocks too: the Gaussian part of the
    # closed form is 1/2 log(det S_xx det S_yy / det S), and the rest is the correction.
    dx, dy = dims
    gen = rng(1, 10 * dx + dy)
    a = gen.standard_normal((dx + dy, dx + dy + 2))
    sigma = a @ a.T / (dx + dy + 2) + 0.1 * np.eye(dx + dy)
    sxx, syy = sigma[:dx, :dx], sigma[dx:, dx:]

    def h(s):
        return stats.multivariate_t(np.zeros(len(s)), s, df=nu).entropy()

    by_scipy = h(sxx) + h(syy) - h(sigma)
    gaussian = 0.5 * (np.linalg.slogdet(sxx)[1] + np.linalg.slogdet(syy)[1] - np.linalg.slogdet(sigma)[1])
    assert gaussian + T.student_t_correction(nu, dx, dy) == pytest.approx(by_scipy, abs=1e-9)


def test_student_t_correction_shape():
    nus = [0.5, 1, 2, 3, 5, 10, 30, 100, 1000]
    for dims in [(1, 1), (2, 2), (1, 4)]:
        c = [T.student_t_correction(nu, *dims) for nu in nus]
        assert all(v > 0 for v in c)
        assert all(a > b for a, b in zip(c, c[1:]))  # fewer degrees of freedom, more shared scale
        assert c[-1] < 1e-4  # the Gaussian limit
    assert T.StudentTPair(2, 0.0, 3).mi == T.student_t_correction(3, 2, 2)
    task = T.StudentTPair(3, 0.7, 4)
    assert task.mi == pytest.approx(T.gaussian_mi(0.7, 3) + T.student_t_correction(4, 3, 3))
    with pytest.raises(ValueError):
        T.StudentTPair(1, 0.5, 0.0)


def test_gaussian_mi_and_the_staircase():
    assert T.gaussian_mi(0.0, 4) == 0.0
    assert T.gaussian_mi(0.6, 1) == pytest.approx(-0.5 * math.log(0.64))
    assert T.gaussian_mi(-0.6, 3) == pytest.approx(3 * T.gaussian_mi(0.6, 1))
    for d in (1, 2, 5, 20):
        for mi in (0.0, 0.1, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0):
            rho = T.mi_to_rho(mi, d)
            assert 0.0 <= rho < 1.0
            # rho near 1 holds 1 - rho^2 only to float64's spacing near 1 (1.1e-16): at I = 10
            # nats in d = 1, 1 - rho^2 = 2e-9, known to 1e-7 of itself, hence I to about 1e-7
            assert T.gaussian_mi(rho, d) == pytest.approx(mi, abs=1e-6)
            assert T.GaussianPair.from_mi(mi, d).mi == pytest.approx(mi, abs=1e-6)
    for bad in (1.0, -1.0, 1.5, math.nan):
        with pytest.raises(ValueError):
            T.GaussianPair(1, bad)
    for bad in (-0.1, math.inf):
        with pytest.raises(ValueError):
            T.mi_to_rho(bad, 1)


ALL_TASKS = [
    T.GaussianPair(3, 0.5), T.StudentTPair(2, 0.5, 3.0), T.cubic_gaussian(2, 0.5),
    T.half_cube_gaussian(2, 0.5), T.normal_cdf_gaussian(2, 0.5), T.spiral_gaussian(3, 0.5, 1.0),
]


@pytest.mark.parametrize("task", ALL_TASKS, ids=lambda t: t.name)
def test_shapes_dtype_and_seeding(task):
    x, y = task.sample(7, rng(1))
    assert x.shape == (7, task.dim_x) and y.shape == (7, task.dim_y)
    assert x.dtype == y.dtype == np.float64
    again = task.sample(7, rng(1))
    np.testing.assert_array_equal(x, again[0])
    np.testing.assert_array_equal(y, again[1])
    assert not np.array_equal(x, task.sample(7, rng(2))[0])
    assert np.isfinite(task.mi) and task.mi > 0
    with pytest.raises(TypeError):
        task.sample(7, 1)  # a Generator, not a seed
    with pytest.raises(ValueError):
        task.sample(0, rng(1))


# ---------------------------------------------------------------- Monte Carlo with exact densities


def information_density(x, y, joint, margin_x, margin_y) -> np.ndarray:
    return joint.logpdf(np.hstack([x, y])) - margin_x.logpdf(x) - margin_y.logpdf(y)


# Flake rate: 0 failures in 1800 runs (seeds 1-300, each of the 6 sets).
@pytest.mark.parametrize("d, rho", [(1, 0.6), (1, -0.9), (2, 0.3), (4, 0.8), (8, 0.5), (3, 0.99)])
def test_gaussian_mi_by_exact_densities(d, rho, seed=SEED):
    # The log-ratio i(x, y) = log p(x, y) - log p(x) - log p(y) of the Gaussian pair has mean
    # I and variance d rho^2 (a sum of d independent pairs, each with variance rho^2), so the
    # mean over n draws has sd |rho| sqrt(d / n); 4 sds: a two-sided chance of 6e-5.
    n = 100_000
    task = T.GaussianPair(d, rho)
    x, y = task.sample(n, rng(seed))
    margin = stats.multivariate_normal(np.zeros(d), np.eye(d))
    i = information_density(x, y, stats.multivariate_normal(np.zeros(2 * d), dispersion(d, rho)), margin, margin)
    sd = abs(rho) * math.sqrt(d)
    assert abs(i.mean() - task.mi) < 4 * sd / math.sqrt(n), (i.mean(), task.mi)
    assert i.std() == pytest.approx(sd, rel=0.05)  # the sd's own relative sd: about 1/sqrt(n) times the tail's
    # the sample is the pair it claims: unit margins and correlation rho in every coordinate
    r = np.array([np.corrcoef(x[:, j], y[:, j])[0, 1] for j in range(d)])
    assert np.all(np.abs(r - rho) < 5 * (1 - rho ** 2) / math.sqrt(n - 1))  # the sd of a sample correlation


# Flake rate: 0 failures in 1800 runs (seeds 1-300, each of the 6 sets).
@pytest.mark.parametrize("d, rho, nu", [(1, 0.6, 3.0), (1, 0.0, 1.0), (2, 0.0, 1.0), (2, 0.5, 5.0),
                                        (1, 0.9, 2.0), (3, -0.4, 0.7)])
def test_student_t_mi_by_exact_densities(d, rho, nu, seed=SEED):
    # The mean of the log-ratio under SciPy's multivariate t densities against the closed
    # form; its sd is estimated from the same draws (the log-ratio grows only like the log of
    # |x|, so every moment is finite, even for nu < 1): 4 sds, a chance of about 6e-5. Its sd
    # here (0.7 to 1.3, n = 200 000: 0.002 to 0.003) is 10 to 150 times below the correction,
    # so a closed form without it fails.
    n = 200_000
    task = T.StudentTPair(d, rho, nu)
    x, y = task.sample(n, rng(seed))
    margin = stats.multivariate_t(np.zeros(d), np.eye(d), df=nu)
    i = information_density(x, y, stats.multivariate_t(np.zeros(2 * d), dispersion(d, rho), df=nu), margin, margin)
    se = i.std(ddof=1) / math.sqrt(n)
    assert abs(i.mean() - task.mi) < 4 * se, (i.mean(), task.mi, se)
    assert task.correction > 10 * se


# Flake rate: 0 failures in 2000 runs (seeds 1-1000, each of the 2 sets).
@pytest.mark.parametrize("d, rho, nu", [(1, 0.6, 3.0), (2, 0.3, 1.0)])
def test_student_t_margins_are_t(d, rho, nu, seed=SEED):
    # Each coordinate of x and of y is a Student t with nu degrees of freedom (Kolmogorov-
    # Smirnov, exact p-value under the law: each of the 2d tests fails with chance 1e-5).
    x, y = T.StudentTPair(d, rho, nu).sample(5000, rng(seed))
    for column in np.hstack([x, y]).T:
        assert stats.kstest(column, stats.t(nu).cdf).pvalue > 1e-5


# ---------------------------------------------------------------- the transformed tasks: one-to-one maps


def inverse_half_cube(s):
    return np.sign(s) * np.abs(s) ** (2.0 / 3.0)


def inverse_spiral(z, speed):
    angle = -speed * np.linalg.norm(z, axis=1)  # the spiral keeps the norm, so the angle is known
    out = z.copy()
    out[:, 0] = np.cos(angle) * z[:, 0] - np.sin(angle) * z[:, 1]
    out[:, 1] = np.sin(angle) * z[:, 0] + np.cos(angle) * z[:, 1]
    return out


MONOTONE = [  # the factory, the inverse of its x map and of its y map (None: left alone), written here
    (T.cubic_gaussian, None, np.cbrt),
    (T.half_cube_gaussian, inverse_half_cube, inverse_half_cube),
    (T.normal_cdf_gaussian, special.ndtri, special.ndtri),
]


@pytest.mark.parametrize("make, inv_x, inv_y", MONOTONE, ids=lambda v: getattr(v, "__name__", "id"))
def test_monotone_maps_are_one_to_one(make, inv_x, inv_y):
    # The sample maps back onto the Gaussian pair drawn with the same seed, and every
    # coordinate keeps its ranks: the maps are strictly increasing, hence one-to-one, hence
    # I(f(X); g(Y)) = I(X; Y).
    d, rho = 3, 0.7
    task = make(d, rho)
    assert task.mi == T.gaussian_mi(rho, d)
    x, y = task.sample(20_000, rng(1))
    x0, y0 = T.GaussianPair(d, rho).sample(20_000, rng(1))
    for got, base, inverse in ((x, x0, inv_x), (y, y0, inv_y)):
        if inverse is None:
            np.testing.assert_array_equal(got, base)
            continue
        assert not np.allclose(got, base)
        np.testing.assert_allclose(inverse(got), base, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(np.argsort(got, axis=0), np.argsort(base, axis=0))


# Flake rate: 0 failures in 3000 runs (seeds 1-1000, each of the 3 maps).
@pytest.mark.parametrize("make", [T.cubic_gaussian, T.half_cube_gaussian, T.normal_cdf_gaussian],
                         ids=lambda f: f.__name__)
def test_spearman_is_the_gaussian_pairs(make, seed=SEED):
    # Spearman's rho depends on ranks alone, which strictly increasing maps keep: for every
    # coordinate pair it is the Gaussian pair's (6/pi) arcsin(rho/2). Its Fisher transform
    # atanh(r_s) has sd sqrt(1.06 / (n - 3)) for a normal pair (Fieller, Hartley and Pearson
    # 1957, "Tests for rank correlation coefficients. I", Biometrika): 4 sds for each of d.
    n, d, rho = 5000, 2, 0.7
    x, y = make(d, rho).sample(n, rng(seed))
    target = math.atanh(6 / math.pi * math.asin(rho / 2))
    for j in range(d):
        r = stats.spearmanr(x[:, j], y[:, j]).statistic
        assert abs(math.atanh(r) - target) < 4 * math.sqrt(1.06 / (n - 3)), (j, r)


# Flake rate: 0 failures in 1000 runs (seeds 1-1000).
def test_normal_cdf_margins_are_uniform(seed=SEED):
    # Phi(N(0, 1)) is uniform on (0, 1): Kolmogorov-Smirnov per coordinate, 1e-5 each.
    x, y = T.normal_cdf_gaussian(2, 0.8).sample(5000, rng(seed))
    assert np.all((x > 0) & (x < 1) & (y > 0) & (y < 1))
    for column in np.hstack([x, y]).T:
        assert stats.kstest(column, "uniform").pvalue > 1e-5


def test_normal_cdf_values():
    t = np.array([-30.0, -8.0, -1.96, -1.0, 0.0, 0.5, 1.0, 1.96, 8.0])
    np.testing.assert_allclose(T.normal_cdf(t), special.ndtr(t), rtol=1e-12, atol=0)  # erfc in the far tail: a few ulps


@pytest.mark.parametrize("speed", [0.5, 1.0, 3.0])
def test_spiral_is_one_to_one(speed):
    d, rho = 3, 0.6
    task = T.spiral_gaussian(d, rho, speed)
    assert task.mi == T.gaussian_mi(rho, d)
    x, y = task.sample(20_000, rng(2))
    x0, y0 = T.GaussianPair(d, rho).sample(20_000, rng(2))
    np.testing.assert_array_equal(y, y0)  # y is left alone
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), np.linalg.norm(x0, axis=1), rtol=1e-12)
    np.testing.assert_array_equal(x[:, 2:], x0[:, 2:])  # only the first plane turns
    np.testing.assert_allclose(inverse_spiral(x, speed), x0, rtol=1e-9, atol=1e-9)
    # it does turn, by speed * |x| (mod 2 pi) in the first plane
    turned = np.angle((x[:, 0] + 1j * x[:, 1]) / (x0[:, 0] + 1j * x0[:, 1]))
    expected = np.angle(np.exp(1j * speed * np.linalg.norm(x0, axis=1)))
    np.testing.assert_allclose(np.angle(np.exp(1j * (turned - expected))), 0, atol=1e-9)
    np.testing.assert_array_equal(T.spiral(x0, 0.0), x0)
    with pytest.raises(ValueError):
        T.spiral_gaussian(1, rho)


# ---------------------------------------------------------------- KSG against the closed form


def ksg(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """Kraskov, Stögbauer and Grassberger (2004), "Estimating mutual information", their first
    estimator: psi(k) + psi(n) - mean[psi(n_x + 1) + psi(n_y + 1)], with the max-norm distance
    eps_i to the k-th neighbour in (x, y), and n_x, n_y the other points strictly within
    eps_i in x alone and y alone."""
    n = len(x)
    xy = np.hstack([x, y])
    eps = cKDTree(xy).query(xy, k=k + 1, p=np.inf)[0][:, -1]
    radius = np.nextafter(eps, 0)  # strictly within
    nx = cKDTree(x).query_ball_point(x, radius, p=np.inf, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, radius, p=np.inf, return_length=True) - 1
    return float(special.digamma(k) + special.digamma(n) - np.mean(special.digamma(nx + 1) + special.digamma(ny + 1)))


def ranks(a: np.ndarray) -> np.ndarray:
    """Each column by its ranks over n: a strictly increasing map of each coordinate (given the
    sample), so the MI is kept; the margins become uniform, with no tails left."""
    return stats.rankdata(a, axis=0) / len(a)


KSG_TASKS = [  # the task, n, whether to take ranks first, and KSG's mean error and sd there (measured)
    (T.GaussianPair(1, 0.6), 20_000, False, (0.0000, 0.0069)),
    (T.cubic_gaussian(1, 0.6), 20_000, False, (-0.0012, 0.0070)),
    (T.half_cube_gaussian(1, 0.6), 20_000, False, (-0.0006, 0.0064)),
    (T.normal_cdf_gaussian(1, 0.6), 20_000, False, (0.0001, 0.0071)),
    (T.StudentTPair(1, 0.6, 3.0), 20_000, True, (0.0003, 0.0086)),
    (T.StudentTPair(1, 0.0, 1.0), 20_000, True, (0.0024, 0.0074)),
    (T.GaussianPair(2, 0.6), 10_000, False, (0.0050, 0.0114)),
    (T.spiral_gaussian(2, 0.6, 1.0), 10_000, False, (-0.0035, 0.0110)),
]
"""KSG is biased at finite n, the more so in more dimensions and under heavy tails: the mean
error and the sd of each estimate were measured over seeds 1-100 (``ksg_estimate``), and the
tolerance is the bias plus 5 sds (a chance below 1e-6 for a normal error). The Student-t
pairs are estimated on their ranks: on the raw Cauchy pair (nu = 1) KSG's mean error is
-0.023 at n = 20 000, on its ranks +0.002. The tests still tell a wrong closed form: the
Student-t at rho = 0 has I = c alone (0.22 nats at nu = 1), over 10 tolerances from 0.
Not here: the Student-t in d = 2, whose KSG estimate is 0.04-0.11 low even at n = 10 000-20 000
(on ranks or not); its exact-density test above checks it."""


def ksg_estimate(task, n: int, take_ranks: bool, seed: int) -> float:
    x, y = task.sample(n, rng(seed))
    if take_ranks:
        x, y = ranks(x), ranks(y)
    if task.dim_x == task.dim_y == 1:
        return float(mutual_info_regression(x, y[:, 0], n_neighbors=3, random_state=seed)[0])
    return ksg(x, y)


# Flake rate: 0 failures in 1600 runs (seeds 101-300, each of the 8 tasks; not the seeds that measured them).
@pytest.mark.parametrize("task, n, take_ranks, measured", KSG_TASKS, ids=[t[0].name for t in KSG_TASKS])
def test_mi_by_ksg(task, n, take_ranks, measured, seed=SEED):
    bias, sd = measured
    estimate = ksg_estimate(task, n, take_ranks, seed)
    assert abs(estimate - task.mi) < abs(bias) + 5 * sd, (estimate, task.mi, bias, sd)
