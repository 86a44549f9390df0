"""Checks of notebook 06: the minibatch bias of the DV gradient and MINE's moving average.

The critic of the notebook is t_c = c t*, whose DV objective has the closed form

    DV(c) = 1/2 log[(1 - c rho / (1 + rho)) (1 + c rho / (1 - rho))],

from t* = D + rho u^2 / (2(1 + rho)) - rho v^2 / (2(1 - rho)) in the rotated coordinates
u = (x + y)/sqrt 2, v = (x - y)/sqrt 2 (independent standard normal under Q) and
E[e^(s W^2)] = (1 - 2s)^(-1/2). One check, one property:

- ``dv_scaled_values``:   the closed form, for unseen rho (negative too) and c, numbers and arrays (1- and
                          2-dim); a number for a number c, a NumPy array of c's shape for an array c, the
                          array c left as it was;
- ``dv_scaled_optimum``:  DV(0) = 0, DV(1) = D and DV'(1) = 0;
- ``naive_grad_values``:  the per-batch derivative of the minibatch objective, exactly, on critic
                          values the check chose, with the batch's normaliser and with m (a number, a
                          0-dim tensor, a tensor of shape (1,)), for c = 0 and negative c, one batch (k = 1)
                          too; a tensor (or NumPy array) of shape (k,); t, t_ref and m left as they were;
- ``naive_grad_bias``:    on t* at c = 1 over many batches: the naive gradient is biased upwards,
                          the gradient with the true normaliser m = 1 is not (bands from the SE);
- ``mine_loss_gradient``: autograd through mine_loss gives -mean grad t + mean(e^t' grad t')/m on a
                          small network (m 0-dim or of shape (1,)); a gradient reaches each of t and t_ref
                          (autograd per input); t, t_ref and m left as they were;
- ``mine_loss_detached``: the same when m is still connected to the network's graph;
- ``average_update``:     the moving average's first value and update, exactly (alpha = 1 and batches of
                          one value too), a detached one-number tensor, m and t_ref left as they were.

The exact checks compare float32 results with float64 arithmetic: no statistics, no flakes.
"""
from __future__ import annotations

import math

import numpy as np

from ..oracle import mi
from . import (array, field, flag, integer, left_alone, mapping, number, of_kind, pairs, reaches_each, returned, rng,
               seed)


def dv_closed(c, rho: float):
    """The DV objective of the critic c t*, in closed form (elementwise in c)."""
    c = np.asarray(c, dtype=np.float64)
    return 0.5 * np.log((1 - c * rho / (1 + rho)) * (1 + c * rho / (1 - rho)))


def domain(rho: float) -> tuple[float, float]:
    """The open interval of c where E_Q[e^(c t*)] is finite (both factors positive): 1 -+ 1/|rho|."""
    return 1 - 1 / abs(rho), 1 + 1 / abs(rho)


def _scaled_slips(c, rho: float) -> dict:
    D = mi(rho)
    c = np.asarray(c, dtype=np.float64)
    return {
        "without the factor 1/2": 2 * dv_closed(c, rho),
        "c D: the log of E_Q[e^(c t*)] is not c log E_Q[e^t*] (= 0)": c * D,
        "(1 + rho) and (1 - rho) swapped": 0.5 * np.log((1 - c * rho / (1 - rho)) * (1 + c * rho / (1 + rho))),
        "the sign of the log flipped": -dv_closed(c, rho),
    }


# What dv_scaled may return: for a number c a number (a Python float, a NumPy scalar, or a
# 0-dim array as np.vectorize gives), for a NumPy array of c a NumPy array of its shape. A
# tensor or a list is not what "elementwise with np.log, like ground_truth" gives.
NUMBER_KINDS = {"float": "a number (a float", "numpy.float64": "np.float64", "numpy.float32": "np.float32",
                "ndarray": "a 0-dim NumPy array)"}
ARRAY_KINDS = {"ndarray": "a NumPy array of the shape of c (elementwise, with np.log)"}


