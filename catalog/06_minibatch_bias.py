"""Variants of the answers of 06_minibatch_bias (see catalog/README.md)."""
from course.examples import Variant

V = Variant
NB = "06_minibatch_bias"
# Every test cell of this notebook names one answer only (tests/test_grading.py checks it):
# one submission may carry a variant of each answer cell.
SEPARATE_CELLS = True

SCALED = "dv_scaled"
SCALED_RET = "    return 0.5 * np.log((1 - c * rho / (1 + rho)) * (1 + c * rho / (1 - rho)))\n"
GRAD = "naive_grad"
GRAD_NAIVE = (
    "        weights = torch.softmax(c * t_ref, dim=1)  # e^(c t'_j) / sum_l e^(c t'_l), per batch\n"
    "        return t.mean(dim=1) - (weights * t_ref).sum(dim=1)\n"
)
GRAD_M = "    return t.mean(dim=1) - (torch.exp(c * t_ref) * t_ref).mean(dim=1) / m\n"
MINE = "mine_loss"
MINE_RET = "    return -t.mean() + t_ref.exp().mean() / m.detach()\n"
AVG = "update_average"
AVG_MEAN = "    batch_mean = t_ref.detach().exp().mean()\n"
AVG_RET = "    return batch_mean if m is None else (1 - alpha) * m + alpha * batch_mean\n"


def scaled(expression: str) -> tuple[tuple[str, str], ...]:
    return ((SCALED_RET, f"    return {expression}\n"),)


def mine(expression: str) -> tuple[tuple[str, str], ...]:
    return ((MINE_RET, f"    return {expression}\n"),)


# the gradient by autograd: one copy of c per batch, the batch objectives summed
GRAD_AUTOGRAD = ("        pass\n"
                 "    scale = torch.full((t.shape[0], 1), float(c), device=t.device, requires_grad=True)\n"
                 "    with torch.enable_grad():\n"
                 "        if m is None:\n"
                 "            second = (scale * t_ref).logsumexp(dim=1)\n"
                 "        else:\n"
                 "            second = (scale * t_ref).exp().mean(dim=1) / m\n"
                 "        objective = (scale * t).mean(dim=1) - second\n"
                 "        (grad,) = torch.autograd.grad(objective.sum(), scale)\n")

