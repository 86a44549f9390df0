"""Checks of the opening notebook (01): the samples ``draw_samples``, the truth ``ground_truth``
and the optimal critic ``t_star``.

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
from ..reference import t_star as _reference_t_star
from . import (CHANGED, array, dims, entries, field, left_alone, mapping, number, of_kind, pairs, returned, rng, seed,
               text)

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
    """(Z, Z_ref) of each call of draw_samples, after checking they are two arrays of finite numbers."""
    asked = [call for call in calls if call != "move"]
    out = []
    for call, got in pairs(asked, probe.run("problem.draw", calls=calls, check_seed=seed(offset)), "draw_samples"):
        parts = field(got, "parts", "draw_samples")
        assert isinstance(parts, list) and len(parts) == 2, (
            f"draw_samples must return a tuple (Z, Z_ref), got a {got.get('type')}"
            + (f" of length {len(parts)}" if isinstance(parts, list) else "")
        )
        arrays = []
        for name, part in zip(("Z", "Z_ref"), parts, strict=True):
            part_kind = text(field(part, "type", name), f"the type of {name}")
            assert part_kind == "ndarray", f"{name} must be a NumPy array, got {part_kind}"
            assert "array" in part, f"{name} must hold numbers, got an array of dtype {field(part, 'dtype', name)}"
            value = array(part["array"], name, finite=False)
            assert value.shape == dims(field(part, "shape", name), f"the shape of {name}"), (
                f"{name}: the shape sent back does not match the array's: {CHANGED}"
            )
            assert np.isfinite(value).all(), (
                f"draw_samples{tuple(call)}: {name} holds {int(np.sum(~np.isfinite(value)))} values that are NaN "
                "or infinite; samples of a normal distribution are finite numbers"
            )
            arrays.append(value)
        out.append(tuple(arrays))
    return out


# --- draw_samples ---------------------------------------------------------------------


def samples_shapes(probe) -> None:
    """Z has shape (n, 2), Z_ref shape (n_ref, 2), both float64, for several sizes."""
    g = rng(11)
    sizes = ((5, 8), (13, 3), (1, 1), (200, 100))
    calls = [[float(g.uniform(-0.95, 0.95)), n, n_ref, int(g.integers(2**31))] for n, n_ref in sizes]
    for (n, n_ref), (Z, Z_ref) in zip(sizes, _draws(probe, calls, 11), strict=True):
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
    for rho, (Z, Z_ref) in zip(rhos, _draws(probe, calls, 13), strict=True):
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
#
# - shared values: two independent samples of continuous distributions share no value, but a
#   Z_ref made of Z's own numbers (its coordinates resampled or permuted), or of the standard
#   normals Z was made from (a second generator with the same seed, read in another order),
#   shares all of them. Those normals are w = A^-1 z for the square root A that made Z; the
#   check tries the ones an answer uses (the identity, i.e. Z's own values; Cholesky, with x or
#   with y first; NumPy's multivariate_normal with method "svd" and "eigh"; the symmetric one),
#   and compares absolute values (a sign does not make a number new). Recovering w costs
#   rounding of ~1e-16 |z| cond(A), cond(A) = sqrt((1 + |rho|)/(1 - |rho|)) (below 1e3 unless
#   1 - |rho| < 2e-6), so a reused value matches to SHARED_VALUE_ATOL = 1e-9 (relative above 1),
#   and a few that do not at extreme rho change no verdict. By chance, for
#   independent samples: 2 SHARED_N values of Z_ref against 6 x 2 SHARED_N candidates, each
#   pair within the band with probability <= 2e-9 x 0.8 (the density of |N(0, 1)| at most):
#   ~0.15 coincidences expected (measured over 50 draws: at most 1 of 4000 values), while the
#   check fails only when SHARED_FRACTION = 5% of Z_ref's values (200) coincide.
LAGS = 4
SHARED_N = 2_000
SHARED_RTOL = 1e-12
SHARED_FRACTION = 0.05
SHARED_VALUE_ATOL = 1e-9


def _shared_fraction(Z: np.ndarray, Z_ref: np.ndarray, rho: float) -> float:
    """The fraction of Z_ref's rows whose squared norm equals a Mahalanobis norm of a row of Z."""
    inv = np.linalg.inv(np.array([[1.0, rho], [rho, 1.0]]))
    maha = np.sort(np.einsum("ij,jk,ik->i", Z, inv, Z))
    norms = np.einsum("ij,ij->i", Z_ref, Z_ref)
    pos = np.clip(np.searchsorted(maha, norms), 1, len(maha) - 1)
    nearest = np.minimum(np.abs(maha[pos] - norms), np.abs(maha[pos - 1] - norms))
    return float(np.mean(nearest <= SHARED_RTOL * np.maximum(norms, 1e-300)))


