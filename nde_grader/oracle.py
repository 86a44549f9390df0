"""The course's Gaussian problem, computed on the instructor's side in double precision.

One place for what the checks, the benchmarks and the scripts compute about the problem
of notebook 01: Z ~ N(0, [[1, rho], [rho, 1]]) against Z' ~ N(0, I).

  mi(rho)             D = I(X; Y) = -1/2 log(1 - rho^2), the closed form
  correlate(w, rho)   standard normals (..., 2) made draws of Z: y = rho x + sqrt(1 - rho^2) e
  pairs(g, rho, n)    n draws of Z (rho = 0: of Z'), rounded to float32 like a kernel's
  t_star(Z, rho)      log dP_Z/dP_Z'(z), the optimal critic of DV (with c = 0)
  log_mean_exp(a)     log mean e^a, without overflow
  dv(t, t_ref)        the sample DV bound of critic values
  noise_floor(...)    DV with t* over many draws: how far even the optimal critic lands

Written from the closed forms, not taken from the course's answers (nde_grader.reference,
which students write): a check that compared a student's function with the course's own
would pass a wrong course answer. Kernel-side code (nde_grader/harness) cannot import
this module: it holds what the grader expects.
"""
from __future__ import annotations

import math

import numpy as np

from .harness import correlated as correlate  # the kernel side draws its pairs with it too


def mi(rho: float) -> float:
    """D(P_Z || P_Z') = I(X; Y) of the pair with correlation rho, in nats."""
    return -0.5 * math.log(1 - rho**2)


def pairs(g: np.random.Generator, rho: float, n: int, dtype=np.float32) -> np.ndarray:
    """n pairs (x, y) with correlation rho, shape (n, 2), from one draw of (n, 2) standard
    normals; float32 by default, what the student's kernel holds."""
    return correlate(g.standard_normal((n, 2)), rho).astype(dtype)


def t_star(Z, rho: float):
    """log p(z)/q(z) at the rows z = (x, y) of Z (an array or a tensor, shape (..., 2))."""
    x, y = Z[..., 0], Z[..., 1]
    return -0.5 * math.log(1 - rho**2) - (x**2 - 2 * rho * x * y + y**2) / (2 * (1 - rho**2)) + (x**2 + y**2) / 2


def log_mean_exp(a, axis=-1):
    """log of the mean of e^a along ``axis``, in float64, without overflow."""
    a = np.asarray(a, np.float64)
    top = a.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(a - top).mean(axis=axis))


def dv(t, t_ref) -> float:
    """The sample DV bound mean t - log mean e^t' of critic values, in float64."""
    return float(np.mean(np.asarray(t, np.float64)) - log_mean_exp(t_ref))


def noise_floor(rho: float, n: int, n_ref: int, reps: int, g: np.random.Generator, chunk: int = 250) -> np.ndarray:
    """``reps`` sample DV bounds of the optimal critic t*, each on fresh n draws of Z and n_ref of
    Z' (float64): their spread is the least error any trained critic can show at that size."""
    out = []
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        Z = correlate(g.standard_normal((m, n, 2)), rho)
        t_ref = t_star(g.standard_normal((m, n_ref, 2)), rho)
        out.append(t_star(Z, rho).mean(axis=1) - log_mean_exp(t_ref, axis=1))
    return np.concatenate(out)
