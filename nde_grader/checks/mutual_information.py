"""Checks of notebook 07: mutual information with shuffled references, NWJ, InfoNCE and SMILE.

For the course's Gaussian pair, I(X; Y) = D(P_XY || P_X x P_Y) = -1/2 log(1 - rho^2), with the
optimal critic t* of notebook 01. One check, one property:

- ``shuffle_keeps_x``      a new tensor of Z's dtype and device whose first column is Z's, row
                           for row (exact; float32 and float64); Z itself left unchanged;
- ``shuffle_permutes_y``   the second column holds the same values, in another order (exact);
- ``shuffle_generator``    the order comes from the generator passed in: the same state gives the
                           same order, another state or the same generator called again another;
- ``shuffle_independent``  the shuffled pairs are uncorrelated, for rows in random order and
                           sorted by x or by y (a fixed shift passes only the first);
- ``shuffle_dv``           DV(t*) on ten data sets and their shuffled references: the median
                           error within a band measured at n = 1000, rho = 0.9;
- ``nwj_values``           NWJ = mean t - mean e^(t' - 1), exactly, on t* + 1 (about D), t*
                           (about D - 1/e) and other values; a one-number tensor whose gradient
                           (by autograd) is the formula's, to t and to t_ref; inputs unchanged;
- ``nwj_below_dv``         NWJ <= DV for any critic values (log s <= s/e), deterministic;
- ``nwj_critic_optimal``   NWJ's optimal critic, t* + 1, to float32's rounding, for several rho (negative
                           too) and both dtypes: shape (n,), Z's dtype and device; Z unchanged;
- ``infonce_bound``        InfoNCE <= log K for any scores, and -> log K when the diagonal dominates;
- ``infonce_invariance``   adding g(x_i) to row i changes nothing;
- ``infonce_extremes``     exactly the formula on scores far apart and near +-200, where e^S and
                           softmax(S) overflow or underflow float32 (logsumexp, as asked);
- ``infonce_optimal``      exactly the formula on score matrices of t* at rho = 0.999, K = 16
                           (their average is about 2.29 < log 16 < I = 3.11); a tensor with the
                           formula's gradient to the scores; scores unchanged;
- ``smile_dv_limit``       tau = inf gives DV, exactly, also near t' = +110 and -130 (logsumexp);
- ``smile_values``         the clipped formula for finite tau, exactly; a tensor with the
                           formula's gradient to t and to t_ref; inputs unchanged;
- ``smile_variance``       at rho = 0.95, tau = 1, the sd of SMILE(t*) over 200 data sets is below
                           0.9 times DV's on the same data sets;
- ``smile_gap_values``     SMILE_tau(t*) - I = -log mean e^clip(t', -tau, tau), exactly, also for values
                           far out (logsumexp) and tau = inf; one number in a tensor; t_ref unchanged.

The exact checks compare float32 results with float64 arithmetic; the statistical ones state
their tolerances next to the measurements they come from.
"""
from __future__ import annotations

import math

import numpy as np

from ..oracle import dv, log_mean_exp as lme, mi, pairs, t_star
from . import (array, entries, field, integer, left_alone, mapping, number, of_kind, reaches_each, returned, rng,
               seed, text)
from . import pairs as paired  # this module's own pairs() draws pairs (x, y)


# --- shuffle_reference ---------------------------------------------------------------------

def _shuffle_value(got, shape: tuple, where: str) -> np.ndarray:
    """The tensor shuffle_reference returned, as an array of the shape of Z (values exact, float64)."""
    of_kind(got, {"Tensor": "a tensor"}, where)
    value = array(field(got, "value", where), where, finite=False)
    assert value.shape == shape, f"{where} must return the shape of Z, {shape}, not {value.shape}"
    assert np.isfinite(value).all(), f"{where} returned values that are NaN or infinite: the pairs of Z are finite"
    return value


def _like_z(got, where: str) -> None:
    """The tensor returned has the dtype and device of Z (the kernel side sends both)."""
    dtype, want = (text(field(got, key, where), f"{where}: a dtype") for key in ("dtype", "input_dtype"))
    assert dtype == want, f"{where} returned a tensor of dtype {dtype}: keep the dtype of Z ({want})"
    dev, want = (text(field(got, key, where), f"{where}: a device") for key in ("device", "input_device"))
    assert dev == want, f"{where} returned a tensor on {dev}, but Z is on {want}: keep the device of Z"


def _shuffled(probe, cases: list, offset: int) -> list:
    """(where, the array returned, the whole reply) for each Z of ``cases``."""
    out = []
    for Z, got in paired(cases, probe.run("mutual_information.shuffle", cases=cases, check_seed=seed(offset)), "shuffle_reference"):
        where = f"shuffle_reference(Z of shape {Z.shape})"
        out.append((where, _shuffle_value(got, Z.shape, where), got))
    return out