def _scaled(probe, calls: list, kinds: bool = False) -> list:
    """(where, value) of each call of dv_scaled: a float for a number c, an array for an array c.
    With ``kinds``, also what came back must be of the kind the statement asks for, and the
    array c must be left as it was."""
    out = []
    for call, got in pairs(calls, probe.run("minibatch_bias.scaled", calls=calls), "dv_scaled"):
        c = call["c"]
        is_array = isinstance(c, list)
        shape = np.shape(c)
        where = (f"dv_scaled(a NumPy array of c of shape {shape}, {call['rho']:.4f})" if is_array
                 else f"dv_scaled({c:.4f}, {call['rho']:.4f})")
        if "raised" in mapping(got, where):
            hint = " (math.log works on single numbers only: use np.log)" if is_array else ""
            raise AssertionError(f"{where} raised {got['raised']}{hint}")
        if kinds:
            of_kind(got, ARRAY_KINDS if is_array else NUMBER_KINDS, where)
            left_alone(got, where)
        assert "value" in got, (
            f"{where} must return a number (or a NumPy array for an array of c), got a {got.get('type')}"
        )
        value = got["value"]
        value = array(value, where, finite=False) if isinstance(value, np.ndarray) else number(value, where, finite=False)
        if is_array:
            assert value.shape == shape, (
                f"{where} must return one value per c, an array of shape {shape}, got shape {value.shape}: "
                "work elementwise, with np.log"
            )
        else:
            assert np.ndim(value) == 0, f"{where} must return one number, got shape {np.shape(value)}"
            value = float(value)
        out.append((where, value))
    return out


def dv_scaled_values(probe) -> None:
    """dv_scaled equals the closed form for unseen rho (negative too) and c in the domain, numbers and arrays."""
    g = rng(61)
    calls = []
    for rho in (*g.uniform(0.1, 0.97, 3), *g.uniform(-0.95, -0.2, 2)):
        lo, hi = domain(float(rho))
        lo, hi = max(lo, -3.0), min(hi, 3.0)
        inner = lambda u: lo + (hi - lo) * (0.05 + 0.9 * u)  # noqa: E731 (stay 5% inside the domain)
        calls.append({"c": float(inner(g.random())), "rho": float(rho)})
        calls.append({"c": [float(inner(u)) for u in g.random(4)], "rho": float(rho)})
    calls.append({"c": [[float(inner(u)) for u in row] for row in g.random((2, 3))], "rho": float(rho)})  # 2-dim c
    for call, (where, value) in zip(calls, _scaled(probe, calls, kinds=True), strict=True):
        want = dv_closed(call["c"], call["rho"])
        if np.allclose(value, want, rtol=1e-9, atol=1e-12):
            continue
        with np.errstate(all="ignore"):  # a slip may take the log of a negative number
            slips = _scaled_slips(call["c"], call["rho"])
        slip = next((s for s, v in slips.items() if np.allclose(value, v, rtol=1e-6, atol=1e-9)), None)
        raise AssertionError(
            f"{where} = {np.round(value, 6).tolist()}, but the DV objective of c t* is {np.round(want, 6).tolist()}"
            + (f": that is {slip}" if slip else ": check E_Q[e^(c t*)] = e^(cD) (1 - c rho/(1+rho))^(-1/2) (1 + c rho/(1-rho))^(-1/2)")
        )


# The derivative at c = 1 by a central difference of the student's values, h = 1e-4. The
# closed form is even about c = 1: with c = 1 + x the two factors multiply to
# (1 - rho^2 x^2) / (1 - rho^2), so DV(1 + x) = D + 1/2 log(1 - rho^2 x^2), and the difference
# quotient of the right answer is 0 up to float64 rounding, 1e-16 / 1e-4 = 1e-12. A slip such
# as c D has slope D there, far above the tolerance 1e-5.
H, SLOPE_TOL = 1e-4, 1e-5


