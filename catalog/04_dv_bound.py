"""Variants of the answer of 04_dv_bound (see catalog/README.md).

The course's answer, for reference:

    t = net(Z).squeeze(-1)  # t(Z_i), shape (n,)
    t_ref = net(Z_ref).squeeze(-1)  # t(Z'_j), shape (n',)
    return t.mean() - (t_ref.logsumexp(0) - math.log(len(t_ref)))  # (a) - [(b) - (c)]
"""
from course.examples import Variant

V = Variant
NB, CELL = "04_dv_bound", "dv"
# No test cell of DV names dv_sd or adam_first_step, and none of theirs names DV
# (tests/test_grading.py checks it): one submission may carry a variant of each answer.
SEPARATE_CELLS = True
SD = "dv_sd"
VAR_P = "    var_p = rho**2  # Var_P(t*): t* = c + (rho / 2)(U^2 - V^2) with U, V independent N(0, 1)\n"
VAR_Q = "    var_q = rho**2 / (1 - rho**2)  # Var_Q(e^t*) = E_Q[e^2t*] - 1 = 1 / (1 - rho^2) - 1\n"
SD_RET = "    return math.sqrt(var_p / n + var_q / n_ref)\n"
ADAM = "adam_step"
ADAM_RET = "    return -lr * grad / (grad.abs() + eps)\n"


def adam_returns(body: str) -> tuple[tuple[str, str], ...]:
    """Edits that replace the return line of adam_first_step with ``body`` (indented code)."""
    return ((ADAM_RET, body),)
RETURN = "    return t.mean() - (t_ref.logsumexp(0) - math.log(len(t_ref)))  # (a) - [(b) - (c)]\n"


def returns(expression: str) -> tuple[tuple[str, str], ...]:
    """Edits that replace the answer's return line."""
    return ((RETURN, f"    return {expression}\n"),)


def whole(body: str) -> str:
    """A whole answer cell with ``body`` (indented code) as the function's body."""
    return (
        "def DV(Z, Z_ref, net):\n"
        '    """The sample DV bound: mean of t over Z, minus the log of the mean of e^t over Z_ref, for t = net."""\n'
        f"{body}\n\n"
        'if __name__ == "__main__":\n'
        '    print("DV of the untrained network:", DV(Z, Z_ref, net))\n'
    )