def _square_roots(rho: float) -> list[np.ndarray]:
    """Matrices F with F^T F = Sigma (Z = W F for rows W of standard normals), as answers make Z."""
    cov = np.array([[1.0, rho], [rho, 1.0]])
    swap = np.array([[0.0, 1.0], [1.0, 0.0]])
    u, s, vh = np.linalg.svd(cov)
    values, vectors = np.linalg.eigh(cov)
    return [
        np.eye(2),  # Z's own values
        np.linalg.cholesky(cov).T,  # X = W1, Y = rho W1 + sqrt(1 - rho^2) W2
        swap @ np.linalg.cholesky(swap @ cov @ swap).T @ swap,  # Y = W2 first
        np.sqrt(s)[:, None] * vh,  # multivariate_normal, method="svd" (the default)
        (vectors * np.sqrt(values)).T,  # multivariate_normal, method="eigh"
        vectors @ np.diag(np.sqrt(values)) @ vectors.T,  # the symmetric square root
    ]


def _shared_values(Z: np.ndarray, Z_ref: np.ndarray, rho: float) -> float:
    """The fraction of Z_ref's values that are, up to sign, values of Z or of the normals Z was made from."""
    known = np.sort(np.abs(np.concatenate([(Z @ np.linalg.inv(F)).reshape(-1) for F in _square_roots(rho)])))
    values = np.abs(Z_ref.reshape(-1))
    pos = np.clip(np.searchsorted(known, values), 1, len(known) - 1)
    nearest = np.minimum(np.abs(known[pos] - values), np.abs(known[pos - 1] - values))
    return float(np.mean(nearest <= SHARED_VALUE_ATOL * np.maximum(values, 1.0)))


def samples_independent(probe) -> None:
    """Z and Z_ref are independent: no cross-correlation, at the same row or shifted, no shared values and no
    shared random vectors."""
    n = N_LARGE
    g = rng(14)
    rhos = (float(1 - 0.19 * g.random()), float(g.uniform(-0.6, 0.6)))
    calls = [[rho, n, n, int(g.integers(2**31))] for rho in rhos]
    calls += [[rho, SHARED_N, SHARED_N, int(g.integers(2**31))] for rho in rhos]
    draws = _draws(probe, calls, 14)
    hint = "did both come from one random stream?"
    for rho, (Z, Z_ref) in zip(rhos, draws[:2], strict=True):
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
    for rho, (Z, Z_ref) in zip(rhos, draws[2:], strict=True):
        shared = _shared_values(Z, Z_ref, rho)
        assert shared < SHARED_FRACTION, (
            f"rho = {rho:.3f}: {shared:.0%} of the values of Z_ref are values of Z, or of the standard normal numbers "
            "that Z was made from (up to sign). Two independent samples of continuous distributions share no value: "
            "draw Z_ref from its own stream, not from Z's numbers or from a second generator with Z's seed"
        )
        shared = _shared_fraction(Z, Z_ref, rho)
        assert shared < SHARED_FRACTION, (
            f"rho = {rho:.3f}: {shared:.0%} of the rows of Z_ref are random vectors that Z was made from "
            f"(their lengths match exactly): Z and Z_ref must come from independent streams ({hint})"
        )


# --- ground_truth ---------------------------------------------------------------------


def _truth(rho):
    return _reference_truth(np.asarray(rho, dtype=np.float64))


def _values(probe, calls):
    return entries(probe.run("problem.truth", calls=calls), len(calls), "ground_truth")