def dv_scaled_optimum(probe) -> None:
    """DV(0) = 0, DV(1) = D and the derivative at c = 1 is 0, for unseen rho."""
    g = rng(62)
    rhos = [float(g.uniform(0.3, 0.9)), float(-g.uniform(0.3, 0.9)), float(g.uniform(0.05, 0.3))]
    calls = [{"c": c, "rho": rho} for rho in rhos for c in (0.0, 1.0, 1 - H, 1 + H)]
    got = [value for _, value in _scaled(probe, calls)]
    for i, rho in enumerate(rhos):
        at0, at1, below, above = got[4 * i : 4 * i + 4]
        assert all(math.isfinite(v) for v in (at0, at1, below, above)), (
            f"dv_scaled at c = 0, 1 and 1 +- {H} for rho = {rho:.4f} gave {[at0, at1, below, above]}: the objective "
            "is finite there"
        )
        D = mi(rho)
        assert abs(at0) <= 1e-12, f"dv_scaled(0, {rho:.4f}) = {at0:.6g}: the constant critic 0 has objective 0 - log 1 = 0"
        assert abs(at1 - D) <= 1e-9, (
            f"dv_scaled(1, {rho:.4f}) = {at1:.6g}, but c = 1 is t* itself, whose objective is D = {D:.6g}"
        )
        slope = (above - below) / (2 * H)
        assert abs(slope) <= SLOPE_TOL, (
            f"the slope of dv_scaled at c = 1 for rho = {rho:.4f} is {slope:.4g} (from c = 1 +- {H}), but t* maximises "
            "the objective, so the derivative there is 0: your formula is not the DV objective of c t*"
        )


# --- naive_grad --------------------------------------------------------------------------

def expected_grads(t, t_ref, c: float, m) -> np.ndarray:
    """d/dc of each batch's objective, in float64: mean t - sum_j e^(c t'_j) t'_j / (sum or b' m)."""
    t, t_ref = np.asarray(t, np.float64), np.asarray(t_ref, np.float64)
    if m is None:
        w = np.exp(c * t_ref - (c * t_ref).max(axis=1, keepdims=True))
        return t.mean(axis=1) - (w * t_ref).sum(axis=1) / w.sum(axis=1)
    return t.mean(axis=1) - (np.exp(c * t_ref) * t_ref).mean(axis=1) / m


def _grad_slips(t, t_ref, c: float, m) -> dict:
    t, t_ref = np.asarray(t, np.float64), np.asarray(t_ref, np.float64)
    return {
        "the negative of the derivative": -expected_grads(t, t_ref, c, m),
        "the derivative at c = 1 (is c used in the weights e^(c t')?)": expected_grads(t, t_ref, 1.0, m),
        "mean t - mean t': the weights e^(c t') are missing": t.mean(axis=1) - t_ref.mean(axis=1),
        "the gradient with the batch's normaliser: m is ignored": expected_grads(t, t_ref, c, None),
    }


def _per_batch(got, where: str, k: int) -> np.ndarray:
    """The k values naive_grad returned: a tensor (or a NumPy array: the notebook reads it with
    torch.as_tensor) of shape (k,)."""
    of_kind(got, {"Tensor": f"one value per batch, a tensor of shape ({k},)", "ndarray": "a NumPy array of that shape"},
            where)
    value = field(got, "value", where)
    assert np.shape(value) == (k,), (
        f"{where} must return one value per batch, shape ({k},), got shape {tuple(np.shape(value))}"
        + (": k = 1 is one batch, still shape (1,) (squeeze() drops it)" if k == 1 else "")
    )
    return array(value, where, (k,), finite=False)


M_TEXT = {"float": "{}", "tensor": "torch.tensor({})", "tensor (1,)": "torch.tensor([{}])"}