def _orders(g: np.random.Generator, rho: float, n: int) -> list:
    """The same kind of data in random order, sorted by x, and sorted by y (descending)."""
    Z = pairs(g, rho, n)
    return [Z, Z[np.argsort(Z[:, 0], kind="stable")], Z[np.argsort(-Z[:, 1], kind="stable")]]


def shuffle_keeps_x(probe) -> None:
    """A new tensor of Z's dtype and device, the first column unchanged, row for row, for data in
    any order (float32 and float64); Z itself unchanged."""
    g = rng(71)
    cases = _orders(g, 0.8, int(g.integers(30, 300))) + [pairs(g, -0.6, 7)]
    cases.append(rng(180).standard_normal((int(g.integers(20, 60)), 2)))  # float64, all of its digits
    for Z, (where, value, got) in zip(cases, _shuffled(probe, cases, 71), strict=True):
        where = f"{where[:-1]}, {Z.dtype})"
        moved = int(np.sum(value[:, 0] != Z[:, 0]))
        assert moved == 0, (
            f"{where}: {moved} of {len(Z)} values of the first column (X) moved or changed; X stays as it is, row for "
            "row, and only the second column (Y) is shuffled"
        )
        _like_z(got, where)
        left_alone(got, where)


def shuffle_permutes_y(probe) -> None:
    """The second column holds exactly the values of Z's second column, in another order."""
    g = rng(72)
    cases = _orders(g, 0.7, int(g.integers(30, 300))) + [pairs(g, 0.5, 25)]
    for Z, (where, value, _) in zip(cases, _shuffled(probe, cases, 72), strict=True):
        assert np.array_equal(np.sort(value[:, 1]), np.sort(Z[:, 1])), (
            f"{where}: the second column does not hold the values of Z's second column: a permutation of them "
            "(not draws with replacement, not new samples) keeps the marginal of Y exactly"
        )
        # a random permutation of 25 or more rows is the identity with probability 1/25! < 1e-25
        assert not np.array_equal(value[:, 1], Z[:, 1]), f"{where}: the second column kept its order"


def shuffle_generator(probe) -> None:
    """The order comes from the generator passed in: the same state gives the same order, another
    state another order, and a second call with the same generator (advanced) another order."""
    Z = pairs(rng(90), 0.5, 60)
    got = entries(probe.run("mutual_information.shuffle_generator", Z=Z, check_seed=seed(90)), 4, "shuffle_reference")
    whats = ("with a generator seeded with s", "again with the same generator", "with a new generator seeded with s",
             "with a generator seeded with s + 1")
    first, again, same, other = (_shuffle_value(reply, Z.shape, f"shuffle_reference(Z, generator) {what}")[:, 1]
                                 for reply, what in zip(got, whats, strict=True))
    # each order is a random permutation of 60 rows: two agree by chance with probability 1/60! < 1e-81
    assert np.array_equal(first, same), (
        "shuffle_reference(Z, generator) gave two different orders for two generators in the same state (both "
        "seeded with the same s): draw the permutation from the generator passed in, "
        "torch.randperm(n, generator=generator), not from PyTorch's global generator"
    )
    assert not np.array_equal(first, other), (
        "shuffle_reference(Z, generator) gave the same order for generators seeded with s and with s + 1: the "
        "generator passed in is not used (a generator of your own with a fixed seed?)"
    )
    assert not np.array_equal(first, again), (
        "shuffle_reference(Z, generator) called twice with the same generator gave the same order twice: draw from "
        "the generator passed in, whose state advances with each draw (not from a new generator seeded from it)"
    )


# shuffle_independent: n = 20,000 pairs at rho = 0.95. For a random permutation the sample
# correlation of the shuffled pairs is about normal with sd 1/sqrt(n) = 0.0071; the band
# 6/sqrt(n) = 0.042 is 6 sd (a chance of 2e-9 per correlation, three per grading); over grading
# seeds 1..2000 the largest of the three was 0.027 at most. Pairing each row with a neighbour's
# y gives about rho = 0.95 on sorted data.
INDEPENDENT_N, INDEPENDENT_RHO = 20_000, 0.95
INDEPENDENT_TOL = 6 / math.sqrt(INDEPENDENT_N)


