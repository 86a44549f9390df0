"""Variants of the answers of 08_staircase (see catalog/README.md)."""
from course.examples import Variant

NB = "08_staircase"
SEPARATE_CELLS = True

RHO = "    rho = np.sqrt(-np.expm1(-2 * np.asarray(info, dtype=np.float64) / d))\n"
RETURN_RHO = "    return float(rho) if np.ndim(info) == 0 else rho\n"
EPS = "    eps = torch.randn(n, d, generator=generator)\n"
Y = "    return x, rho * x + math.sqrt(1 - rho**2) * eps\n"
SCORES = "    return g(x) @ h(y).T\n"

VARIANTS = [
    # --- wrong answers: rho_for_mi ------------------------------------------------------
    Variant("rho_no_half", NB, "rho_for_mi", "solves I = -d log(1 - rho^2): the factor 1/2 dropped",
            frozenset({"rho_for_mi_values"}),
            edits=((RHO, "    rho = np.sqrt(-np.expm1(-np.asarray(info, dtype=np.float64) / d))\n"),)),
    Variant("rho_ignores_d", NB, "rho_for_mi", "the correlation of one pair carrying all of I: d forgotten",
            frozenset({"rho_for_mi_values"}),
            edits=((RHO, "    rho = np.sqrt(-np.expm1(-2 * np.asarray(info, dtype=np.float64)))\n"),)),
    Variant("rho_squared", NB, "rho_for_mi", "returns rho^2, the square root forgotten",
            frozenset({"rho_for_mi_values"}),
            edits=((RHO, "    rho = -np.expm1(-2 * np.asarray(info, dtype=np.float64) / d)\n"),)),
    Variant("rho_math_only", NB, "rho_for_mi", "math.sqrt and math.exp: right for numbers, fails on arrays",
            frozenset({"rho_for_mi_values"}),
            edits=((RHO + RETURN_RHO, "    return math.sqrt(1 - math.exp(-2 * info / d))\n"),)),
    Variant("rho_float32", NB, "rho_for_mi", "float32 arrays: the values rounded to 7 digits",
            frozenset({"rho_for_mi_values"}),
            edits=((RETURN_RHO, "    return float(rho) if np.ndim(info) == 0 else rho.astype(np.float32)\n"),)),
    Variant("rho_zero_d_array", NB, "rho_for_mi", "a 0-d array, not a float, for a number",
            frozenset({"rho_for_mi_values"}),
            edits=((RETURN_RHO, "    return np.asarray(rho)\n"),)),
    # --- wrong answers: staircase_pairs -------------------------------------------------
    Variant("pairs_global_stream", NB, "staircase_pairs", "draws the noise from the global stream, not the generator",
            frozenset({"pairs_shapes_seeded"}),
            edits=((EPS, "    eps = torch.randn(n, d)\n"),)),
    Variant("pairs_float64", NB, "staircase_pairs", "float64 tensors",
            frozenset({"pairs_shapes_seeded", "pairs_moments"}),
            edits=(("    x = torch.randn(n, d, generator=generator)\n",
                    "    x = torch.randn(n, d, generator=generator, dtype=torch.float64)\n"),
                   (EPS, "    eps = torch.randn(n, d, generator=generator, dtype=torch.float64)\n"))),
    Variant("pairs_no_sqrt", NB, "staircase_pairs", "y = rho x + (1 - rho^2) eps: the variance of y is not 1",
            frozenset({"pairs_moments"}),
            edits=((Y, "    return x, rho * x + (1 - rho**2) * eps\n"),)),
    Variant("pairs_shared_noise", NB, "staircase_pairs", "one noise number per row, shared by all coordinates of y",
            frozenset({"pairs_moments"}),
            edits=((EPS, "    eps = torch.randn(n, 1, generator=generator)\n"),)),
    Variant("pairs_noise_is_x", NB, "staircase_pairs", "the same generator state for x and the noise: eps = x",
            frozenset({"pairs_moments"}),
            edits=((EPS, "    eps = x.clone()\n"),)),
    Variant("pairs_mixed_coordinates", NB, "staircase_pairs", "y_k built from x_{k+1}: the partners are shifted",
            frozenset({"pairs_moments"}),
            edits=((Y, "    return x, rho * x.roll(1, dims=1) + math.sqrt(1 - rho**2) * eps\n"),)),
    # --- wrong answers: separable_scores ------------------------------------------------
    Variant("scores_transposed", NB, "separable_scores", "h(y) g(x)^T: the (K', K) matrix",
            frozenset({"scores_values", "scores_gradient"}),
            edits=((SCORES, "    return h(y) @ g(x).T\n"),)),
    Variant("scores_swapped_networks", NB, "separable_scores", "h(x) g(y)^T: each network on the other side",
            frozenset({"scores_values", "scores_once", "scores_gradient"}),
            edits=((SCORES, "    return (h(x) @ g(y).T)\n"),)),
    Variant("scores_cosine", NB, "separable_scores", "normalises the embeddings: cosine similarities",
            frozenset({"scores_values", "scores_gradient"}),
            edits=((SCORES, "    gx, hy = g(x), h(y)\n"
                            "    return (gx / gx.norm(dim=1, keepdim=True)) @ (hy / hy.norm(dim=1, keepdim=True)).T\n"),)),
    Variant("scores_pair_loop", NB, "separable_scores", "right values, but the networks run once per pair",
            frozenset({"scores_once"}),
            edits=((SCORES, "    return torch.stack([torch.stack([g(x[i]) @ h(y[j]) for j in range(len(y))])\n"
                            "                        for i in range(len(x))])\n"),)),
    Variant("scores_detached", NB, "separable_scores", "right values, cut from the networks' parameters",
            frozenset({"scores_gradient"}),
            edits=((SCORES, "    return (g(x) @ h(y).T).detach()\n"),)),
    # --- correct alternatives -----------------------------------------------------------
    Variant("rho_one_minus_exp", NB, "rho_for_mi", "np.sqrt(1 - np.exp(...)), a float by float()",
            edits=((RHO, "    rho = np.sqrt(1 - np.exp(-2 * np.asarray(info, dtype=float) / d))\n"),)),
    Variant("rho_numpy_float64", NB, "rho_for_mi", "a NumPy float64 for a number (a float too)",
            edits=((RETURN_RHO, "    return rho\n"),)),
    Variant("rho_branches", NB, "rho_for_mi", "math for numbers, NumPy for arrays",
            edits=((RHO + RETURN_RHO,
                    "    if isinstance(info, np.ndarray):\n"
                    "        return np.sqrt(1 - np.exp(-2 * info / d))\n"
                    "    return math.sqrt(1 - math.exp(-2 * info / d))\n"),)),
    Variant("pairs_one_draw", NB, "staircase_pairs", "x and eps as the two halves of one (n, 2d) draw",
            edits=(("    x = torch.randn(n, d, generator=generator)\n" + EPS,
                    "    w = torch.randn(n, 2 * d, generator=generator)\n    x, eps = w[:, :d], w[:, d:]\n"),)),
    Variant("pairs_noise_first", NB, "staircase_pairs", "the noise drawn before x",
            edits=(("    x = torch.randn(n, d, generator=generator)\n" + EPS,
                    EPS + "    x = torch.randn(n, d, generator=generator)\n"),)),
    Variant("scores_einsum", NB, "separable_scores", "torch.einsum over the embeddings",
            edits=((SCORES, "    return torch.einsum('ie,je->ij', g(x), h(y))\n"),)),
    Variant("scores_broadcast", NB, "separable_scores", "products broadcast to (K, K', e), then summed",
            edits=((SCORES, "    return (g(x)[:, None, :] * h(y)[None, :, :]).sum(-1)\n"),)),
]