def _one_number(result, what: str) -> float:
    """The number ground_truth returned: a number, or an array holding one (NaN when it returned neither,
    which fails every comparison)."""
    if "value" not in mapping(result, what):
        return math.nan
    value = result["value"]
    if isinstance(value, np.ndarray):
        value = array(value, what, finite=False)
        assert value.size == 1, f"{what} must return one number, got an array of shape {value.shape}"
        return float(value.reshape(-1)[0])
    return number(value, what, finite=False)


NUMBER_KINDS = ("float", "int", "numpy.float64", "ndarray")
"""What ground_truth may return for a plain number: a number (np.log gives a NumPy float64, which is a
float), or a 0-d array (np.where gives one)."""


def ground_truth_values(probe) -> None:
    """ground_truth(rho) = -1/2 log(1 - rho^2), derived by the student, for unseen rho, negative ones too: a number for a number, and
    elementwise on arrays (an array of the same shape, the argument left as it was)."""
    g = rng(21)
    rhos = [*g.uniform(-0.99, -0.05, 3), *g.uniform(0.05, 0.99, 3)]
    grid = g.uniform(-0.99, 0.99, size=(3, 4))
    got = _values(probe, [["float", float(r)] for r in rhos] + [["array", grid]])
    for rho, result in zip(rhos, got[:-1], strict=True):
        where = f"ground_truth({rho:.4f})"
        kind = text(field(returned(result, where), "type", where), f"{where}: the kind of what it returned")
        assert kind in NUMBER_KINDS and "value" in result and np.ndim(result["value"]) == 0, (
            f"{where} must return a number for a number rho (use np.log, which gives one), got a "
            + (f"{kind} of shape {tuple(np.shape(result['value']))}" if "value" in result else kind)
        )
        value = _one_number(result, where)
        reversed_ = 0.5 * (2 / (1 - rho**2) - 2 + math.log(1 - rho**2))  # D(P_Z' || P_Z): the covariances swapped
        assert math.isclose(value, _truth(rho), rel_tol=1e-9, abs_tol=1e-12), (
            f"{where} = {value:.6g}, expected D(P_Z || P_Z') = {_truth(rho):.6g}"
            + (": that is D(P_Z' || P_Z), the covariances swapped in the general formula (Sigma_1 is the covariance "
               "of the first argument, P_Z)" if math.isclose(value, reversed_, rel_tol=1e-9) else "")
        )
    where = f"ground_truth of an array of shape {grid.shape}"
    result = mapping(got[-1], where)
    assert "raised" not in result, (
        f"ground_truth must work on NumPy arrays (use np.log, not math.log): it raised {result['raised']}"
    )
    of_kind(result, {"ndarray": f"a NumPy array of shape {grid.shape}"}, where)
    assert "value" in result, f"{where} must hold numbers, got an array of dtype {result.get('dtype')}"
    value = array(result["value"], where, finite=False)
    assert value.shape == grid.shape, f"ground_truth of an array of shape {grid.shape} must have that shape, got {value.shape}"
    assert np.allclose(value, _truth(grid), rtol=1e-9, atol=1e-12), "ground_truth is wrong for some entries of an array"
    left_alone(result, "ground_truth")


def ground_truth_zero(probe) -> None:
    """Uncorrelated samples: ground_truth(0) is 0 (P_Z = P_Z' then)."""
    calls = [["int", 0], ["float", 0.0], ["float64", 0.0]]
    for (kind, _), result in pairs(calls, _values(probe, calls), "ground_truth"):
        returned(result, f"ground_truth(0) ({kind})")
        value = _one_number(result, f"ground_truth(0) ({kind})")
        assert abs(value) < 1e-12, (
            f"ground_truth(0) ({kind}) = {value}: for rho = 0 the two distributions are equal, D = 0"
        )