def shuffle_independent(probe) -> None:
    """The shuffled pairs are uncorrelated, for rows in random order, sorted by x, or sorted by y."""
    g = rng(73)
    cases = _orders(g, INDEPENDENT_RHO, INDEPENDENT_N)
    names = ("in random order", "sorted by x", "sorted by y")
    for order, (where, value, _) in zip(names, _shuffled(probe, cases, 73), strict=True):
        corr = float(np.corrcoef(value[:, 0].astype(np.float64), value[:, 1].astype(np.float64))[0, 1])
        assert abs(corr) <= INDEPENDENT_TOL, (
            f"{where}, rows {order} (the data have correlation {INDEPENDENT_RHO}): the shuffled pairs have correlation "
            f"{corr:+.3f}, not about 0 (tolerance {INDEPENDENT_TOL:.3f}). A fixed reordering (a shift, a reversal) "
            "pairs neighbours when the rows come sorted: draw a random permutation"
        )


# shuffle_dv: DV(t*) on Z (n = 1000 pairs, rho = 0.9) and the shuffled reference, ten data
# sets. Measured over 100,000 data sets with a random permutation: error (estimate - I) with
# mean -0.0017 (SE 0.0002), sd 0.064, median +0.0003, and a heavy lower tail (P(error < -0.3)
# = 1.7e-3, minimum -1.29: a shuffled pair in the thin band where e^t* is huge). The median of
# ten errors has sd about 1.25 x 0.064 / sqrt(10) = 0.025 and needs five errors in the tail to
# move far: P(five of ten below -0.15) < 1e-8. The band 0.15 is 6 sd; over grading seeds
# 1..2000, |median - bias| reached 0.086 at most. Reference samples drawn from P_XY itself
# (rows permuted whole, or Z returned) give errors about -1, far outside.
DV_N, DV_RHO, DV_SETS, DV_BIAS, DV_TOL = 1000, 0.9, 10, -0.002, 0.15


def shuffle_dv(probe) -> None:
    """With t*, DV on ten data sets and their shuffled references: the median error is near 0."""
    g = rng(74)
    cases = [pairs(g, DV_RHO, DV_N) for _ in range(DV_SETS)]
    errors = []
    for Z, (_, value, _) in zip(cases, _shuffled(probe, cases, 74), strict=True):
        errors.append(dv(t_star(Z.astype(np.float64), DV_RHO), t_star(value.astype(np.float64), DV_RHO)) - mi(DV_RHO))
    median = float(np.median(errors))
    assert abs(median - DV_BIAS) <= DV_TOL, (
        f"DV with t* on {DV_SETS} data sets of {DV_N} pairs (rho = {DV_RHO}, I = {mi(DV_RHO):.3f}) and their shuffled "
        f"references: median error {median:+.3f}, expected {DV_BIAS:+.3f} within {DV_TOL} (errors: "
        f"{', '.join(f'{e:+.2f}' for e in errors)}). Are the reference pairs (x_i, y_pi(i)) for a random permutation?"
    )


# --- the estimators on values ---------------------------------------------------------------

def _run(probe, name: str, cases: list, label) -> list:
    out = []
    for case, got in paired(cases, probe.run("mutual_information.values", name=name, cases=cases), name):
        where = label(case)
        out.append((case, where, _one_number(got, where), got))
    return out


def _one_number(got, where: str) -> float:
    """The number an estimator returned, NaN and infinities included (the callers word those)."""
    got = returned(got, where)
    assert "value" in got, f"{where} must return one number, got a {got.get('type')}"
    value = got["value"]
    if isinstance(value, np.ndarray):
        value = array(value, where, finite=False)
        assert value.size == 1, f"{where} must return one number, got a {got.get('type')} of shape {value.shape}"
        value = value.reshape(-1)[0]
    return number(value, where, finite=False)


def _connected(got: dict, where: str, grads: dict[str, np.ndarray]) -> None:
    """A tensor holding one number, the inputs left as they were, and the gradient of the formula
    (``grads``: input name -> the gradient of the formula, float64) reaching each input."""
    of_kind(got, {"Tensor": "a tensor holding one number (a network is trained with it)"}, where)
    numel = integer(field(got, "numel", where), f"{where}: its size")
    assert numel == 1, f"{where} must return a tensor holding one number, not {numel}"
    left_alone(got, where)
    reaches_each(got, tuple(grads), where)
    sent = mapping(field(got, "grads", where), f"{where}: the gradients")
    for name, want in grads.items():
        grad = array(field(sent, name, where), f"{where}: the gradient with respect to {name}", shape=want.shape)
        worst, scale = float(np.max(np.abs(grad - want))), float(np.max(np.abs(want)))
        # the answer's float32 gradient is off by float32 rounding, about 1e-6 of the largest entry; a term
        # cut from the graph (while another still reaches the input) is off by a good part of it
        assert worst <= 1e-4 * scale + 1e-12, (
            f"{where}: the gradient with respect to {name} is not the formula's (off by up to {worst:.3g}, where the "
            f"largest entry is {scale:.3g}): a term of the value is cut from the graph "
            "(.detach(), .item(), torch.no_grad()) while another still carries a gradient; keep every term a tensor "
            "operation on the inputs"
        )


