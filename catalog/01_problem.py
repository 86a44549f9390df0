"""Variants of the answers of 01_problem (see catalog/README.md)."""
from course.examples import Variant

V = Variant
NB = "01_problem"
# No test cell of ground_truth calls draw_samples, and none of draw_samples calls
# ground_truth (tests/test_grading.py checks it): one submission may carry a variant of each.
SEPARATE_CELLS = True

STREAMS = "    stream_z, stream_ref = np.random.SeedSequence(seed).spawn(2)\n"
COV = "    cov = [[1.0, rho], [rho, 1.0]]\n"
DRAW_Z = "    Z = np.random.default_rng(stream_z).multivariate_normal([0.0, 0.0], cov, size=n)\n"
DRAW_REF = "    Z_ref = np.random.default_rng(stream_ref).standard_normal((n_ref, 2))\n"
TRUTH = "    return -0.5 * np.log(1 - rho**2)\n"
T_XY = "    x, y = Z[..., 0], Z[..., 1]\n"
T_RET = ("    return -0.5 * math.log(1 - rho**2) - (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho**2))"
         " + (x**2 + y**2) / 2\n")


def t_returns(expression: str) -> tuple[tuple[str, str], ...]:
    """Edits that replace the return line of t_star."""
    return ((T_RET, f"    return {expression}\n"),)

