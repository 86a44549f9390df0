"""Checks of notebook 08: the staircase's correlation ``rho_for_mi``, its batches
``staircase_pairs`` and the separable critic's ``separable_scores``.

``rho_for_mi`` is compared with the closed form sqrt(1 - e^(-2 I / d)) (computed here with
expm1, to the last digits) on numbers and arrays. ``staircase_pairs`` is judged from the
pairs that come back: kinds and shapes, the generator alone deciding them, and their sample
moments against those of the model, with tolerances of six standard deviations of each
sample statistic. ``separable_scores`` is given two networks of the check's own,
g(v) = tanh(v A) and h(v) = v B, whose scores and gradients are computed here in double
precision.
"""
from __future__ import annotations

import math

import numpy as np

from . import CHANGED, array, dims, entries, field, integer, left_alone, number, of_kind, returned, rng, seed, text


def expected_rho(info, d: int):
    """sqrt(1 - e^(-2 info / d)), elementwise, in float64."""
    return np.sqrt(-np.expm1(-2 * np.asarray(info, dtype=np.float64) / d))


def rho_for_mi_values(probe) -> None:
    """-d/2 log(1 - rho^2) = info: a float for a number (an int too, and 0 for 0), a float64
    array of the same shape for an array, elementwise, the array left as it was."""
    g = rng(301)
    numbers = [(float(g.uniform(0.5, 12)), int(g.integers(2, 40)), False), (0.0, 5, False), (3, 1, True),
               (float(g.uniform(0.05, 0.3)), 20, False), (10.0, 20, False)]
    arrays = [(g.uniform(0.1, 12, size=(2, 3)), 10, False), (np.array([0.0, 2.0, 4.0, 6.0, 8.0]), 20, False)]
    cases = numbers + arrays
    for (info, d, _), got in zip(cases, entries(probe.run("staircase.rho", cases=cases), len(cases), "rho_for_mi"),
                                 strict=True):
        where = f"rho_for_mi({np.round(info, 4).tolist()}, {d})"
        expected = expected_rho(info, d)
        if isinstance(info, np.ndarray):
            of_kind(got, {"ndarray": "a NumPy array"}, where)
            dtype = text(field(got, "dtype", where), f"{where}: the dtype")
            assert dtype == "float64", f"{where} must return float64 values, got {dtype}"
            value = array(field(got, "value", where), where, info.shape)
            left_alone(got, where)
        else:
            of_kind(got, {"float": "a float", "numpy.float64": "a float"}, where)
            value = field(got, "value", where)  # a NumPy float64 comes back as a 0-d array
            value = number(value.item() if isinstance(value, np.ndarray) and value.shape == () else value, where)
        assert np.allclose(value, expected, rtol=1e-7, atol=1e-12), (
            f"{where} = {np.round(value, 6).tolist()}, but the correlation whose mutual information is "
            f"{np.round(info, 4).tolist()} nats in {d} dimensions is {np.round(expected, 6).tolist()}")


# --- the batches ------------------------------------------------------------------------------

def _pairs(probe, rho: float, d: int, n: int, seeds: list, global_seeds: list) -> list:
    """The (x, y) of each call as float64 arrays of shape (n, d), after checking their kinds."""
    got = entries(probe.run("staircase.pairs", rho=rho, d=d, n=n, seeds=seeds, global_seeds=global_seeds),
                  len(seeds), "staircase_pairs")
    out = []
    for reply in got:
        where = f"staircase_pairs({rho:.3f}, {d}, {n}, generator)"
        reply = returned(reply, where)
        kind = text(field(reply, "type", where), f"{where}: the kind")
        assert kind == "tuple", f"{where} must return a tuple (x, y), got a {kind}"
        length = integer(field(reply, "length", where), f"{where}: the length of the tuple")
        assert length == 2, f"{where} must return two tensors (x, y), got {length}"
        parts = entries(field(reply, "parts", where), 2, where)
        values = []
        for name, part in zip("xy", parts, strict=True):
            what = f"{where}: {name}"
            assert text(field(part, "type", what), what) == "Tensor", f"{what} must be a tensor, got a {part['type']}"
            dtype = text(field(part, "dtype", what), what)
            assert dtype == "float32", f"{what} must be float32, got {dtype}"
            assert text(field(part, "device", what), what) == "cpu", f"{what} must be on the CPU"
            shape = dims(field(part, "shape", what), what)
            assert shape == (n, d), f"{what} must have the shape (n, d) = {(n, d)}, got {shape}"
            values.append(array(field(part, "value", what), what, (n, d)).astype(np.float64))
        out.append(values)
    return out