def nwj_expected(t, t_ref) -> float:
    return float(np.mean(np.asarray(t, np.float64)) - np.mean(np.exp(np.asarray(t_ref, np.float64) - 1)))


def nwj_gradients(t, t_ref) -> dict[str, np.ndarray]:
    """The gradient of NWJ: 1/n for each t_i, -e^(t'_j - 1)/n' for each t'_j."""
    t, t_ref = np.asarray(t, np.float64), np.asarray(t_ref, np.float64)
    return {"t": np.full(t.shape, 1 / len(t)), "t_ref": -np.exp(t_ref - 1) / len(t_ref)}


def _nwj_label(case) -> str:
    return f"nwj(t of {len(case['args'][0])} values, t_ref of {len(case['args'][1])})"


def nwj_values(probe) -> None:
    """NWJ = mean t - mean e^(t' - 1), on t* + 1 (about D), t* (about D - 1/e) and other values; a tensor with
    the formula's gradient to t and to t_ref, which stay as they were."""
    g = rng(75)
    rho = float(g.uniform(0.3, 0.7))
    Z, Z_ref = pairs(g, rho, 3000), pairs(g, 0.0, 2000)
    t, t_ref = t_star(Z.astype(np.float64), rho), t_star(Z_ref.astype(np.float64), rho)
    cases = [{"args": [(t + 1).astype(np.float32), (t_ref + 1).astype(np.float32)], "what": "t* + 1", "aim": mi(rho)},
             {"args": [t.astype(np.float32), t_ref.astype(np.float32)], "what": "t*", "aim": mi(rho) - 1 / math.e},
             {"args": [g.normal(0.5, 1, 40).astype(np.float32), g.normal(1.0, 2, 60).astype(np.float32)],
              "what": "other critic values", "aim": None}]
    for case, where, value, got in _run(probe, "nwj", cases, _nwj_label):
        want = nwj_expected(*case["args"])
        aim = "" if case["aim"] is None else f" (an estimate of {case['aim']:.4f} = " + (
            "D" if case["what"] == "t* + 1" else "D - 1/e") + f" for rho = {rho:.3f})"
        if not math.isclose(value, want, rel_tol=1e-4, abs_tol=1e-5):
            t_, r_ = (np.asarray(a, np.float64) for a in case["args"])
            slips = {"mean t - mean e^t' (the -1 is missing)": t_.mean() - np.exp(r_).mean(),
                     "mean t - log mean e^(t' - 1): that is DV + 1, not NWJ": t_.mean() - lme(r_ - 1),
                     "mean t - mean e^(t' + 1)": t_.mean() - np.exp(r_ + 1).mean()}
            slip = next((s for s, v in slips.items() if math.isclose(value, v, rel_tol=1e-4, abs_tol=1e-5)), None)
            raise AssertionError(
                f"{where} with {case['what']} = {value:.6f}, but mean t - mean e^(t' - 1) is {want:.6f}{aim}"
                + (f": that is {slip}" if slip else "")
            )
        _connected(got, where, nwj_gradients(*case["args"]))


def nwj_below_dv(probe) -> None:
    """NWJ never exceeds DV, for any critic values: log s <= s / e."""
    g = rng(76)
    cases = []
    for shift, spread in ((-40.0, 3.0), (-2.0, 1.0), (0.0, 2.0), (1.0, 0.1), (2.5, 1.5), (15.0, 3.0)):
        cases.append({"args": [(g.normal(0, 1, int(g.integers(5, 200))) + shift).astype(np.float32),
                               (g.normal(0, spread, int(g.integers(5, 200))) + shift).astype(np.float32)]})
    for case, where, value, _ in _run(probe, "nwj", cases, _nwj_label):
        bound = dv(*case["args"])
        assert math.isfinite(value) and value <= bound + 1e-4 * (1 + abs(bound)), (
            f"{where} = {value:.6g}, above DV = {bound:.6g} of the same values: NWJ is never above DV, since "
            "log mean e^t' <= mean e^(t' - 1). Is the logarithm gone, and the -1 there?"
        )


# --- nwj_critic ----------------------------------------------------------------------------