VARIANTS = [
    # --- wrong answers ---------------------------------------------------------------
    V("dv_without_log_n_ref", NB, CELL,
      "forgets (c): log of the sum instead of log of the mean, off by log n'",
      frozenset({"dv_value", "dv_constant"}),
      edits=returns("t.mean() - t_ref.logsumexp(0)")),
    V("dv_sign_flipped", NB, CELL,
      "returns the log mean exp of t(Z') minus the mean of t(Z): the negative bound (and its gradient)",
      frozenset({"dv_value", "dv_gradient"}),
      edits=returns("(t_ref.logsumexp(0) - math.log(len(t_ref))) - t.mean()")),
    V("dv_naive_exp_mean_log", NB, CELL,
      "right formula, computed as .exp().mean().log(): overflows for large t",
      frozenset({"dv_stability"}),
      edits=returns("t.mean() - t_ref.exp().mean().log()")),
    V("dv_naive_exp_sum_log", NB, CELL,
      ".exp().sum().log() without log n': overflows, and off by log n'",
      frozenset({"dv_value", "dv_stability", "dv_constant"}),
      edits=returns("t.mean() - t_ref.exp().sum().log()")),
    V("dv_log_n_instead_of_log_n_ref", NB, CELL,
      "subtracts log n (the size of Z) instead of log n' (the size of Z_ref)",
      frozenset({"dv_value", "dv_constant"}),
      edits=returns("t.mean() - (t_ref.logsumexp(0) - math.log(len(t)))")),
    V("dv_mean_of_t_ref", NB, CELL,
      "uses the mean of t(Z') instead of the log of the mean of e^t(Z') (so its gradient too)",
      frozenset({"dv_value", "dv_gradient"}),
      edits=returns("t.mean() - t_ref.mean()")),
    V("dv_returns_item", NB, CELL,
      "returns a Python float (.item()): right value, no gradient",
      frozenset({"dv_gradient"}),
      edits=returns("(t.mean() - (t_ref.logsumexp(0) - math.log(len(t_ref)))).item()")),
    V("dv_detached", NB, CELL,
      "detaches the result from the graph: right value, no gradient",
      frozenset({"dv_gradient"}),
      edits=returns("(t.mean() - (t_ref.logsumexp(0) - math.log(len(t_ref)))).detach()")),
    V("dv_under_no_grad", NB, CELL,
      "computes the bound inside torch.no_grad(): right value, no gradient",
      frozenset({"dv_gradient"}),
      code=whole(
          "    with torch.no_grad():\n"
          "        t, t_ref = net(Z).squeeze(-1), net(Z_ref).squeeze(-1)\n"
          "        return t.mean() - (t_ref.logsumexp(0) - math.log(len(t_ref)))\n"
      )),
    V("dv_logsumexp_over_outputs", NB, CELL,
      "keeps the (N, 1) shape and takes logsumexp over dim 1: no sum over the samples, many numbers",
      frozenset({"dv_value", "dv_stability", "dv_constant", "dv_gradient"}),
      code=whole(
          "    t, t_ref = net(Z), net(Z_ref)\n"
          "    return t.mean() - (t_ref.logsumexp(1) - math.log(len(t_ref)))\n"
      )),
    V("dv_detached_log_mean_exp", NB, CELL,
      "the right value, but the log-mean-exp term is detached: the network learns from (a) alone",
      frozenset({"dv_gradient"}),
      edits=returns("t.mean() - (t_ref.logsumexp(0) - math.log(len(t_ref))).detach()")),
    V("dv_shuffles_reference_in_place", NB, CELL,
      "shuffles the rows of Z_ref in place first (the order does not change the mean): right value and gradient, "
      "but the caller's Z_ref is changed",
      frozenset({"dv_value"}),
      edits=(("    t_ref = net(Z_ref).squeeze(-1)  # t(Z'_j), shape (n',)\n",
              "    Z_ref[:] = Z_ref[torch.randperm(len(Z_ref), device=Z_ref.device)]\n"
              "    t_ref = net(Z_ref).squeeze(-1)  # t(Z'_j), shape (n',)\n"),)),
    # --- correct alternatives ----------------------------------------------------------
    V("dv_torch_logsumexp_np_log", NB, CELL,
      "torch.logsumexp(t, 0) instead of the method, np.log for log n'",
      edits=(
          (RETURN, "    return t.mean() - (torch.logsumexp(t_ref, 0) - np.log(t_ref.shape[0]))\n"),
          ("def DV(Z, Z_ref, net):\n", "import numpy as np\n\n\ndef DV(Z, Z_ref, net):\n"),
      )),
    V("dv_torch_log_of_tensor", NB, CELL,
      "log n' as torch.log(torch.tensor(n')), a 0-dim tensor",
      edits=returns("t.mean() - (t_ref.logsumexp(0) - torch.log(torch.tensor(len(t_ref))))")),
    V("dv_max_subtracted_by_hand", NB, CELL,
      "log mean exp with the maximum subtracted by hand",
      code=whole(
          "    t = net(Z).squeeze(-1)\n"
          "    t_ref = net(Z_ref).squeeze(-1)\n"
          "    m = t_ref.max().detach()  # any constant works; detaching it changes no gradient\n"
          "    return t.mean() - (m + (t_ref - m).exp().mean().log())\n"
      )),
    V("dv_one_forward_pass", NB, CELL,
      "one call of net on the concatenation of Z and Z_ref, then split",
      code=whole(
          "    out = net(torch.cat([Z, Z_ref], dim=0)).flatten()\n"
          "    t, t_ref = out[: len(Z)], out[len(Z):]\n"
          "    return t.mean() - torch.logsumexp(t_ref, dim=0) + math.log(len(Z_ref))\n"
      )),
    V("dv_shape_one", NB, CELL,
      "keeps net's (N, 1) output: logsumexp over dim 0 gives shape (1,), returned as is",
      code=whole(
          "    avg_t = net(Z).mean()  # (a)\n"
          "    log_avg_exp_t_ref = net(Z_ref).logsumexp(dim=0) - math.log(Z_ref.shape[0])  # (b) - (c)\n"
          "    return avg_t - log_avg_exp_t_ref\n"
      )),
    V("dv_double_precision", NB, CELL,
      "computes the bound in float64 (t.double()): a float64 tensor, connected all the same",
      edits=(("    t = net(Z).squeeze(-1)  # t(Z_i), shape (n,)\n",
              "    t = net(Z).squeeze(-1).double()  # t(Z_i), shape (n,)\n"),
             ("    t_ref = net(Z_ref).squeeze(-1)  # t(Z'_j), shape (n',)\n",
              "    t_ref = net(Z_ref).squeeze(-1).double()  # t(Z'_j), shape (n',)\n"))),
    # --- dv_sd: wrong ------------------------------------------------------------------------
    V("dv_sd_variance", NB, SD,
      "returns the variance, not the standard deviation",
      frozenset({"dv_sd_values", "dv_sd_simulation"}),
      edits=((SD_RET, "    return var_p / n + var_q / n_ref\n"),)),
    V("dv_sd_no_reference_term", NB, SD,
      "keeps only the term of Z: the noise of the average of e^t* over Z' is left out",
      frozenset({"dv_sd_values", "dv_sd_simulation"}),
      edits=((SD_RET, "    return math.sqrt(var_p / n)\n"),)),
    V("dv_sd_second_moment", NB, SD,
      "E_Q[e^2t*] = 1/(1 - rho^2) used as the variance of e^t*, without subtracting (E_Q[e^t*])^2 = 1",
      frozenset({"dv_sd_values", "dv_sd_simulation"}),
      edits=((VAR_Q, "    var_q = 1 / (1 - rho**2)\n"),)),
    V("dv_sd_var_p_half", NB, SD,
      "Var_P(t*) = rho^2 / 2: the variance of only one of the two squares of t*",
      frozenset({"dv_sd_values", "dv_sd_simulation"}),
      edits=((VAR_P, "    var_p = rho**2 / 2\n"),)),
    V("dv_sd_swapped_sizes", NB, SD,
      "divides the variance of t* by n' and that of e^t* by n",
      frozenset({"dv_sd_values"}),
      edits=((SD_RET, "    return math.sqrt(var_p / n_ref + var_q / n)\n"),)),
    V("dv_sd_no_correction", NB, SD,
      "Var_Q(e^t*) = rho^2, as if it were Var_P(t*): misses the factor 1/(1 - rho^2)",
      frozenset({"dv_sd_values"}),
      edits=((VAR_Q, "    var_q = rho**2\n"),)),
    V("dv_sd_tensor", NB, SD,
      "computes with PyTorch and returns the 0-d tensor (float64, the right value): not a plain number",
      frozenset({"dv_sd_values"}),
      edits=((SD_RET, "    return torch.sqrt(torch.tensor(var_p / n + var_q / n_ref, dtype=torch.float64))\n"),)),
    V("dv_sd_array", NB, SD,
      "returns a NumPy array holding the one number: not a plain number",
      frozenset({"dv_sd_values"}),
      edits=((SD_RET, "    import numpy as np\n\n    return np.sqrt(np.array([var_p / n + var_q / n_ref]))\n"),)),
    # --- dv_sd: correct alternatives ---------------------------------------------------------
    V("dv_sd_through_e2d", NB, SD,
      "Var_Q(e^t*) = e^(2D) - 1 with D = -1/2 log(1 - rho^2), and NumPy's sqrt",
      edits=((VAR_Q, "    var_q = math.exp(-math.log(1 - rho**2)) - 1\n"),
             (SD_RET, "    import numpy as np\n\n    return np.sqrt(var_p / n + var_q / n_ref)\n"))),
    V("dv_sd_hypot", NB, SD,
      "math.hypot of the two standard deviations",
      edits=((SD_RET, "    return math.hypot(math.sqrt(var_p / n), math.sqrt(var_q / n_ref))\n"),)),
    V("dv_sd_torch_item", NB, SD,
      "computes with PyTorch in float64 and returns .item(), a float",
      edits=((SD_RET, "    return torch.tensor(var_p / n + var_q / n_ref, dtype=torch.float64).sqrt().item()\n"),)),
    # --- adam_first_step: wrong ----------------------------------------------------------------
    V("adam_plain_sgd", NB, ADAM,
      "-lr * grad: a step of plain gradient descent, not Adam's",
      frozenset({"adam_step_values", "adam_step_small_gradients"}),
      edits=adam_returns("    return -lr * grad\n")),
    V("adam_wrong_sign", NB, ADAM,
      "+lr g / (|g| + eps): the change climbs the loss",
      frozenset({"adam_step_values", "adam_step_small_gradients"}),
      edits=adam_returns("    return lr * grad / (grad.abs() + eps)\n")),
    V("adam_no_bias_correction", NB, ADAM,
      "m_1 / (sqrt(v_1) + eps) without the corrections 1 - beta^k: (1 - beta1) / sqrt(1 - beta2) times too large",
      frozenset({"adam_step_values", "adam_step_small_gradients"}),
      edits=adam_returns("    b1, b2 = betas\n"
                         "    return -lr * (1 - b1) * grad / (((1 - b2) * grad**2).sqrt() + eps)\n")),
    V("adam_sign_only", NB, ADAM,
      "-lr sign(g): right when |g| >> eps, but drops eps (a gradient of size eps moves by lr, not lr / 2)",
      frozenset({"adam_step_small_gradients"}),
      edits=adam_returns("    return -lr * torch.sign(grad)\n")),
    V("adam_eps_in_sqrt", NB, ADAM,
      "-lr g / sqrt(g^2 + eps): eps inside the square root",
      frozenset({"adam_step_small_gradients"}),
      edits=adam_returns("    return -lr * grad / (grad**2 + eps).sqrt()\n")),
    V("adam_ignores_eps", NB, ADAM,
      "hard-codes eps = 1e-8 whatever eps is given",
      frozenset({"adam_step_small_gradients"}),
      edits=adam_returns("    return -lr * grad / (grad.abs() + 1e-8)\n")),
    V("adam_in_place", NB, ADAM,
      "divides and scales grad in place (div_, mul_): the right change, but the caller's gradients are overwritten",
      frozenset({"adam_step_values"}),
      edits=adam_returns("    return grad.div_(grad.abs() + eps).mul_(-lr)\n")),
    V("adam_numpy", NB, ADAM,
      "computes with NumPy on grad.cpu().numpy(): the right change, but a NumPy array instead of a tensor",
      frozenset({"adam_step_values"}),
      edits=adam_returns("    import numpy as np\n\n"
                         "    g = grad.cpu().numpy()\n"
                         "    return -lr * g / (np.abs(g) + eps)\n")),
    # --- adam_first_step: correct alternatives ----------------------------------------------------
    V("adam_literal_recurrence", NB, ADAM,
      "the update rule written out for k = 1, bias corrections and all, without simplifying",
      edits=adam_returns("    b1, b2 = betas\n"
                         "    m, v = (1 - b1) * grad, (1 - b2) * grad**2\n"
                         "    m_hat, v_hat = m / (1 - b1), v / (1 - b2)\n"
                         "    return -lr * m_hat / (v_hat.sqrt() + eps)\n")),
    V("adam_asks_pytorch", NB, ADAM,
      "takes one step of torch.optim.Adam on a parameter at 0 with that gradient, and returns where it went",
      edits=adam_returns("    theta = torch.nn.Parameter(torch.zeros_like(grad))\n"
                         "    theta.grad = grad.clone()\n"
                         "    torch.optim.Adam([theta], lr=lr, betas=betas, eps=eps).step()\n"
                         "    return theta.detach()\n")),
    V("adam_float64", NB, ADAM,
      "computes in float64 (grad.double()) and returns that: a float64 tensor of the shape of grad",
      edits=adam_returns("    g = grad.double()\n"
                         "    return -lr * g / (g.abs() + eps)\n")),
]