def pairs_shapes_seeded(probe) -> None:
    """A tuple of two float32 CPU tensors of shape (n, d); the generator alone decides them: the
    same generator seed gives the same pairs whatever the global streams, another seed others."""
    g = rng(311)
    rho, d, n = float(g.uniform(0.3, 0.9)), int(g.integers(2, 12)), int(g.integers(20, 200))
    s = seed(311)
    (x0, y0), (x1, y1), (x2, y2) = _pairs(probe, rho, d, n, [s, s, s + 1], [s + 7, s + 8, s + 7])
    assert np.array_equal(x0, x1) and np.array_equal(y0, y1), (
        "the same generator state gave other pairs when the global random streams had been seeded otherwise: draw "
        "every number from the generator passed in (torch.randn(..., generator=generator))")
    assert not np.array_equal(x0, x2) and not np.array_equal(y0, y2), (
        "generators seeded differently gave the same x or the same y: draw them from the generator passed in")


def pairs_moments(probe) -> None:
    """Means 0 and variances 1; corr(x_k, y_k) = rho; every other pair of coordinates
    uncorrelated (the noise independent of x and across coordinates)."""
    g = rng(321)
    rho, d, n = float(g.uniform(0.4, 0.9)), 4, 20_000
    ((x, y),) = _pairs(probe, rho, d, n, [seed(321)], [seed(322)])
    Z = np.concatenate([x, y], axis=1)
    # sd of a sample mean 1/sqrt(n), of a sample variance sqrt(2/n), of a sample correlation r (1 - r^2)/sqrt(n)
    means, variances = Z.mean(axis=0), Z.var(axis=0)
    assert np.abs(means).max() < 6 / math.sqrt(n), f"the coordinates must have mean 0, got {np.round(means, 3).tolist()}"
    assert np.abs(variances - 1).max() < 6 * math.sqrt(2 / n), (
        f"the coordinates of x and y must have variance 1, got {np.round(variances, 3).tolist()} (rho = {rho:.3f}): "
        "y = rho x + sqrt(1 - rho^2) eps")
    C = np.corrcoef(Z.T)
    expected = np.eye(2 * d) + rho * (np.eye(2 * d, k=d) + np.eye(2 * d, k=-d))
    tolerance = 6 * (1 - expected**2) / math.sqrt(n) + 1e-9
    off = np.abs(C - expected) > tolerance
    if off.any():
        i, j = np.argwhere(off)[0]
        name = lambda k: f"x_{k}" if k < d else f"y_{k - d}"  # noqa: E731
        raise AssertionError(
            f"corr({name(i)}, {name(j)}) = {C[i, j]:.3f}, expected {expected[i, j]:.3f} (rho = {rho:.3f}): x_k and y_k "
            "are correlated by rho, every other pair of coordinates not at all (draw eps independently of x, one "
            "number per coordinate and row)")


# --- the separable critic ---------------------------------------------------------------------

K, K_PRIME, D, E = 5, 7, 3, 4


def _case(offset: int) -> dict:
    g = rng(offset)
    return {"A": g.normal(0, 0.7, (D, E)), "B": g.normal(0, 0.7, (D, E)), "x": g.standard_normal((K, D)),
            "y": g.standard_normal((K_PRIME, D)), "W": g.standard_normal((K, K_PRIME))}