def nwj_critic_optimal(probe) -> None:
    """The critic that maximises NWJ, t* + 1, exactly (to float32's rounding), on pairs of P and Q
    for several rho (negative too), float32 and float64: a tensor of shape (n,) of Z's dtype and
    device; Z unchanged."""
    g = rng(77)
    rho = float(g.uniform(0.3, 0.7))
    cases = [{"Z": pairs(g, rho, 500), "rho": rho}, {"Z": pairs(g, 0.0, 300), "rho": rho},
             {"Z": pairs(g, -0.8, 200).astype(np.float64), "rho": -0.8}, {"Z": pairs(g, 0.0, 200), "rho": 0.95},
             {"Z": pairs(g, 0.99, 3), "rho": 0.99}]
    got = entries(probe.run("mutual_information.critic", cases=cases), len(cases), "nwj_critic")
    for case, reply in zip(cases, got, strict=True):
        Z, r = case["Z"], case["rho"]
        where = f"nwj_critic(Z of shape {Z.shape}, {Z.dtype}, rho={r:.3f})"
        of_kind(reply, {"Tensor": "a tensor"}, where)
        value = array(field(reply, "value", where), where, finite=False)
        assert value.shape == (len(Z),), (
            f"{where} returned shape {value.shape}: one value per pair, shape ({len(Z)},) (OptimalCritic's output has "
            "shape (n, 1): squeeze the last axis)"
        )
        _like_z(reply, where)
        t = t_star(Z.astype(np.float64), r)
        # float32 rounding of t* (values up to about 40 here) is below 1e-5 relative; a wrong constant is off by 1/4 or more
        if not np.allclose(value, t + 1, rtol=1e-4, atol=1e-4):
            slips = {"t* itself: NWJ(t*) = D - 1/e, the DV optimum but not NWJ's": t,
                     "t* - 1: the sign of the constant": t - 1,
                     "t* + e": t + math.e, "e^(t*), a density ratio, not its logarithm plus 1": np.exp(t),
                     "p/q + 1 without the logarithm": np.exp(t) + 1}
            slip = next((s for s, v in slips.items() if np.allclose(value, v, rtol=1e-4, atol=1e-4)), None)
            worst = int(np.argmax(np.abs(value - (t + 1))))
            raise AssertionError(
                f"{where}: at the pair {Z[worst].tolist()} the value is {value[worst]:.5f}, but the maximiser of "
                f"p v - q e^(v - 1) there is {t[worst] + 1:.5f}" + (f": the answer is {slip}" if slip else "")
            )
        left_alone(reply, where)


def infonce_expected(S) -> float:
    S = np.asarray(S, np.float64)
    top = S.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(S - top).sum(axis=1))
    return float((np.diag(S) - lse).mean() + math.log(len(S)))


def infonce_gradients(S) -> dict[str, np.ndarray]:
    """The gradient of InfoNCE with respect to the scores: (1[i = j] - softmax_j(S_i.))/K."""
    S = np.asarray(S, np.float64)
    w = np.exp(S - S.max(axis=1, keepdims=True))
    return {"scores": (np.eye(len(S)) - w / w.sum(axis=1, keepdims=True)) / len(S)}


def _nce_label(case) -> str:
    return f"infonce(scores of shape {np.shape(case['args'][0])})"


def infonce_bound(probe) -> None:
    """InfoNCE never exceeds log K, for random scores of several K, and reaches it for a dominant diagonal."""
    g = rng(77)
    cases = [{"args": [(g.normal(0, 3, (K, K)) + g.normal(0, 2)).astype(np.float32)], "kind": "random"}
             for K in (2, 5, 16, 40)]
    for K in (3, 12):
        cases.append({"args": [(60 * np.eye(K) + g.normal(0, 1, (K, K))).astype(np.float32)], "kind": "diagonal"})
    for case, where, value, _ in _run(probe, "infonce", cases, _nce_label):
        K = len(case["args"][0])
        if case["kind"] == "random":
            assert math.isfinite(value) and value <= math.log(K) + 1e-4, (
                f"{where} = {value:.5f}, above log K = {math.log(K):.5f}: each term log(e^S_ii / mean_j e^S_ij) is at most "
                "log K. Is the log-sum-exp over the whole row, the diagonal included, and the average over the rows?"
            )
        else:
            assert abs(value - math.log(K)) <= 1e-3, (
                f"{where} = {value:.5f} for scores whose diagonal exceeds the rest by about 60: the critic always picks "
                f"the true partner, so InfoNCE should be log K = {math.log(K):.5f}. Is the + log K there?"
            )