def ground_truth_positive(probe) -> None:
    """ground_truth(rho) > 0 for every rho != 0 in (-1, 1): a divergence is never negative."""
    rhos = [*np.linspace(-0.999, -0.01, 12), *np.linspace(0.01, 0.999, 12)]
    for rho, result in pairs(rhos, _values(probe, [["float", float(r)] for r in rhos]), "ground_truth"):
        returned(result, f"ground_truth({rho:.3f})")
        value = _one_number(result, f"ground_truth({rho:.3f})")
        assert value > 0 and math.isfinite(value), (
            f"ground_truth({rho:.3f}) = {value:.4g}: a KL divergence is >= 0, and > 0 when the distributions differ"
        )


# --- t_star ---------------------------------------------------------------------------
#
# t*(x, y) = log p(x, y)/q(x, y) in closed form (the course's answer, nde_grader.reference),
# compared in double precision on NumPy arrays (to rounding: no statistics, no chance of a
# false failure) and in float32 on tensors. When the values are wrong, the message names the
# slip that explains them, if one does: a constant off, log q/p, log p alone, ...


def _points(g: np.random.Generator, n: int) -> np.ndarray:
    """n points of the plane where both distributions put samples, and a few far out."""
    Z = g.standard_normal((n, 2)) * g.choice([0.5, 1.0, 2.0], size=(n, 1))
    Z[:3] = [[0.0, 0.0], [1.0, 1.0], [2.0, -1.5]]
    return Z


def _slips(Z: np.ndarray, rho: float) -> dict[str, np.ndarray]:
    """What some derivations that went wrong return, to name the slip in the message."""
    x, y = Z[:, 0], Z[:, 1]
    want = _reference_t_star(Z, rho)
    log_p = -math.log(2 * math.pi) - 0.5 * math.log(1 - rho**2) - (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho**2))
    return {
        "log q/p (the sign of the whole log-ratio)": -want,
        "log p alone (log q = -log 2 pi - (x^2 + y^2)/2 must be subtracted)": log_p,
        "log p alone, without its constant": log_p + math.log(2 * math.pi),
    }


def _explain(got: np.ndarray, Z: np.ndarray, rho: float, tol: float = 1e-6) -> str:
    want = _reference_t_star(Z, rho)
    for what, value in _slips(Z, rho).items():
        if np.allclose(got, value, rtol=tol, atol=tol):
            return f": that is {what}"
    diff = got - want
    if np.ptp(diff) <= tol * (1 + np.abs(want).max()):
        return (f": it is off by the constant {float(diff.mean()):+.6g} everywhere. Check the normalising constants "
                f"of p and q; -1/2 log(1 - rho^2) = {-0.5 * math.log(1 - rho**2):+.6g} for rho = {rho:.4f}")
    return ": check the quadratic forms of log p and log q, and the denominator 2 (1 - rho^2)"


def _critic(probe, calls: list) -> list:
    return entries(probe.run("problem.critic", calls=calls), len(calls), "t_star")


def _critic_values(got, n: int, what: str) -> np.ndarray | None:
    """The values t_star returned, when they are one number per row (None when it returned something else)."""
    value = mapping(got, what).get("value")
    if value is None:
        return None
    value = array(value, what, finite=False)
    return value if value.shape == (n,) else None


def t_star_values(probe) -> None:
    """t_star(Z, rho) is log p(z)/q(z) at every row of a NumPy array Z, for unseen rho (negative ones too),
    returned as a NumPy array of float64 (the same kind of object as Z), with Z left as it was."""
    g = rng(31)
    rhos = [float(r) for r in (*g.uniform(0.05, 0.97, 3), *g.uniform(-0.97, -0.05, 2))]
    calls = [{"Z": _points(g, int(g.integers(20, 60))), "rho": rho, "kind": "numpy"} for rho in rhos]
    for call, got in pairs(calls, _critic(probe, calls), "t_star"):
        Z, rho, n = call["Z"], call["rho"], len(call["Z"])
        where = f"t_star(Z, {rho:.4f}) for a NumPy array Z of shape ({n}, 2)"
        of_kind(got, {"ndarray": "a NumPy array (the same kind of object as Z)"}, where)
        value = _critic_values(got, n, "t_star(Z, rho)")
        assert value is not None, (
            f"t_star(Z, rho) for Z of shape ({n}, 2) must return one number per row, shape ({n},); "
            f"got a {got.get('type')} of shape {tuple(np.shape(got.get('value')))}"
        )
        dtype = text(field(got, "dtype", where), f"{where}: the dtype of what it returned")
        assert dtype == "float64", f"{where} must return float64 numbers, like Z, got {dtype}"
        left_alone(got, where)
        want = _reference_t_star(Z, rho)
        if not np.allclose(value, want, rtol=1e-9, atol=1e-9):
            worst = int(np.argmax(np.abs(value - want)))
            raise AssertionError(
                f"t_star(Z, {rho:.4f}) at z = ({Z[worst, 0]:.3f}, {Z[worst, 1]:.3f}) is {value[worst]:.6g}, "
                f"but log p(z)/q(z) = {want[worst]:.6g}" + _explain(value, Z, rho)
            )