def _f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def _scores(probe, offset: int) -> tuple[dict, dict]:
    case = _case(offset)
    return case, probe.run("staircase.scores", **case)


WHERE = f"separable_scores(g, h, x, y) with x of shape {(K, D)} and y of shape {(K_PRIME, D)}"


def scores_values(probe) -> None:
    """S[i, j] = g(x_i) . h(y_j), of shape (K, K'), for networks and batches of the check's own."""
    case, got = _scores(probe, 331)
    of_kind(got, {"Tensor": "a tensor"}, WHERE)
    shape = dims(field(got, "shape", WHERE), WHERE)
    assert shape == (K, K_PRIME), f"{WHERE} must have the shape (K, K') = {(K, K_PRIME)}, got {shape}"
    value = array(field(got, "value", WHERE), WHERE, (K, K_PRIME))
    G, H = np.tanh(_f32(case["x"]) @ _f32(case["A"])), _f32(case["y"]) @ _f32(case["B"])
    expected = G @ H.T
    worst = np.unravel_index(np.argmax(np.abs(value - expected)), expected.shape)
    assert np.allclose(value, expected, rtol=1e-4, atol=1e-5), (
        f"{WHERE}: S[{worst[0]}, {worst[1]}] = {value[worst]:.5f}, but g(x_{worst[0]}) . h(y_{worst[1]}) = "
        f"{expected[worst]:.5f}")


def scores_once(probe) -> None:
    """One call of g on the whole of x (K rows) and one of h on the whole of y (K' rows)."""
    _, got = _scores(probe, 341)
    returned(got, WHERE)
    calls = field(got, "calls", WHERE)
    assert isinstance(calls, list) and all(isinstance(c, list) and len(c) == 2 for c in calls), f"{WHERE}: {CHANGED}"
    seen = sorted((text(c[0], WHERE), dims(c[1], WHERE)) for c in calls)
    assert seen == [("g", (K, D)), ("h", (K_PRIME, D))], (
        f"{WHERE}: the networks were called {len(seen)} times ({', '.join(f'{n} on shape {s}' for n, s in seen[:6])}"
        f"{', ...' if len(seen) > 6 else ''}): call g once on all of x and h once on all of y, and take every "
        "score from those embeddings")


def scores_gradient(probe) -> None:
    """The scores stay connected to the parameters of g and h (the gradient of a weighted sum of
    S with respect to each is right); x and y are left as they were."""
    case, got = _scores(probe, 351)
    returned(got, WHERE)
    left_alone(got, WHERE)
    shape = dims(field(got, "shape", WHERE), WHERE) if "shape" in got else None
    assert shape == (K, K_PRIME), f"{WHERE} must be a tensor of shape (K, K') = {(K, K_PRIME)}, got {shape}"
    grads = field(got, "grads", WHERE)
    X, Y, A, B, W = (_f32(case[k]) for k in "xyABW")
    G, H = np.tanh(X @ A), Y @ B
    expected = {"A": X.T @ ((W @ H) * (1 - G**2)), "B": Y.T @ (W.T @ G)}
    for name, network in (("A", "g"), ("B", "h")):
        grad = field(grads, name, WHERE)
        assert grad is not None, (
            f"{WHERE}: no gradient reaches the weights of {network}: the scores were cut from the networks (.detach(), "
            "torch.no_grad(), NumPy or .item()); the critic is trained through them")
        grad = array(grad, f"{WHERE}: the gradient to {network}'s weights", expected[name].shape)
        assert np.allclose(grad, expected[name], rtol=1e-3, atol=1e-4), (
            f"{WHERE}: the gradient of sum(W * S) with respect to {network}'s weights is not that of "
            "sum_ij W_ij g(x_i) . h(y_j)")