def infonce_invariance(probe) -> None:
    """Shifting each row i of the scores by its own number g(x_i), up to +-120, leaves InfoNCE as it was."""
    g = rng(78)
    cases = []
    for K in (4, 16, 8):
        S = g.normal(0, 2, (K, K))
        shift = g.normal(0, 10, (K, 1)) if K != 8 else g.choice([-1.0, 1.0], (K, 1)) * g.uniform(100, 120, (K, 1))
        cases += [{"args": [S.astype(np.float32)]}, {"args": [(S + shift).astype(np.float32)]}]  # e^100 overflows float32
    got = _run(probe, "infonce", cases, _nce_label)
    for (case, where, plain, _), (_, _, shifted, _) in zip(got[::2], got[1::2], strict=True):
        assert math.isfinite(plain) and math.isfinite(shifted) and abs(plain - shifted) <= 1e-4 * (1 + abs(plain)), (
            f"{where}: adding a number g(x_i) to each row i changed InfoNCE from {plain:.5f} to {shifted:.5f}; it adds "
            "the same to S_ii and to the log-sum-exp of row i. Is the log-sum-exp over each row (dim=1), computed "
            "with logsumexp (e^S overflows float32 beyond S = 88)?"
        )


def infonce_extremes(probe) -> None:
    """Exactly the formula on scores far apart (a diagonal score 150 below its row's largest, whose
    softmax underflows float32, so log(softmax) is -inf and log(softmax + eps) is log eps) and on
    scores near +-200 (e^S overflows or underflows float32): only logsumexp (or log_softmax) holds."""
    g = rng(91)
    cases = [{"args": [g.normal(0, 40, (K, K)).astype(np.float32)], "what": "scores with sd 40"} for K in (8, 16)]
    S = g.normal(0, 1, (6, 6))
    S[np.diag_indices(6)] -= 150
    cases.append({"args": [S.astype(np.float32)], "what": "a diagonal 150 below the rest"})
    for shift in (200.0, -200.0):
        S = (g.normal(0, 2, (5, 5)) + shift).astype(np.float32)
        cases.append({"args": [S], "what": f"scores near {shift:+.0f}"})
    for case, where, value, _ in _run(probe, "infonce", cases, _nce_label):
        want = infonce_expected(case["args"][0])
        # float32 rounding of scores of size 200 is about 2e-5 on each S_ii - logsumexp_j S_ij
        assert math.isfinite(value) and math.isclose(value, want, rel_tol=1e-5, abs_tol=1e-3), (
            f"{where} on {case['what']} = {value:.5f}, the formula mean_i (S_ii - logsumexp_j S_ij) + log K gives "
            f"{want:.5f}. e^S overflows float32 beyond S = 88 and underflows below -103, and softmax(S) underflows "
            "to 0 where S_ii is far below its row's largest score: compute S_ii - logsumexp_j S_ij with "
            "torch.logsumexp (or log_softmax), not as the log of a softmax or of a ratio of exponentials"
        )


# infonce_optimal: exact, to float32 rounding, on 100 score matrices of t* at rho = 0.999, K = 16
# (pairs drawn here). Their average is about 2.29 (measured over 200,000 matrices: 2.291, SE
# 0.0004, sd of one matrix 0.18), below log 16 = 2.77 and I = 3.11: the message says so. The
# largest scores are those of close pairs, of size ~10; float32 carries them to ~1e-6, and the
# off-diagonal entries of order -1000 vanish in the log-sum-exp: 1e-4 leaves a wide margin.
NCE_RHO, NCE_K, NCE_MATRICES = 0.999, 16, 100


def infonce_optimal(probe) -> None:
    """Exactly the formula on score matrices of t* at rho = 0.999, K = 16 (about 2.29 on average); a tensor
    with the formula's gradient to the scores, which stay as they were."""
    g = rng(79)
    cases = []
    for _ in range(NCE_MATRICES):
        Z = pairs(g, NCE_RHO, NCE_K).astype(np.float64)
        grid = np.stack(np.broadcast_arrays(Z[:, None, 0], Z[None, :, 1]), axis=-1)  # grid[i, j] = (x_i, y_j)
        cases.append({"args": [t_star(grid, NCE_RHO).astype(np.float32)]})
    got = _run(probe, "infonce", cases, _nce_label)
    want = [infonce_expected(case["args"][0]) for case, *_ in got]
    values = [value for _, _, value, _ in got]
    worst = int(np.argmax(np.abs(np.subtract(values, want))))
    assert all(math.isclose(v, w, rel_tol=1e-5, abs_tol=1e-4) for v, w in zip(values, want, strict=True)), (
        f"on score matrices of t* at rho = {NCE_RHO}, K = {NCE_K}: one gave {values[worst]:.5f}, the formula "
        f"mean_i (S_ii - logsumexp_j S_ij) + log K gives {want[worst]:.5f} (averages: yours {np.mean(values):.3f}, "
        f"expected {np.mean(want):.3f}, about 2.29, below log K = {math.log(NCE_K):.3f} and I = {mi(NCE_RHO):.3f})"
    )
    for case, where, _, reply in got:
        _connected(reply, where, infonce_gradients(case["args"][0]))