def naive_grad_values(probe) -> None:
    """naive_grad is the per-batch derivative of the minibatch objective, with the batch's normaliser or with m
    (a number, a 0-dim tensor or a tensor of shape (1,)), for any c and k (1 too); t and t_ref left as they were."""
    g = rng(63)
    cases = []
    for c, m, kind in ((1.0, None, "float"), (0.6, None, "float"), (1.4, None, "float"), (1.0, 1.0, "float"),
                       (1.2, 2.5, "tensor"), (0.8, 0.4, "float")):
        k, b, b_ref = int(g.integers(3, 8)), int(g.integers(2, 20)), int(g.integers(2, 20))
        cases.append({"t": g.normal(0.5, 1.0, (k, b)).astype(np.float32),
                      "t_ref": g.normal(-0.5, 1.5, (k, b_ref)).astype(np.float32), "c": c, "m": m, "m_kind": kind})
    g = rng(68)  # one batch (k = 1), c = 0 (uniform weights); a negative c with m of shape (1,)
    for k, c, m, kind in ((1, 0.0, None, "float"), (int(g.integers(3, 8)), -0.4, 0.7, "tensor (1,)")):
        b, b_ref = int(g.integers(2, 20)), int(g.integers(2, 20))
        cases.append({"t": g.normal(0.5, 1.0, (k, b)).astype(np.float32),
                      "t_ref": g.normal(-0.5, 1.5, (k, b_ref)).astype(np.float32), "c": c, "m": m, "m_kind": kind})
    for case, got in pairs(cases, probe.run("minibatch_bias.naive", cases=cases), "naive_grad"):
        k, b = case["t"].shape
        m_text = "None" if case["m"] is None else M_TEXT[case["m_kind"]].format(case["m"])
        where = f"naive_grad(t of shape ({k}, {b}), t_ref of shape {case['t_ref'].shape}, c={case['c']}, m={m_text})"
        value = _per_batch(returned(got, where), where, k)
        left_alone(got, where)
        want = expected_grads(case["t"], case["t_ref"], case["c"], case["m"])
        if np.allclose(value, want, rtol=1e-4, atol=1e-5):  # float32 sums of a few values of size ~5
            continue
        slip = next((s for s, v in _grad_slips(case["t"], case["t_ref"], case["c"], case["m"]).items()
                     if np.allclose(value, v, rtol=1e-4, atol=1e-5)), None)
        raise AssertionError(
            f"{where} = {np.round(value, 5).tolist()}, but the derivatives of the batches' objectives are "
            f"{np.round(want, 5).tolist()}" + (f": that is {slip}" if slip else "")
        )


# naive_grad_bias: k = 16,384 batches of |B| = |B'| = 16 at rho = 0.5 (a correlation the
# notebook's table does not show), t* at c = 1, drawn in the kernel from the check's seed.
# - With the true normaliser m = E_Q[e^t*] = 1 the batch gradient mean t - mean(e^t' t') is
#   unbiased; its sd is sqrt(Var_P(t*)/b + Var_Q(e^t* t*)/b') = 0.282 in closed form
#   (Var_P(t*) = rho^2, E_Q[e^2t* t*^2] from the moment generating function of t* under Q,
#   see true_m_sd), so the mean of k batches has SE 0.0022; band 5 SE. Over grading seeds
#   1..2000 (the course's answer, LocalProbe) |mean| / SE averaged 0.78 and reached 3.81 at
#   most: the tail of e^t* is light enough at rho = 0.5 (index 3) for the normal band.
# - The naive gradient's bias there is 0.0216 (sd over those 1500 gradings 0.0016); its sample
#   SE is 0.0016, so it sits 13.4 SE above 0 on average, 9.4 at the least over grading seeds
#   1..2000; the check asks for more than 5. Slips: a flipped sign gives -13 SE, m ignored gives a
#   "true normaliser" mean of 0.022 = 10 SE.
BIAS_RHO, BIAS_K, BIAS_SIZE, BIAS_BAND = 0.5, 16_384, 16, 5.0