# t_star_tensors compares the result on a float32 tensor with the student's own result on
# the same points as a float64 array, so that a wrong formula loses the points of
# t_star_values only; where the array gave no finite values of shape (N,), the tensor's are
# compared with the closed form instead. float32: terms of t* up to ~100 cancel to rounding
# of ~1e-5; 1e-3 + 1e-4 relative is a wide margin.
TENSOR_ATOL, TENSOR_RTOL = 1e-3, 1e-4


def t_star_tensors(probe) -> None:
    """t_star(Z, rho) takes a float32 tensor Z of shape (N, 2) and returns a tensor of shape (N,) (float32 or
    float64), with the values it gives for the same points as a NumPy array; Z is left as it was."""
    g = rng(32)
    rhos = [float(g.uniform(0.6, 0.97)), float(g.uniform(-0.9, -0.1))]
    calls = []
    for rho, n in zip(rhos, (37, 300)):
        Z = _points(g, n).astype(np.float32).astype(np.float64)  # the same points in both precisions
        calls += [{"Z": Z, "rho": rho, "kind": "torch"}, {"Z": Z, "rho": rho, "kind": "numpy"}]
    got = _critic(probe, calls)
    for call, on_tensor, on_array in zip(calls[::2], got[::2], got[1::2], strict=True):
        rho, n = call["rho"], len(call["Z"])
        assert "raised" not in mapping(on_tensor, "t_star"), (
            f"t_star(Z, {rho:.4f}) for a float32 tensor Z of shape ({n}, 2) raised {on_tensor['raised']}: use "
            "arithmetic on Z[:, 0] and Z[:, 1], which works on tensors as on arrays (notebook 04 passes tensors)"
        )
        where = f"t_star(Z, {rho:.4f}) for a float32 tensor Z of shape ({n}, 2)"
        of_kind(on_tensor, {"Tensor": "a tensor (notebook 04 calls it on tensors)"}, where)
        shape = dims(field(on_tensor, "shape", "t_star"), "the shape of what t_star returned")
        assert shape == (n,), f"for a tensor Z of shape ({n}, 2) the result must have shape ({n},), got {shape}"
        dtype = text(field(on_tensor, "dtype", where), f"{where}: the dtype of what it returned")
        assert dtype in ("float32", "float64"), f"{where} must return floating-point numbers, got {dtype}"
        left_alone(on_tensor, where)
        value = array(field(on_tensor, "value", "t_star"), "t_star of a tensor", (n,), finite=False)
        reference = None if "raised" in mapping(on_array, "t_star") else _critic_values(on_array, n, "t_star of an array")
        if reference is not None and np.isfinite(reference).all():
            assert np.allclose(value, reference, rtol=TENSOR_RTOL, atol=TENSOR_ATOL), (
                f"t_star(Z, {rho:.4f}) gives other values for a tensor Z than for the same points as a NumPy array"
            )
            continue
        # no values on the array to compare with (t_star_values takes those points): the closed form instead
        assert np.allclose(value, _reference_t_star(call["Z"], rho), rtol=TENSOR_RTOL, atol=TENSOR_ATOL), (
            f"t_star(Z, {rho:.4f}) for a tensor Z is not log p(z)/q(z) (and for the same points as a NumPy array "
            "it gave no values to compare with)"
        )
