"""Variants of the answers of 07_mutual_information (see tests/catalog/README.md)."""
from course.examples import Variant

V = Variant
NB = "07_mutual_information"
# Every test cell of this notebook names one answer only (tests/test_grading.py checks it):
# one submission may carry a variant of each answer cell.
SEPARATE_CELLS = True

SHUFFLE = "shuffle"
PERM = "    perm = torch.randperm(len(Z), generator=generator).to(Z.device)\n"
STACK = "    return torch.stack([Z[:, 0], Z[perm, 1]], dim=1)\n"
NWJ = "nwj"
NWJ_RET = "    return t.mean() - (t_ref - 1).exp().mean()\n"
NCE = "infonce"
NCE_RET = "    return (scores.diagonal() - scores.logsumexp(dim=1)).mean() + math.log(K)\n"
SMILE = "smile"
CLIP = "    clipped = t_ref.clamp(-tau, tau)\n"
SMILE_RET = "    return t.mean() - (clipped.logsumexp(0) - math.log(len(clipped)))\n"


def returns(old: str, expression: str) -> tuple[tuple[str, str], ...]:
    return ((old, f"    return {expression}\n"),)


VARIANTS = [
    # --- shuffle_reference: wrong ---------------------------------------------------------
    V("shuffle_whole_rows", NB, SHUFFLE,
      "permutes whole rows: the pairs stay pairs of P_XY, only their order changes",
      frozenset({"shuffle_keeps_x", "shuffle_independent", "shuffle_dv"}),
      edits=((STACK, "    return Z[perm]\n"),)),
    V("shuffle_x_instead", NB, SHUFFLE,
      "shuffles the first column and keeps the second: independent pairs too, but not the rule stated",
      frozenset({"shuffle_keeps_x", "shuffle_permutes_y"}),
      edits=((STACK, "    return torch.stack([Z[perm, 0], Z[:, 1]], dim=1)\n"),)),
    V("shuffle_with_replacement", NB, SHUFFLE,
      "indices drawn with replacement (a bootstrap): some y twice, some never",
      frozenset({"shuffle_permutes_y"}),
      edits=((PERM, "    perm = torch.randint(len(Z), (len(Z),), generator=generator).to(Z.device)\n"),)),
    V("shuffle_roll", NB, SHUFFLE,
      "a fixed shift by one row: fine for rows in random order, correlated pairs when the rows come sorted",
      frozenset({"shuffle_independent"}),
      edits=((STACK, "    return torch.stack([Z[:, 0], Z[:, 1].roll(1)], dim=1)\n"),)),
    V("shuffle_fresh_draws", NB, SHUFFLE,
      "new standard normal draws for y: right for this Gaussian only, the data's marginal is lost",
      frozenset({"shuffle_permutes_y"}),
      edits=((STACK, "    return torch.stack([Z[:, 0], torch.randn(len(Z), generator=generator).to(Z.device)], dim=1)\n"),)),
    V("shuffle_returns_copy", NB, SHUFFLE,
      "returns a copy of Z: the reference is P_XY itself",
      frozenset({"shuffle_permutes_y", "shuffle_independent", "shuffle_dv"}),
      edits=((STACK, "    return Z.clone()\n"),)),
    # --- shuffle_reference: correct -------------------------------------------------------
    V("shuffle_argsort", NB, SHUFFLE,
      "the permutation as the argsort of uniform draws",
      edits=((PERM, "    perm = torch.rand(len(Z), generator=generator).argsort().to(Z.device)\n"),)),
    V("shuffle_cat_columns", NB, SHUFFLE,
      "the two columns put together with torch.cat of slices",
      edits=((STACK, "    return torch.cat([Z[:, :1], Z[perm][:, 1:]], dim=1)\n"),)),
    # --- nwj: wrong -----------------------------------------------------------------------
    V("nwj_no_minus_one", NB, NWJ,
      "mean t - mean e^t': the -1 is missing (the optimal critic is then t*, not t* + 1)",
      frozenset({"nwj_values"}),
      edits=returns(NWJ_RET, "t.mean() - t_ref.exp().mean()")),
    V("nwj_log_mean", NB, NWJ,
      "keeps the log: mean t - log mean e^(t' - 1), which is DV + 1",
      frozenset({"nwj_values", "nwj_below_dv"}),
      edits=returns(NWJ_RET, "t.mean() - (t_ref - 1).exp().mean().log()")),
    V("nwj_plus_one", NB, NWJ,
      "e^(t' + 1) instead of e^(t' - 1)",
      frozenset({"nwj_values"}),
      edits=returns(NWJ_RET, "t.mean() - (t_ref + 1).exp().mean()")),
    V("nwj_sum", NB, NWJ,
      "the sum of e^(t' - 1) instead of its mean",
      frozenset({"nwj_values"}),
      edits=returns(NWJ_RET, "t.mean() - (t_ref - 1).exp().sum()")),
    V("nwj_returns_item", NB, NWJ,
      "returns a Python float: right value, nothing to train with",
      frozenset({"nwj_values"}),
      edits=returns(NWJ_RET, "(t.mean() - (t_ref - 1).exp().mean()).item()")),
    # --- nwj: correct ---------------------------------------------------------------------
    V("nwj_divided_by_e", NB, NWJ,
      "mean e^t' / e instead of mean e^(t' - 1)",
      edits=returns(NWJ_RET, "t.mean() - t_ref.exp().mean() / math.e")),
    V("nwj_torch_functions", NB, NWJ,
      "torch.mean and torch.exp instead of the methods",
      edits=returns(NWJ_RET, "torch.mean(t) - torch.mean(torch.exp(t_ref - 1))")),
    # --- infonce: wrong -------------------------------------------------------------------
    V("infonce_no_log_k", NB, NCE,
      "forgets + log K: the log-likelihood of the true partner, at most 0",
      frozenset({"infonce_bound", "infonce_optimal"}),
      edits=returns(NCE_RET, "(scores.diagonal() - scores.logsumexp(dim=1)).mean()")),
    V("infonce_wrong_axis", NB, NCE,
      "the log-sum-exp over each column (dim=0): invariant to g(y), not to g(x)",
      frozenset({"infonce_invariance", "infonce_optimal"}),
      edits=returns(NCE_RET, "(scores.diagonal() - scores.logsumexp(dim=0)).mean() + math.log(K)")),
    V("infonce_symmetric", NB, NCE,
      "the average of the row and the column versions (as in CLIP): not the bound stated",
      frozenset({"infonce_invariance", "infonce_optimal"}),
      edits=returns(NCE_RET, "(scores.diagonal() - 0.5 * (scores.logsumexp(dim=1) + scores.logsumexp(dim=0))).mean()"
                             " + math.log(K)")),
    V("infonce_mean_of_scores", NB, NCE,
      "the mean of the row instead of its log-sum-exp: no ceiling at log K",
      frozenset({"infonce_bound", "infonce_optimal"}),
      edits=returns(NCE_RET, "(scores.diagonal() - scores.mean(dim=1)).mean() + math.log(K)")),
    V("infonce_off_diagonal_denominator", NB, NCE,
      "the log-sum-exp over the other candidates only (j != i): unbounded",
      frozenset({"infonce_bound", "infonce_optimal"}),
      edits=((NCE_RET, "    others = scores.masked_fill(torch.eye(K, dtype=torch.bool, device=scores.device), -math.inf)\n"
                       "    return (scores.diagonal() - others.logsumexp(dim=1)).mean() + math.log(K - 1)\n"),)),
    V("infonce_naive_exp", NB, NCE,
      "e^S divided by the row's mean of e^S, then the log: overflows for large scores",
      frozenset({"infonce_invariance"}),
      edits=returns(NCE_RET, "(scores.diagonal().exp() / scores.exp().mean(dim=1)).log().mean()")),
    V("infonce_returns_item", NB, NCE,
      "returns a Python float: right value, nothing to train with",
      frozenset({"infonce_optimal"}),
      edits=returns(NCE_RET, "((scores.diagonal() - scores.logsumexp(dim=1)).mean() + math.log(K)).item()")),
    # --- infonce: correct -----------------------------------------------------------------
    V("infonce_cross_entropy", NB, NCE,
      "log K minus the cross-entropy of the rows with the diagonal as the labels",
      edits=returns(NCE_RET, "math.log(K) - torch.nn.functional.cross_entropy(scores, torch.arange(K, device=scores.device))")),
    V("infonce_log_softmax", NB, NCE,
      "the diagonal of log_softmax over the rows",
      edits=returns(NCE_RET, "torch.log_softmax(scores, dim=1).diagonal().mean() + math.log(K)")),
    # --- smile: wrong ---------------------------------------------------------------------
    V("smile_ignores_tau", NB, SMILE,
      "clips nothing: DV for every tau",
      frozenset({"smile_values", "smile_variance"}),
      edits=((CLIP, "    clipped = t_ref\n"),)),
    V("smile_clips_both", NB, SMILE,
      "clips t on the samples of P too",
      frozenset({"smile_values"}),
      edits=((SMILE_RET, "    return t.clamp(-tau, tau).mean() - (clipped.logsumexp(0) - math.log(len(clipped)))\n"),)),
    V("smile_clips_above_only", NB, SMILE,
      "clips t' from above only",
      frozenset({"smile_values"}),
      edits=((CLIP, "    clipped = t_ref.clamp(max=tau)\n"),)),
    V("smile_no_log_n", NB, SMILE,
      "the log of the sum of e^clip(t'), not of its mean: off by log n'",
      frozenset({"smile_dv_limit", "smile_values"}),
      edits=((SMILE_RET, "    return t.mean() - clipped.logsumexp(0)\n"),)),
    V("smile_returns_item", NB, SMILE,
      "returns a Python float: right value, nothing to train with",
      frozenset({"smile_values"}),
      edits=((SMILE_RET, "    return (t.mean() - (clipped.logsumexp(0) - math.log(len(clipped)))).item()\n"),)),
    # --- smile: correct -------------------------------------------------------------------
    V("smile_torch_clip", NB, SMILE,
      "torch.clip and torch.logsumexp instead of the methods",
      edits=((CLIP + SMILE_RET, "    clipped = torch.clip(t_ref, min=-tau, max=tau)\n"
                                "    return t.mean() - (torch.logsumexp(clipped, 0) - math.log(clipped.numel()))\n"),)),
    V("smile_through_dv", NB, SMILE,
      "the notebook's dv_of_values (your DV) on the clipped values",
      edits=((SMILE_RET, "    return dv_of_values(t, clipped)\n"),)),
]