def true_m_sd(rho: float, b: int, b_ref: int) -> float:
    """sd of one batch's gradient mean t* - mean(e^t* t*) (m = 1, c = 1), in closed form.

    log E_Q[e^(s t*)] = s D - 1/2 log(1 - s a) - 1/2 log(1 + s b) with a = rho/(1+rho),
    b = rho/(1-rho); E_Q[e^(2t*) t*^2] is its moment generating function's second derivative at 2.
    """
    D = mi(rho)
    a, bb, s = rho / (1 + rho), rho / (1 - rho), 2.0
    M = math.exp(s * D) / math.sqrt((1 - s * a) * (1 + s * bb))
    d1 = D + a / (2 * (1 - s * a)) - bb / (2 * (1 + s * bb))
    d2 = a**2 / (2 * (1 - s * a) ** 2) + bb**2 / (2 * (1 + s * bb) ** 2)
    var_q = M * (d2 + d1**2) - D**2  # Var_Q(e^t* t*) = E_Q[e^2t* t*^2] - (E_Q[e^t* t*])^2, E_Q[e^t* t*] = D
    return math.sqrt(rho**2 / b + var_q / b_ref)


def naive_grad_bias(probe) -> None:
    """At c = 1 over many batches: the naive gradient is biased upwards, the one with m = 1 is not (bands from the SE)."""
    got = probe.run("minibatch_bias.bias", rho=BIAS_RHO, k=BIAS_K, size=BIAS_SIZE, check_seed=seed(64))
    grads = {}
    for name, label in (("naive", "naive_grad(t, t_ref)"), ("true_m", "naive_grad(t, t_ref, m=1.0)")):
        info = mapping(field(got, name, "naive_grad"), label)
        assert "raised" not in info, f"{label} raised {info['raised']} on {BIAS_K} batches of {BIAS_SIZE}"
        value = _per_batch(info, f"{label} on {BIAS_K} batches", BIAS_K)
        assert np.isfinite(value).all(), (
            f"{label} gave {int(np.sum(~np.isfinite(value)))} values that are NaN or infinite on {BIAS_K} batches "
            f"of {BIAS_SIZE} samples of t* at c = 1"
        )
        grads[name] = value.astype(np.float64)
    naive, true_m = grads["naive"], grads["true_m"]
    se = naive.std(ddof=1) / math.sqrt(BIAS_K)
    assert naive.mean() > BIAS_BAND * se, (
        f"at rho = {BIAS_RHO}, c = 1, {BIAS_K} batches of {BIAS_SIZE}: the naive gradient averages {naive.mean():+.4f} "
        f"(SE {se:.4f}), but the minibatch bias makes it positive, about +0.022: check the sign and the weights"
    )
    se_m = true_m_sd(BIAS_RHO, BIAS_SIZE, BIAS_SIZE) / math.sqrt(BIAS_K)
    assert abs(true_m.mean()) <= BIAS_BAND * se_m, (
        f"with m = 1 (the true normaliser at c = 1) the gradient averages {true_m.mean():+.4f} over {BIAS_K} batches, "
        f"but it is unbiased: expected 0 within {BIAS_BAND:.0f} standard errors ({BIAS_BAND * se_m:.4f}). Is m used in "
        "place of the batch's mean of e^(c t')?"
    )


# --- mine_loss -----------------------------------------------------------------------------

def _network(g: np.random.Generator, hidden: int = 6) -> dict:
    return {"W1": g.normal(0, 0.8, (hidden, 2)).astype(np.float32), "b1": g.normal(0, 0.3, hidden).astype(np.float32),
            "W2": g.normal(0, 0.8, (1, hidden)).astype(np.float32), "b2": g.normal(0, 0.3, 1).astype(np.float32)}


def expected_mine_grads(weights: dict, Z, Z_ref, m: float, loss: str = "mine") -> dict:
    """Gradients of the parameters of the small network, in float64: of -mean t + mean e^t' / m
    (m held fixed), or of -DV on the batch (loss="dv", to name a slip)."""
    import torch

    params = {k: torch.tensor(np.asarray(v, np.float64), requires_grad=True) for k, v in weights.items()}

    def net(z):
        z = torch.tensor(np.asarray(z, np.float64))
        return (torch.tanh(z @ params["W1"].T + params["b1"]) @ params["W2"].T + params["b2"]).squeeze(-1)

    t, t_ref = net(Z), net(Z_ref)
    if loss == "mine":
        value = -t.mean() + t_ref.exp().mean() / m
    else:
        value = -(t.mean() - (t_ref.logsumexp(0) - math.log(len(t_ref))))
    value.backward()
    names = {"W1": "fc1.weight", "b1": "fc1.bias", "W2": "fc2.weight", "b2": "fc2.bias"}
    return {names[k]: p.grad.numpy() for k, p in params.items()}