VARIANTS = [
    # --- dv_scaled: wrong ----------------------------------------------------------------
    V("dv_scaled_no_half", NB, SCALED,
      "log of the product without the factor 1/2: twice the objective",
      frozenset({"dv_scaled_values", "dv_scaled_optimum"}),
      edits=scaled("np.log((1 - c * rho / (1 + rho)) * (1 + c * rho / (1 - rho)))")),
    V("dv_scaled_linear", NB, SCALED,
      "log E_Q[e^(c t*)] taken as c log E_Q[e^t*] = 0: DV(c) = c D, right at 0 and 1, slope D at c = 1",
      frozenset({"dv_scaled_values", "dv_scaled_optimum"}),
      edits=scaled("c * (-0.5 * np.log(1 - rho**2))")),
    V("dv_scaled_swapped", NB, SCALED,
      "(1 + rho) and (1 - rho) swapped in the two factors",
      frozenset({"dv_scaled_values", "dv_scaled_optimum"}),
      edits=scaled("0.5 * np.log((1 - c * rho / (1 - rho)) * (1 + c * rho / (1 + rho)))")),
    V("dv_scaled_math_log", NB, SCALED,
      "math.log: right for numbers, fails on an array of c",
      frozenset({"dv_scaled_values"}),
      edits=scaled("0.5 * math.log((1 - c * rho / (1 + rho)) * (1 + c * rho / (1 - rho)))")),
    V("dv_scaled_list", NB, SCALED,
      "math.log in a list comprehension for an array of c: a list back, not an array",
      frozenset({"dv_scaled_values"}),
      edits=((SCALED_RET,
              "    if np.ndim(c) == 0:\n"
              "        return 0.5 * math.log((1 - c * rho / (1 + rho)) * (1 + c * rho / (1 - rho)))\n"
              "    return [0.5 * math.log((1 - x * rho / (1 + rho)) * (1 + x * rho / (1 - rho))) for x in c]\n"),)),
    V("dv_scaled_torch", NB, SCALED,
      "torch.log of a float64 tensor: the right values, but a tensor back, for numbers and arrays of c",
      frozenset({"dv_scaled_values"}),
      edits=scaled("0.5 * torch.log(torch.as_tensor((1 - c * rho / (1 + rho)) * (1 + c * rho / (1 - rho)), "
                   "dtype=torch.float64))")),
    V("dv_scaled_in_place", NB, SCALED,
      "c *= rho: the right values, but the caller's array of c is scaled in place",
      frozenset({"dv_scaled_values"}),
      edits=((SCALED_RET, "    c *= rho\n"
                          "    return 0.5 * np.log((1 - c / (1 + rho)) * (1 + c / (1 - rho)))\n"),)),
    # --- dv_scaled: correct --------------------------------------------------------------
    V("dv_scaled_symmetric", NB, SCALED,
      "the form symmetric about c = 1: D + 1/2 log(1 - rho^2 (c - 1)^2)",
      edits=scaled("-0.5 * np.log(1 - rho**2) + 0.5 * np.log(1 - rho**2 * (c - 1) ** 2)")),
    V("dv_scaled_two_logs", NB, SCALED,
      "the sum of two logs instead of the log of a product",
      edits=scaled("0.5 * (np.log(1 - c * rho / (1 + rho)) + np.log(1 + c * rho / (1 - rho)))")),
    V("dv_scaled_vectorize", NB, SCALED,
      "math.log on one c, np.vectorize for arrays (a 0-dim array back for a number)",
      edits=((SCALED_RET,
              "    one = lambda x: 0.5 * math.log((1 - x * rho / (1 + rho)) * (1 + x * rho / (1 - rho)))  # noqa: E731\n"
              "    return np.vectorize(one)(c)\n"),)),
    V("dv_scaled_log1p", NB, SCALED,
      "c made a float64 array first, the product multiplied out inside np.log1p",
      edits=((SCALED_RET,
              "    c = np.asarray(c, dtype=np.float64)\n"
              "    a, b = rho / (1 + rho), rho / (1 - rho)\n"
              "    return 0.5 * np.log1p(c * (b - a) - c * c * a * b)\n"),)),
    # --- naive_grad: wrong ---------------------------------------------------------------
    V("naive_grad_sign_flipped", NB, GRAD,
      "the negative of the derivative (the loss's gradient, not the bound's)",
      frozenset({"naive_grad_values", "naive_grad_bias"}),
      edits=((GRAD_NAIVE, "        weights = torch.softmax(c * t_ref, dim=1)\n"
                          "        return (weights * t_ref).sum(dim=1) - t.mean(dim=1)\n"),
             (GRAD_M, "    return (torch.exp(c * t_ref) * t_ref).mean(dim=1) / m - t.mean(dim=1)\n"))),
    V("naive_grad_without_c", NB, GRAD,
      "weights e^(t') instead of e^(c t'): right at c = 1 only",
      frozenset({"naive_grad_values"}),
      edits=((GRAD_NAIVE, "        weights = torch.softmax(t_ref, dim=1)\n"
                          "        return t.mean(dim=1) - (weights * t_ref).sum(dim=1)\n"),
             (GRAD_M, "    return t.mean(dim=1) - (torch.exp(t_ref) * t_ref).mean(dim=1) / m\n"))),
    V("naive_grad_unweighted", NB, GRAD,
      "mean t - mean t': the derivative of the log-mean-exp taken as the plain mean",
      frozenset({"naive_grad_values"}),
      edits=((GRAD_NAIVE, "        return t.mean(dim=1) - t_ref.mean(dim=1)\n"),)),
    V("naive_grad_ignores_m", NB, GRAD,
      "always the batch's own normaliser: m is ignored, so the gradient with m = 1 stays biased",
      frozenset({"naive_grad_values", "naive_grad_bias"}),
      edits=((GRAD_M, "    return t.mean(dim=1) - (torch.softmax(c * t_ref, dim=1) * t_ref).sum(dim=1)\n"),)),
    V("naive_grad_sum_with_m", NB, GRAD,
      "with m: the sum over the batch of e^(c t') t' divided by m, not its mean",
      frozenset({"naive_grad_values", "naive_grad_bias"}),
      edits=((GRAD_M, "    return t.mean(dim=1) - (torch.exp(c * t_ref) * t_ref).sum(dim=1) / m\n"),)),
    V("naive_grad_one_number", NB, GRAD,
      "averages over all batches: one number instead of one value per batch",
      frozenset({"naive_grad_values", "naive_grad_bias"}),
      edits=((GRAD_NAIVE, "        weights = torch.softmax(c * t_ref, dim=1)\n"
                          "        return (t.mean(dim=1) - (weights * t_ref).sum(dim=1)).mean()\n"),
             (GRAD_M, "    return (t.mean(dim=1) - (torch.exp(c * t_ref) * t_ref).mean(dim=1) / m).mean()\n"))),
    V("naive_grad_scales_t_ref_in_place", NB, GRAD,
      "with m: t_ref.mul_(c) scales the caller's t_ref in place (the values are right)",
      frozenset({"naive_grad_values"}),
      edits=((GRAD_M, "    ct = t_ref.mul_(c)\n"
                      "    return t.mean(dim=1) - (torch.exp(ct) * ct).mean(dim=1) / (c * m)\n"),)),
    V("naive_grad_squeezed", NB, GRAD,
      "autograd with .squeeze(): one batch (k = 1) gives a 0-dim tensor, not shape (1,)",
      frozenset({"naive_grad_values"}),
      edits=((GRAD_NAIVE + GRAD_M,
              GRAD_AUTOGRAD + "    return grad.squeeze()\n"),)),
    V("naive_grad_list", NB, GRAD,
      "a list of k numbers: the notebook's torch.as_tensor reads it, but the result has no shape (k,)",
      frozenset({"naive_grad_values", "naive_grad_bias"}),
      edits=((GRAD_NAIVE, "        weights = torch.softmax(c * t_ref, dim=1)\n"
                          "        return (t.mean(dim=1) - (weights * t_ref).sum(dim=1)).tolist()\n"),
             (GRAD_M, "    return (t.mean(dim=1) - (torch.exp(c * t_ref) * t_ref).mean(dim=1) / m).tolist()\n"))),
    # --- naive_grad: correct -------------------------------------------------------------
    V("naive_grad_autograd", NB, GRAD,
      "autograd: one copy of c per batch, the batch objectives summed, torch.autograd.grad",
      edits=((GRAD_NAIVE + "    return t.mean(dim=1) - (torch.exp(c * t_ref) * t_ref).mean(dim=1) / m\n",
              GRAD_AUTOGRAD + "    return grad.squeeze(1)\n"),)),
    V("naive_grad_exp_ratio", NB, GRAD,
      "the ratio of the two sums written out with torch.exp instead of softmax",
      edits=((GRAD_NAIVE, "        e = torch.exp(c * t_ref)\n"
                          "        return t.mean(dim=1) - (e * t_ref).sum(dim=1) / e.sum(dim=1)\n"),)),
    V("naive_grad_max_shift", NB, GRAD,
      "the weights with the row's maximum subtracted by hand instead of softmax",
      edits=((GRAD_NAIVE, "        s = c * t_ref\n"
                          "        e = torch.exp(s - s.max(dim=1, keepdim=True).values)\n"
                          "        return t.mean(dim=1) - (e * t_ref).sum(dim=1) / e.sum(dim=1)\n"),)),
    V("naive_grad_numpy_float64", NB, GRAD,
      "NumPy in float64 (max-shifted weights), a NumPy array back; float(m) for a number or a tensor",
      edits=((GRAD_NAIVE + GRAD_M,
              "        pass\n"
              "    t, t_ref = t.double().cpu().numpy(), t_ref.double().cpu().numpy()\n"
              "    if m is None:\n"
              "        w = np.exp(c * t_ref - (c * t_ref).max(axis=1, keepdims=True))\n"
              "        return t.mean(axis=1) - (w * t_ref).sum(axis=1) / w.sum(axis=1)\n"
              "    return t.mean(axis=1) - (np.exp(c * t_ref) * t_ref).mean(axis=1) / float(m)\n"),)),
    # --- mine_loss: wrong ----------------------------------------------------------------
    V("mine_no_detach", NB, MINE,
      "m used as it is: when it is connected to the network, gradients flow through it",
      frozenset({"mine_loss_detached"}),
      edits=mine("-t.mean() + t_ref.exp().mean() / m")),
    V("mine_batch_normaliser", NB, MINE,
      "divides by the batch's own mean of e^t': the second term's gradient vanishes",
      frozenset({"mine_loss_gradient", "mine_loss_detached"}),
      edits=mine("-t.mean() + t_ref.exp().mean() / t_ref.exp().mean()")),
    V("mine_dv_loss", NB, MINE,
      "returns -DV of the batch: the naive loss, m unused",
      frozenset({"mine_loss_gradient", "mine_loss_detached"}),
      edits=mine("-(t.mean() - (t_ref.logsumexp(0) - math.log(len(t_ref))))")),
    V("mine_sign_flipped", NB, MINE,
      "mean t - mean e^t' / m: the bound instead of the loss, so training goes the wrong way",
      frozenset({"mine_loss_gradient", "mine_loss_detached"}),
      edits=mine("t.mean() - t_ref.exp().mean() / m.detach()")),
    V("mine_returns_item", NB, MINE,
      "returns a Python float (.item()): no gradient at all",
      frozenset({"mine_loss_gradient", "mine_loss_detached"}),
      edits=mine("(-t.mean() + t_ref.exp().mean() / m.detach()).item()")),
    V("mine_t_ref_term_item", NB, MINE,
      "the second term taken with .item(): no gradient reaches t_ref",
      frozenset({"mine_loss_gradient", "mine_loss_detached"}),
      edits=mine("-t.mean() + t_ref.exp().mean().item() / m.item()")),
    V("mine_t_ref_term_no_grad", NB, MINE,
      "the second term computed under torch.no_grad(): no gradient reaches t_ref",
      frozenset({"mine_loss_gradient", "mine_loss_detached"}),
      edits=((MINE_RET, "    with torch.no_grad():\n"
                        "        second = t_ref.exp().mean() / m\n"
                        "    return -t.mean() + second\n"),)),
    V("mine_t_term_item", NB, MINE,
      "the first term taken with .item(): no gradient reaches t",
      frozenset({"mine_loss_gradient", "mine_loss_detached"}),
      edits=mine("-t.mean().item() + t_ref.exp().mean() / m.detach()")),
    # --- mine_loss: correct --------------------------------------------------------------
    V("mine_loss_with_constants", NB, MINE,
      "adds log m - 1 (the tangent bound of the log): the same gradient, a value comparable with -DV",
      edits=mine("-t.mean() + t_ref.exp().mean() / m.detach() + m.detach().log() - 1")),
    V("mine_loss_float_m", NB, MINE,
      "float(m) instead of m.detach(): a plain number carries no gradient either",
      edits=mine("-t.mean() + t_ref.exp().mean() / float(m)")),
    V("mine_loss_float64", NB, MINE,
      "the loss computed in float64",
      edits=mine("-t.double().mean() + t_ref.double().exp().mean() / m.detach().double()")),
    V("mine_loss_m_under_no_grad", NB, MINE,
      "a copy of m taken under torch.no_grad() in place of m.detach()",
      edits=((MINE_RET, "    with torch.no_grad():\n"
                        "        fixed = m.clone()\n"
                        "    return -t.mean() + t_ref.exp().mean() / fixed\n"),)),
    # --- update_average: wrong -----------------------------------------------------------
    V("average_swapped_weights", NB, AVG,
      "alpha m + (1 - alpha) mean: the average forgets almost at once",
      frozenset({"average_update"}),
      edits=((AVG_RET, "    return batch_mean if m is None else alpha * m + (1 - alpha) * batch_mean\n"),)),
    V("average_of_t", NB, AVG,
      "averages t' instead of e^t'",
      frozenset({"average_update"}),
      edits=((AVG_MEAN, "    batch_mean = t_ref.detach().mean()\n"),)),
    V("average_starts_at_zero", NB, AVG,
      "starts from m = 0 instead of the first batch's mean: the first averages are far too small",
      frozenset({"average_update"}),
      edits=((AVG_RET, "    return (1 - alpha) * (0.0 if m is None else m) + alpha * batch_mean\n"),)),
    V("average_not_detached", NB, AVG,
      "right value, but it keeps the graph of every batch (gradient history)",
      frozenset({"average_update"}),
      edits=((AVG_MEAN, "    batch_mean = t_ref.exp().mean()\n"),)),
    V("average_returns_item", NB, AVG,
      "returns a Python float instead of a tensor holding one number",
      frozenset({"average_update"}),
      edits=((AVG_RET, "    return (batch_mean if m is None else (1 - alpha) * m + alpha * batch_mean).item()\n"),)),
    V("average_in_place", NB, AVG,
      "m.mul_(1 - alpha).add_(...): the right value, but the caller's m is updated in place",
      frozenset({"average_update"}),
      edits=((AVG_RET, "    return batch_mean if m is None else m.mul_(1 - alpha).add_(alpha * batch_mean)\n"),)),
    V("average_exp_in_place", NB, AVG,
      "t_ref.detach().exp_(): the detached tensor shares t_ref's memory, so t_ref itself becomes e^t_ref",
      frozenset({"average_update"}),
      edits=((AVG_MEAN, "    batch_mean = t_ref.detach().exp_().mean()\n"),)),
    # --- update_average: correct ---------------------------------------------------------
    V("average_under_no_grad", NB, AVG,
      "under torch.no_grad(), written as m + alpha (mean - m)",
      edits=((AVG_MEAN + AVG_RET,
              "    with torch.no_grad():\n"
              "        batch_mean = torch.exp(t_ref).mean()\n"
              "        return batch_mean if m is None else m + alpha * (batch_mean - m)\n"),)),
    V("average_lerp", NB, AVG,
      "torch.lerp(m, batch_mean, alpha)",
      edits=((AVG_RET, "    return batch_mean if m is None else torch.lerp(m, batch_mean, alpha)\n"),)),
    V("average_float64", NB, AVG,
      "the batch's mean of e^t_ref in float64 (a float64 tensor back)",
      edits=((AVG_MEAN, "    batch_mean = t_ref.detach().double().exp().mean()\n"),)),
]