def smile_expected(t, t_ref, tau: float) -> float:
    return dv(t, np.clip(np.asarray(t_ref, np.float64), -tau, tau))


def smile_gradients(t, t_ref, tau: float) -> dict[str, np.ndarray]:
    """The gradient of SMILE: 1/n for each t_i; for each t'_j, minus its softmax weight among the
    clipped values where it is inside (-tau, tau), 0 where it is clipped."""
    t, t_ref = np.asarray(t, np.float64), np.asarray(t_ref, np.float64)
    clipped = np.clip(t_ref, -tau, tau)
    w = np.exp(clipped - clipped.max())
    return {"t": np.full(t.shape, 1 / len(t)), "t_ref": -np.where(np.abs(t_ref) < tau, w / w.sum(), 0.0)}


def _smile_label(case) -> str:
    return f"smile(t of {len(case['args'][0])} values, t_ref of {len(case['args'][1])}, tau={case['tau']})"


def smile_dv_limit(probe) -> None:
    """With tau = infinity nothing is clipped: SMILE is the DV bound, also for values near +110 and -130,
    where e^t' overflows or underflows float32 (logsumexp, as the statement asks)."""
    g = rng(80)
    cases = [{"args": [(g.normal(0, 1, int(g.integers(5, 300))) + s).astype(np.float32),
                       (g.normal(0, 3, int(g.integers(5, 300))) + s).astype(np.float32)], "tau": math.inf}
             for s in (-30.0, 0.0, 2.0, 40.0, 110.0, -130.0)]
    for case, where, value, _ in _run(probe, "smile", cases, _smile_label):
        want = dv(*case["args"])
        assert math.isclose(value, want, rel_tol=1e-5, abs_tol=1e-4), (
            f"{where} = {value:.5f}, but with tau = inf nothing is clipped and SMILE is DV = {want:.5f}: mean t minus "
            "the log of the mean of e^t' (logsumexp - log n'; e^t' overflows float32 beyond t' = 88 and "
            "underflows below -103)"
        )


def smile_values(probe) -> None:
    """For finite tau, mean t - log mean e^clip(t', -tau, tau): only t' is clipped; a tensor with the
    formula's gradient to t and to t_ref, which stay as they were (clamp, not clamp_)."""
    g = rng(81)
    cases = [{"args": [g.normal(0.5, 2, int(g.integers(5, 200))).astype(np.float32),
                       g.normal(-1, 3, int(g.integers(5, 200))).astype(np.float32)], "tau": tau}
             for tau in (0.5, 1.0, 2.5, 5.0)]
    for case, where, value, got in _run(probe, "smile", cases, _smile_label):
        t, t_ref, tau = *case["args"], case["tau"]
        want = smile_expected(t, t_ref, tau)
        if not math.isclose(value, want, rel_tol=1e-5, abs_tol=1e-4):
            slips = {"DV: t' is not clipped": dv(t, t_ref),
                     "t clipped too: only the values on Q (t_ref) are": smile_expected(np.clip(t, -tau, tau), t_ref, tau),
                     "t' clipped from above only": dv(t, np.minimum(t_ref, tau))}
            slip = next((s for s, v in slips.items() if math.isclose(value, v, rel_tol=1e-5, abs_tol=1e-4)), None)
            raise AssertionError(f"{where} = {value:.5f}, expected {want:.5f}" + (f": that is {slip}" if slip else ""))
        _connected(got, where, smile_gradients(t, t_ref, tau))


# smile_variance: 200 data sets of n = n' = 1000 at rho = 0.95, t* with tau = 1, drawn in the
# kernel and drawn again here (nde_grader.harness.mutual_information.draw_sets, one CPU generator). The sd
# of SMILE over the data sets divided by that of DV over the same data sets, measured over 300
# repetitions: mean 0.566, sd 0.052, largest 0.675; over grading seeds 1..2000 with the course's
# answer: mean 0.572, sd 0.049, largest 0.695. The band 0.9 is 6.4 sd above the mean; an answer
# that ignores tau gives 1.0 exactly.
SPREAD_RHO, SPREAD_SETS, SPREAD_N, SPREAD_TAU, SPREAD_RATIO = 0.95, 200, 1000, 1.0, 0.9