def case_m(case: dict) -> float:
    """The value of m the harness gives mine_loss: the case's number, or (attached) a + b * mean of
    e^net(Z_m), computed here in float64."""
    if not case.get("attached"):
        return float(np.float32(case["m"]))
    w = {k: np.asarray(v, np.float64) for k, v in case["weights"].items()}
    t = np.tanh(np.asarray(case["attached"]["Z_m"], np.float64) @ w["W1"].T + w["b1"]) @ w["W2"].T + w["b2"]
    return case["attached"]["a"] + case["attached"]["b"] * float(np.exp(t).mean())


def _mine_cases(g: np.random.Generator, attached: bool) -> list:
    cases = []
    for n, n_ref in ((7, 5), (12, 16)):
        case = {"weights": _network(g), "Z": g.normal(0, 1, (n, 2)).astype(np.float32),
                "Z_ref": g.normal(0, 1, (n_ref, 2)).astype(np.float32), "m": float(g.uniform(0.5, 3.0))}
        if attached:
            case["attached"] = {"a": float(g.uniform(0.2, 1.0)), "b": float(g.uniform(0.2, 1.0)),
                                "Z_m": g.normal(0, 1, (9, 2)).astype(np.float32)}
        elif n == 12:
            case["m_shape"] = [1]  # "a tensor holding one number": of shape (1,) too
        cases.append(case)
    return cases


def _close(got: dict, want: dict) -> bool:
    return all(got[k] is not None and np.allclose(got[k], v, rtol=1e-4, atol=1e-6) for k, v in want.items())


def _grads(got: dict, want: dict, what: str) -> dict:
    """The gradients of the small network's parameters (None where a parameter got none), of the shapes of ``want``."""
    grads = mapping(field(got, "params", f"mine_loss ({what})"), f"the gradients of mine_loss ({what})")
    out = {}
    for name, v in want.items():
        grad = field(grads, name, f"the gradients of mine_loss ({what})")
        out[name] = None if grad is None else array(grad, f"the gradient of {name} ({what})", v.shape, finite=False)
    return out


def _mine_run(probe, cases: list, what: str) -> list:
    """(case, m, reply) of each case: mine_loss returned a tensor holding one number, with a gradient
    to each of t and t_ref (by autograd, per input), and left its arguments as they were."""
    out = []
    for case, got in pairs(cases, probe.run("minibatch_bias.mine", cases=cases), "mine_loss"):
        where = f"mine_loss ({what})"
        of_kind(got, {"Tensor": "a tensor holding one number"}, where)
        assert integer(field(got, "numel", where), f"{where}: its size") == 1, (
            f"{where} must return a tensor holding one number, got one of shape {tuple(got.get('shape', ()))}"
        )
        assert flag(field(got, "requires_grad", where), f"{where}: requires_grad of the loss"), (
            f"the loss is cut off from the network (.item(), .detach() or NumPy?) ({what})"
        )
        reaches_each(got, ("t", "t_ref"), where)
        left_alone(got, where)
        out.append((case, case_m(case), got))
    return out