VARIANTS = [
    # --- draw_samples: wrong ------------------------------------------------------------
    V("samples_shared_stream", NB, "samples",
      "two generators made from the same seed (the error of the lesson's first version): Z_ref reuses Z's numbers",
      frozenset({"samples_independent"}),
      edits=((STREAMS, "    stream_z = stream_ref = seed\n"),)),
    V("samples_fixed_seed", NB, "samples",
      "ignores the seed argument: every call draws the same samples",
      frozenset({"samples_seeded"}),
      edits=((STREAMS, "    stream_z, stream_ref = np.random.SeedSequence(0).spawn(2)\n"),)),
    V("samples_global_stream", NB, "samples",
      "draws from NumPy's global generator, so the seed changes nothing",
      frozenset({"samples_seeded"}),
      edits=((DRAW_Z, "    Z = np.random.multivariate_normal([0.0, 0.0], cov, size=n)\n"),
             (DRAW_REF, "    Z_ref = np.random.standard_normal((n_ref, 2))\n"))),
    V("samples_rho_squared", NB, "samples",
      "puts rho^2 off the diagonal of the covariance: the correlation becomes rho^2",
      frozenset({"samples_moments"}),
      edits=((COV, "    cov = [[1.0, rho**2], [rho**2, 1.0]]\n"),)),
    V("samples_correlated_reference", NB, "samples",
      "puts the correlation into the reference sample and leaves Z uncorrelated",
      frozenset({"samples_moments"}),
      edits=((DRAW_Z, "    Z = np.random.default_rng(stream_z).standard_normal((n, 2))\n"),
             (DRAW_REF, "    Z_ref = np.random.default_rng(stream_ref).multivariate_normal([0.0, 0.0], cov, size=n_ref)\n"))),
    V("samples_cholesky_no_sqrt", NB, "samples",
      "builds Y = rho X + (1 - rho^2) U by hand, forgetting the square root: Var Y != 1",
      frozenset({"samples_moments"}),
      edits=((DRAW_Z,
              "    u = np.random.default_rng(stream_z).standard_normal((n, 2))\n"
              "    Z = np.stack([u[:, 0], rho * u[:, 0] + (1 - rho**2) * u[:, 1]], axis=1)\n"),)),
    V("samples_ref_size_n", NB, "samples",
      "draws n reference samples instead of n_ref",
      frozenset({"samples_shapes"}),
      edits=((DRAW_REF, "    Z_ref = np.random.default_rng(stream_ref).standard_normal((n, 2))\n"),)),
    V("samples_float32", NB, "samples",
      "returns single-precision arrays",
      frozenset({"samples_shapes"}),
      edits=(("    return Z, Z_ref\n", "    return Z.astype(np.float32), Z_ref.astype(np.float32)\n"),)),
    V("samples_shared_vectors", NB, "samples",
      "Z_ref is the normal vectors that Z was made from, in another order: no same-row correlation, not independent",
      frozenset({"samples_independent"}),
      code=(
          "def draw_samples(rho, n, n_ref, seed):\n"
          "    rng = np.random.default_rng(seed)\n"
          "    W = rng.standard_normal((max(n, n_ref), 2))\n"
          "    L = np.array([[1.0, 0.0], [rho, np.sqrt(1 - rho**2)]])\n"
          "    Z = W[:n] @ L.T\n"
          "    Z_ref = W[rng.permutation(len(W))[:n_ref]]\n"
          "    return Z, Z_ref\n"
      )),
    V("samples_shifted_stream", NB, "samples",
      "one stream read twice, the second time one number later: Z_ref repeats Z's random numbers, shifted",
      frozenset({"samples_independent"}),
      code=(
          "def draw_samples(rho, n, n_ref, seed):\n"
          "    w = np.random.default_rng(seed).standard_normal(2 * max(n, n_ref) + 1)\n"
          "    x, u = w[: 2 * n : 2], w[1 : 2 * n : 2]\n"
          "    Z = np.stack([x, rho * x + np.sqrt(1 - rho**2) * u], axis=1)\n"
          "    Z_ref = w[1 : 2 * n_ref + 1].reshape(n_ref, 2)\n"
          "    return Z, Z_ref\n"
      )),
    V("samples_resampled_coordinates", NB, "samples",
      "Z_ref made of Z's own values, each coordinate permuted on its own: standard normal and uncorrelated "
      "coordinates, no correlation with Z, but every value of Z_ref is one of Z's",
      frozenset({"samples_independent"}),
      edits=((DRAW_REF,
              "    shuffle = np.random.default_rng(stream_ref).permutation\n"
              "    Z_ref = np.stack([shuffle(np.resize(Z[:, i], n_ref)) for i in range(2)], axis=1)\n"),)),
    V("samples_same_seed_by_columns", NB, "samples",
      "a second generator made with the same seed, its normals taken column by column: Z_ref holds the very "
      "normals Z was made from, in another arrangement (no correlation at any row or lag shows it)",
      frozenset({"samples_independent"}),
      edits=((STREAMS, ""),
             (DRAW_Z, "    Z = np.random.default_rng(seed).multivariate_normal([0.0, 0.0], cov, size=n)\n"),
             (DRAW_REF, "    Z_ref = np.random.default_rng(seed).standard_normal((2, n_ref)).T\n"))),
    V("samples_same_seed_cholesky_by_columns", NB, "samples",
      "the same with Z made by hand (X = U1, Y = rho U1 + sqrt(1 - rho^2) U2): X itself is a normal Z_ref reuses",
      frozenset({"samples_independent"}),
      code=(
          "def draw_samples(rho, n, n_ref, seed):\n"
          "    u = np.random.default_rng(seed).standard_normal((n, 2))\n"
          "    Z = np.stack([u[:, 0], rho * u[:, 0] + np.sqrt(1 - rho**2) * u[:, 1]], axis=1)\n"
          "    Z_ref = np.random.default_rng(seed).standard_normal((2, n_ref)).T\n"
          "    return Z, Z_ref\n"
      )),
    # --- draw_samples: correct alternatives -----------------------------------------------
    V("samples_swapped_streams", NB, "samples",
      "takes the two spawned streams in the other order: still independent and reproducible",
      edits=((STREAMS, "    stream_ref, stream_z = np.random.SeedSequence(seed).spawn(2)\n"),)),
    V("samples_one_generator", NB, "samples",
      "one generator for both samples, Z' drawn after Z: consecutive draws of one stream are independent",
      code=(
          "def draw_samples(rho, n, n_ref, seed):\n"
          "    rng = np.random.default_rng(seed)\n"
          "    Z_ref = rng.standard_normal((n_ref, 2))\n"
          "    Z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)\n"
          "    return Z, Z_ref\n"
      )),
    V("samples_cholesky", NB, "samples",
      "Cholesky factor by hand: X = U1, Y = rho U1 + sqrt(1 - rho^2) U2",
      code=(
          "def draw_samples(rho, n, n_ref, seed):\n"
          "    rng_z, rng_ref = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))\n"
          "    L = np.array([[1.0, 0.0], [rho, np.sqrt(1 - rho**2)]])\n"
          "    Z = rng_z.standard_normal((n, 2)) @ L.T\n"
          "    Z_ref = rng_ref.normal(size=(n_ref, 2))\n"
          "    return Z, Z_ref\n"
      )),
    V("samples_one_generator_by_columns", NB, "samples",
      "one generator, Z by hand first, then Z_ref column by column: the next normals of the stream, independent",
      code=(
          "def draw_samples(rho, n, n_ref, seed):\n"
          "    rng = np.random.default_rng(seed)\n"
          "    u = rng.standard_normal((n, 2))\n"
          "    Z = np.stack([u[:, 0], rho * u[:, 0] + np.sqrt(1 - rho**2) * u[:, 1]], axis=1)\n"
          "    Z_ref = rng.standard_normal((2, n_ref)).T\n"
          "    return Z, Z_ref\n"
      )),
    V("samples_method_cholesky", NB, "samples",
      "multivariate_normal with method=\"cholesky\", and Z_ref by rng.normal",
      edits=((DRAW_Z, "    Z = np.random.default_rng(stream_z).multivariate_normal([0.0, 0.0], cov, size=n, "
                      "method=\"cholesky\")\n"),
             (DRAW_REF, "    Z_ref = np.random.default_rng(stream_ref).normal(0.0, 1.0, size=(n_ref, 2))\n"))),
    # --- ground_truth: wrong --------------------------------------------------------------
    V("ground_truth_wrong_sign", NB, "ground_truth",
      "+1/2 log(1 - rho^2), the sign error of the lesson's first version: a negative divergence",
      frozenset({"ground_truth_values", "ground_truth_positive"}),
      edits=((TRUTH, "    return 0.5 * np.log(1 - rho**2)\n"),)),
    V("ground_truth_no_half", NB, "ground_truth",
      "forgets the factor 1/2",
      frozenset({"ground_truth_values"}),
      edits=((TRUTH, "    return -np.log(1 - rho**2)\n"),)),
    V("ground_truth_math_log", NB, "ground_truth",
      "math.log: right for numbers, fails on arrays",
      frozenset({"ground_truth_values"}),
      edits=((TRUTH, "    import math\n    return -0.5 * math.log(1 - rho**2)\n"),)),
    V("ground_truth_no_square", NB, "ground_truth",
      "log(1 - rho) instead of log(1 - rho^2): negative for negative rho",
      frozenset({"ground_truth_values", "ground_truth_positive"}),
      edits=((TRUTH, "    return -0.5 * np.log(1 - rho)\n"),)),
    V("ground_truth_log_rho_squared", NB, "ground_truth",
      "log(rho^2) instead of log(1 - rho^2): infinite at rho = 0",
      frozenset({"ground_truth_values", "ground_truth_zero"}),
      edits=((TRUTH, "    return -0.5 * np.log(rho**2)\n"),)),
    V("ground_truth_torch", NB, "ground_truth",
      "computes with PyTorch: a 0-d tensor for a number and a tensor for an array, not NumPy's kinds",
      frozenset({"ground_truth_values"}),
      edits=((TRUTH, "    import torch\n\n    return -0.5 * torch.log(1 - torch.as_tensor(rho, dtype=torch.float64) ** 2)\n"),)),
    V("ground_truth_in_place", NB, "ground_truth",
      "squares an array rho in place (np.square(rho, out=rho)): right values, but the caller's array is changed",
      frozenset({"ground_truth_values"}),
      edits=((TRUTH, "    if isinstance(rho, np.ndarray):\n"
                     "        rho = np.square(rho, out=rho)  # saves a copy, and overwrites the caller's array\n"
                     "        return -0.5 * np.log(1 - rho)\n"
                     "    return -0.5 * np.log(1 - rho**2)\n"),)),
    V("ground_truth_reversed", NB, "ground_truth",
      "the derivation with the two covariances swapped: D(P_Z' || P_Z), positive and 0 at rho = 0, but the other divergence",
      frozenset({"ground_truth_values"}),
      edits=((TRUTH, "    return 0.5 * (2 / (1 - rho**2) - 2 + np.log(1 - rho**2))\n"),)),
    V("ground_truth_determinant_upside_down", NB, "ground_truth",
      "the log of det Sigma_1 / det Sigma_0 instead of det Sigma_0 / det Sigma_1: the sign slip of the derivation",
      frozenset({"ground_truth_values", "ground_truth_positive"}),
      edits=((TRUTH, "    return 0.5 * (2 - 2 + np.log(1 - rho**2))\n"),)),
    # --- ground_truth: correct alternatives -----------------------------------------------
    V("ground_truth_general_formula", NB, "ground_truth",
      "the general formula evaluated with NumPy's linear algebra, rho by rho",
      edits=((TRUTH, "    def one(r):\n"
                     "        sigma_1 = np.array([[1.0, r], [r, 1.0]])\n"
                     "        return 0.5 * (np.trace(sigma_1) - 2 + np.log(1 / np.linalg.det(sigma_1)))\n"
                     "\n"
                     "    if np.ndim(rho) == 0:\n"
                     "        return float(one(rho))\n"
                     "    return np.vectorize(one)(rho)\n"),)),
    V("ground_truth_log1p", NB, "ground_truth",
      "np.log1p(-rho**2), more accurate for small rho",
      edits=((TRUTH, "    return -0.5 * np.log1p(-rho**2)\n"),)),
    V("ground_truth_inverse", NB, "ground_truth",
      "1/2 log(1 / (1 - rho^2)), with np.square",
      edits=((TRUTH, "    return 0.5 * np.log(1 / (1 - np.square(rho)))\n"),)),
    V("ground_truth_where", NB, "ground_truth",
      "np.where for rho = 0: a 0-d array for a number, which is one number",
      edits=((TRUTH, "    return np.where(rho == 0, 0.0, -0.5 * np.log(1 - np.square(rho)))\n"),)),
    # --- t_star: wrong ----------------------------------------------------------------------
    V("t_star_no_constant", NB, "t_star",
      "drops the normalising constants: log p/q off by +1/2 log(1 - rho^2), E_Q[e^t] = sqrt(1 - rho^2) != 1",
      frozenset({"t_star_values"}),
      edits=t_returns("- (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho**2)) + (x**2 + y**2) / 2")),
    V("t_star_constant_sign", NB, "t_star",
      "+1/2 log(1 - rho^2): the normalising constant of p taken the wrong way up",
      frozenset({"t_star_values"}),
      edits=t_returns("0.5 * math.log(1 - rho**2) - (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho**2))"
                      " + (x**2 + y**2) / 2")),
    V("t_star_inverted", NB, "t_star",
      "log q/p instead of log p/q",
      frozenset({"t_star_values"}),
      edits=t_returns("0.5 * math.log(1 - rho**2) + (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho**2))"
                      " - (x**2 + y**2) / 2")),
    V("t_star_log_p_only", NB, "t_star",
      "log p without subtracting log q",
      frozenset({"t_star_values"}),
      edits=t_returns("-math.log(2 * math.pi) - 0.5 * math.log(1 - rho**2)"
                      " - (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho**2))")),
    V("t_star_one_minus_rho", NB, "t_star",
      "1 - rho instead of 1 - rho^2 in the denominator of the quadratic form",
      frozenset({"t_star_values"}),
      edits=t_returns("-0.5 * math.log(1 - rho**2) - (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho))"
                      " + (x**2 + y**2) / 2")),
    V("t_star_no_cross_term", NB, "t_star",
      "forgets the cross term -2 rho x y of the quadratic form of p",
      frozenset({"t_star_values"}),
      edits=t_returns("-0.5 * math.log(1 - rho**2) - (x**2 + y**2) / (2 * (1 - rho**2)) + (x**2 + y**2) / 2")),
    V("t_star_numpy_only", NB, "t_star",
      "the quadratic form with NumPy (np.linalg.inv, np.einsum): right on arrays, but a tensor comes back as an array",
      frozenset({"t_star_tensors"}),
      edits=((T_XY + T_RET,
              "    A = np.linalg.inv([[1.0, rho], [rho, 1.0]]) - np.eye(2)\n"
              "    Z = np.asarray(Z)\n"
              "    return -0.5 * math.log(1 - rho**2) - 0.5 * np.einsum(\"ni,ij,nj->n\", Z, A, Z)\n"),)),
    V("t_star_always_tensor", NB, "t_star",
      "turns Z into a tensor first (torch.as_tensor): right values, but a tensor comes back for a NumPy array",
      frozenset({"t_star_values"}),
      edits=((T_XY, "    import torch\n\n    Z = torch.as_tensor(Z)\n    x, y = Z[..., 0], Z[..., 1]\n"),)),
    V("t_star_whitens_in_place", NB, "t_star",
      "whitens the second coordinate of Z in place: right values, but the caller's Z is changed",
      frozenset({"t_star_values", "t_star_tensors"}),
      edits=((T_XY + T_RET,
              "    log_q = -(Z[:, 0] ** 2 + Z[:, 1] ** 2) / 2\n"
              "    Z[:, 1] = (Z[:, 1] - rho * Z[:, 0]) / math.sqrt(1 - rho**2)  # Z = (x, w) with w ~ N(0, 1) under P\n"
              "    return -0.5 * math.log(1 - rho**2) - (Z[:, 0] ** 2 + Z[:, 1] ** 2) / 2 - log_q\n"),)),
    V("t_star_row_by_row", NB, "t_star",
      "a list comprehension over the rows: a list, not an array or a tensor",
      frozenset({"t_star_values", "t_star_tensors"}),
      edits=((T_XY + T_RET,
              "    return [-0.5 * math.log(1 - rho**2) - (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho**2))"
              " + (x**2 + y**2) / 2 for x, y in Z]\n"),)),
    # --- t_star: correct alternatives ------------------------------------------------------
    V("t_star_collected", NB, "t_star",
      "the terms collected, as notebook 04 used to print it: rho (2xy - rho (x^2 + y^2)) / (2 (1 - rho^2))",
      edits=((T_XY, "    x, y = Z[:, 0], Z[:, 1]\n"),
             (T_RET, "    return -0.5 * np.log(1 - rho**2) + rho * (2 * x * y - rho * (x**2 + y**2)) / (2 * (1 - rho**2))\n"))),
    V("t_star_log_densities", NB, "t_star",
      "log p - log q written out, 2 pi constants included, and x, y from Z.T",
      edits=((T_XY + T_RET,
              "    x, y = Z.T\n"
              "    log_p = -math.log(2 * math.pi * math.sqrt(1 - rho**2)) - (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho**2))\n"
              "    log_q = -math.log(2 * math.pi) - (x**2 + y**2) / 2\n"
              "    return log_p - log_q\n"),)),
    V("t_star_rotated", NB, "t_star",
      "in the rotated coordinates u = (x + y)/sqrt 2, v = (x - y)/sqrt 2",
      edits=((T_XY + T_RET,
              "    u = (Z[:, 0] + Z[:, 1]) / math.sqrt(2)\n"
              "    v = (Z[:, 0] - Z[:, 1]) / math.sqrt(2)\n"
              "    return -0.5 * math.log(1 - rho**2) + rho * u**2 / (2 * (1 + rho)) - rho * v**2 / (2 * (1 - rho))\n"),)),
    V("t_star_float64_tensor", NB, "t_star",
      "computes on a float64 copy of a tensor (Z.double()): a float64 tensor for a float32 one",
      edits=((T_XY, "    if not isinstance(Z, np.ndarray):\n        Z = Z.double()\n    x, y = Z[..., 0], Z[..., 1]\n"),)),
]
