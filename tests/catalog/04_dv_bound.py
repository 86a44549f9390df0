"""Variants of the answer of 04_dv_bound (see tests/catalog/README.md).

The course's answer, for reference:

    t = net(Z).squeeze(-1)  # t(Z_i), shape (n,)
    t_ref = net(Z_ref).squeeze(-1)  # t(Z'_j), shape (n',)
    return t.mean() - (t_ref.logsumexp(0) - math.log(len(t_ref)))  # (a) - [(b) - (c)]
"""
from course.examples import Variant

V = Variant
NB, CELL = "04_dv_bound", "dv"
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
]