def mine_loss_gradient(probe) -> None:
    """Autograd through mine_loss gives -mean grad t + mean(e^t' grad t') / m on a small network."""
    g = rng(65)
    for case, m, got in _mine_run(probe, _mine_cases(g, attached=False), "m a plain tensor"):
        want = expected_mine_grads(case["weights"], case["Z"], case["Z_ref"], m)
        grads = _grads(got, want, "m a plain tensor")
        if _close(grads, want):
            continue
        flipped = {k: -v for k, v in want.items()}
        batch = expected_mine_grads(case["weights"], case["Z"], case["Z_ref"], m, loss="dv")
        slip = ("its negative: the loss is minimised, so it is -mean t + mean e^t' / m" if _close(grads, flipped)
                else "the gradient of -DV on the batch: m must replace the batch's mean of e^t' in the denominator"
                if _close(grads, batch) else None)
        raise AssertionError(
            f"on a small network (batches of {len(case['Z'])} and {len(case['Z_ref'])}, m = {m:.4f}), the gradient "
            "of mine_loss is not -mean grad t + mean(e^t' grad t') / m" + (f": it is {slip}" if slip else "")
        )


def mine_loss_detached(probe) -> None:
    """With m still connected to the network's graph, the gradient is that of m held fixed."""
    g = rng(66)
    for case, m, got in _mine_run(probe, _mine_cases(g, attached=True), "m connected to the network"):
        want = expected_mine_grads(case["weights"], case["Z"], case["Z_ref"], m)
        assert _close(_grads(got, want, "m connected to the network"), want), (
            f"m = {m:.4f} was computed from the network's outputs, and the gradient of mine_loss changed: "
            "gradients flowed through m. Detach it (m.detach()) inside the loss"
        )


# --- update_average --------------------------------------------------------------------------

def average_update(probe) -> None:
    """The first batch gives its mean of e^t'; later ones (1 - alpha) m + alpha mean e^t' (alpha = 1 and a batch
    of one value too); a one-number tensor without gradient history; m and t_ref left as they were."""
    g = rng(67)
    calls = [{"m": None, "t_ref": g.normal(0, 1.2, 9).astype(np.float32), "alpha": 0.05}]
    for alpha in (0.01, 0.2, 0.5):
        calls.append({"m": float(g.uniform(0.3, 3.0)), "t_ref": g.normal(-0.3, 1.0, int(g.integers(3, 30))).astype(np.float32),
                      "alpha": alpha})
    g = rng(69)  # the ends: a first batch of one value, alpha = 1 (m forgotten), a batch of one value
    calls += [{"m": None, "t_ref": g.normal(0, 1.0, 1).astype(np.float32), "alpha": 0.01},
              {"m": float(g.uniform(0.3, 3.0)), "t_ref": g.normal(0.5, 1.0, 6).astype(np.float32), "alpha": 1.0},
              {"m": float(g.uniform(0.3, 3.0)), "t_ref": g.normal(0.5, 1.0, 1).astype(np.float32), "alpha": 0.3}]
    for call, got in pairs(calls, probe.run("minibatch_bias.average", calls=calls), "update_average"):
        m_text = "None" if call["m"] is None else f"torch.tensor({call['m']:.4f})"
        where = f"update_average({m_text}, t_ref of {len(call['t_ref'])} values, {call['alpha']})"
        of_kind(got, {"Tensor": "a tensor holding one number"}, where)
        assert integer(field(got, "numel", where), f"{where}: its size") == 1, (
            f"{where} must return a tensor holding one number, got one of shape {tuple(got.get('shape', ()))}"
        )
        batch_mean = float(np.exp(np.asarray(call["t_ref"], np.float64)).mean())
        want = batch_mean if call["m"] is None else (1 - call["alpha"]) * call["m"] + call["alpha"] * batch_mean
        value = array(field(got, "value", where), where, finite=False)
        value = float(value.reshape(-1)[0]) if value.size == 1 else math.nan
        assert math.isclose(value, want, rel_tol=1e-5, abs_tol=1e-7), (
            f"{where} = {value:.6g}, expected {want:.6g}: "
            + ("the first average is the batch's mean of e^t_ref" if call["m"] is None
               else f"(1 - alpha) m + alpha x (the batch's mean of e^t_ref, here {batch_mean:.6g})")
        )
        assert not flag(field(got, "requires_grad", where), f"{where}: requires_grad"), (
            f"{where} carries gradient history: detach it (or compute it under no_grad)"
        )
        left_alone(got, where)