def smile_variance(probe) -> None:
    """At rho = 0.95, SMILE with tau = 1 varies less than DV over data sets (critic t*): sd ratio below 0.9."""
    from ..harness.mutual_information import draw_sets

    offset = 82
    got = probe.run("mutual_information.smile_spread", rho=SPREAD_RHO, sets=SPREAD_SETS, n=SPREAD_N, tau=SPREAD_TAU,
                    check_seed=seed(offset))
    where = f"smile(t*(Z), t*(Z'), {SPREAD_TAU}) on {SPREAD_SETS} data sets"
    values = [_one_number(info, where) for info in entries(field(returned(got, where), "results", where), SPREAD_SETS,
                                                           where)]
    Z, Z_ref = (a.double().numpy() for a in draw_sets(SPREAD_RHO, SPREAD_SETS, SPREAD_N, seed(offset)))
    dvs = [dv(t_star(Z[s], SPREAD_RHO), t_star(Z_ref[s], SPREAD_RHO)) for s in range(SPREAD_SETS)]
    sd_smile, sd_dv = float(np.std(values)), float(np.std(dvs))
    assert np.all(np.isfinite(values)) and sd_smile < SPREAD_RATIO * sd_dv, (
        f"{where} (rho = {SPREAD_RHO}, n = n' = {SPREAD_N}): the sd of SMILE is {sd_smile:.4f}, that of DV on the same "
        f"data sets {sd_dv:.4f}; clipping t' at tau = {SPREAD_TAU} should bring it below {SPREAD_RATIO} times DV's "
        "(about 0.57 times). Is t_ref clipped to [-tau, tau]?"
    )


# --- smile_gap -----------------------------------------------------------------------------

def smile_gap_expected(t_ref, tau: float) -> float:
    """SMILE_tau(t*) - I = -log mean e^clip(t'), since E_P[t*] = I, in float64."""
    return float(-lme(np.clip(np.asarray(t_ref, np.float64), -tau, tau)))


def _gap_label(case) -> str:
    return f"smile_gap(t_ref of {len(case['args'][0])} values, tau={case['tau']})"


def smile_gap_values(probe) -> None:
    """-log of the mean of e^clip(t', -tau, tau), exactly, on values of t* under Q and on values
    far out (logsumexp), for finite and infinite tau: a tensor holding one number; t_ref unchanged."""
    g = rng(83)
    t_q = [t_star(pairs(g, 0.0, 4000).astype(np.float64), r).astype(np.float32) for r in (0.9, 0.99)]
    cases = [{"args": [t_q[0]], "tau": 1.0}, {"args": [t_q[1]], "tau": 1.0}, {"args": [t_q[1]], "tau": 2.5},
             {"args": [t_q[0]], "tau": math.inf},
             {"args": [(g.normal(0, 2, 50) + 100).astype(np.float32)], "tau": math.inf},
             {"args": [(g.normal(0, 2, 50) - 120).astype(np.float32)], "tau": math.inf},
             {"args": [(g.normal(0, 5, 80)).astype(np.float32)], "tau": 0.3}]
    for case, where, value, got in _run(probe, "smile_gap", cases, _gap_label):
        (t_ref,), tau = case["args"], case["tau"]
        want = smile_gap_expected(t_ref, tau)
        if not math.isclose(value, want, rel_tol=1e-4, abs_tol=1e-4):
            r = np.asarray(t_ref, np.float64)
            slips = {"+log mean e^clip(t'): the sign is flipped": -want,
                     "-log mean e^t' with nothing clipped": float(-lme(r)),
                     "-log mean e^min(t', tau): clipped from above only": float(-lme(np.minimum(r, tau))),
                     "-mean clip(t'), without the exponential and the logarithm": float(-np.mean(np.clip(r, -tau, tau))),
                     "the whole SMILE of the values t_ref, mean t' - log mean e^clip(t')":
                         float(np.mean(r) - lme(np.clip(r, -tau, tau)))}
            slip = next((s for s, v in slips.items() if math.isclose(value, v, rel_tol=1e-4, abs_tol=1e-4)), None)
            far = " (e^t' overflows or underflows float32 for these values: logsumexp)" if np.abs(r).max() > 80 else ""
            raise AssertionError(
                f"{where} = {value:.6g}, but SMILE_tau(t*) - I = -log mean e^clip(t', -tau, tau) is {want:.6g}{far}"
                + (f": that is {slip}" if slip else "")
            )
        of_kind(got, {"Tensor": "a tensor holding one number"}, where)
        numel = integer(field(got, "numel", where), f"{where}: its size")
        assert numel == 1, f"{where} must return a tensor holding one number, not {numel}"
        left_alone(got, where)
