"""Pairs (x, y) whose mutual information is known exactly, to test an estimator beyond the Gaussian.

Every estimator of the course is first tried on a correlated Gaussian pair, whose mutual
information (MI) has a closed form. An estimator that does well there may still fail on
heavy tails, on bounded or skewed margins, or on a dependence that winds around. The
tasks here keep a known MI while changing the shape of the distribution, after
Czyż, Grabowski, Vogt, Beerenwinkel and Marx (2023), "Beyond Normal: On the Evaluation of
Mutual Information Estimators", NeurIPS 2023. Everything is written for the course in
NumPy and the standard library. They stay with the instructor (the bench, the tests), not
in the students' library: the Gaussian pair's MI is what notebook 01 asks a student to derive.

Each task has ``name``, ``dim_x``, ``dim_y``, its true MI ``mi`` (in nats) and
``sample(n, rng)``, which draws ``n`` pairs from a ``numpy.random.Generator`` and returns
``x`` of shape ``(n, dim_x)`` and ``y`` of shape ``(n, dim_y)``::

    import numpy as np
    from course.tasks import GaussianPair, StudentTPair, cubic_gaussian, spiral_gaussian

    task = GaussianPair.from_mi(1.0, d=2)   # the rho that gives 1 nat in 2 dimensions
    x, y = task.sample(5000, np.random.default_rng(0))
    task.mi                                 # 1.0, up to rounding

The tasks:

- ``GaussianPair(d, rho)``: x ~ N(0, I_d), y = rho x + sqrt(1 - rho^2) eps, coordinate by
  coordinate; I = -(d/2) log(1 - rho^2). ``mi_to_rho`` gives the rho of a target MI.
- ``StudentTPair(d, rho, nu)``: the same correlation with Student-t tails of ``nu`` degrees
  of freedom; its MI is the Gaussian one plus a term in log-gamma and digamma functions
  of ``nu`` (see the class).
- ``cubic_gaussian``: the Gaussian pair with y replaced by y^3.
- ``half_cube_gaussian``: the Gaussian pair with x and y mapped by t -> sign(t) |t|^(3/2).
- ``normal_cdf_gaussian``: the Gaussian pair with x and y mapped by the normal CDF
  (uniform margins on (0, 1)).
- ``spiral_gaussian``: the Gaussian pair with x turned by an angle proportional to its norm.

Why the transformed tasks keep their MI: if f and g are one-to-one and measurable both
ways, I(f(X); g(Y)) = I(X; Y). The MI is the Kullback-Leibler divergence between the joint
law of (X, Y) and the product of its margins, and a one-to-one map applied to both laws
leaves that divergence unchanged. For smooth maps one sees it in the densities: the
Jacobian factors of f and g appear both in the joint density and in the margins, and
cancel in the ratio p(x, y) / (p(x) p(y)).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "Task", "GaussianPair", "StudentTPair", "Transformed",
    "cubic_gaussian", "half_cube_gaussian", "normal_cdf_gaussian", "spiral_gaussian",
    "gaussian_mi", "mi_to_rho", "student_t_correction", "digamma",
    "cube", "half_cube", "normal_cdf", "spiral",
]


def _generator(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), not {type(rng).__name__}")
    return rng


def _count(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, not {n!r}")
    return int(n)


def gaussian_mi(rho: float, d: int = 1) -> float:
    """The MI in nats of the Gaussian pair of dimension ``d`` with correlation ``rho``:
    -(d/2) log(1 - rho^2) (the d coordinate pairs are independent, and each contributes
    -(1/2) log(1 - rho^2))."""
    rho, d = _check_rho(rho), _check_dim(d)
    return -0.5 * d * math.log((1.0 - rho) * (1.0 + rho))  # 1 - rho is exact near rho = 1


def mi_to_rho(mi: float, d: int = 1) -> float:
    """The correlation rho >= 0 that gives the Gaussian pair of dimension ``d`` the MI ``mi``
    (nats): the inverse of ``gaussian_mi``, rho = sqrt(1 - exp(-2 I / d)). A "staircase" of
    targets I = 2, 4, 6, ... sets rho this way, so that the truth steps evenly."""
    d = _check_dim(d)
    if not (mi >= 0 and math.isfinite(mi)):
        raise ValueError(f"the MI must be finite and >= 0, not {mi!r}")
    return math.sqrt(-math.expm1(-2.0 * mi / d))


def _check_rho(rho: float) -> float:
    rho = float(rho)
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie strictly between -1 and 1 (the MI is infinite at +-1), not {rho!r}")
    return rho


def _check_dim(d: int) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"the dimension must be a positive integer, not {d!r}")
    return int(d)


def digamma(x: float) -> float:
    """The digamma function psi(x) = d/dx log Gamma(x), for x > 0.

    The recurrence psi(x) = psi(x + 1) - 1/x moves x to 6 or above, where the asymptotic
    series psi(x) = log x - 1/(2x) - sum_k B_2k / (2k x^2k) (B_2k the Bernoulli numbers)
    is used up to x^-14: its first omitted term is below 1e-12 there.
    """
    x = float(x)
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"digamma is computed here for finite x > 0 only, not {x!r}")
    shift = 0.0
    while x < 6.0:
        shift -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    # B_2k / (2k) for k = 1..7: 1/12, -1/120, 1/252, -1/240, 1/132, -691/32760, 1/12
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (
        1 / 132 - inv2 * (691 / 32760 - inv2 / 12))))))
    return shift + math.log(x) - 0.5 / x - series


def student_t_correction(nu: float, dim_x: int, dim_y: int) -> float:
    """The part of a multivariate Student-t's MI that the tails add to the Gaussian part (nats).

    For (X, Y) multivariate Student-t with ``nu`` degrees of freedom, any dispersion
    matrix Sigma (blocks Sigma_xx, Sigma_yy) and dimensions d_x, d_y,

        I(X; Y) = 1/2 log(det Sigma_xx det Sigma_yy / det Sigma) + c(nu, d_x, d_y),
        c = log G(nu/2) + log G((nu + d_x + d_y)/2) - log G((nu + d_x)/2) - log G((nu + d_y)/2)
            + (nu + d_x)/2 psi((nu + d_x)/2) + (nu + d_y)/2 psi((nu + d_y)/2)
            - (nu + d_x + d_y)/2 psi((nu + d_x + d_y)/2) - nu/2 psi(nu/2),

    with G the gamma function and psi the digamma function. The first term is the MI of a
    Gaussian with the same Sigma; c >= 0 does not depend on Sigma, so X and Y share
    c > 0 nats even when Sigma is block diagonal (their common scale ties them), and
    c -> 0 as nu -> infinity. The formula is the one Czyż et al. (2023), "Beyond Normal",
    state for their Student-t tasks, from the entropy of the multivariate t given by
    Arellano-Valle, Contreras-Reyes and Genton (2013), "Shannon entropy and mutual
    information for multivariate skew-elliptical distributions":

        h(t_d(nu, Sigma)) = 1/2 log det Sigma + log[(nu pi)^(d/2) G(nu/2) / G((nu + d)/2)]
                            + (nu + d)/2 [psi((nu + d)/2) - psi(nu/2)].

    The margins of a multivariate t are t with the same nu and the sub-blocks of Sigma,
    so I = h(X) + h(Y) - h(X, Y): the (nu pi)^(d/2) factors cancel, and what is left of
    the other terms is c.
    """
    nu = float(nu)
    if not (nu > 0 and math.isfinite(nu)):
        raise ValueError(f"the degrees of freedom must be finite and > 0, not {nu!r}")
    dx, dy = _check_dim(dim_x), _check_dim(dim_y)

    def part(d):  # the terms of -h(t_d) that depend on nu, without the (nu pi)^(d/2) factor
        a = (nu + d) / 2
        return math.lgamma(a) - a * digamma(a)

    # c = h(x) + h(y) - h(x, y), where h(t_d) holds log G(nu/2) - part(d) - (nu + d)/2 psi(nu/2):
    # the psi(nu/2) terms add up to -nu/2 psi(nu/2), the log G(nu/2) terms to one log G(nu/2)
    return part(dx + dy) - part(dx) - part(dy) + math.lgamma(nu / 2) - nu / 2 * digamma(nu / 2)


class Task:
    """A joint law of (x, y) with a known MI: ``name``, ``dim_x``, ``dim_y``, ``mi`` (nats)
    and ``sample(n, rng)`` -> (x of shape (n, dim_x), y of shape (n, dim_y)), float64."""

    name: str
    dim_x: int
    dim_y: int
    mi: float

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.name}: dim_x={self.dim_x}, dim_y={self.dim_y}, MI={self.mi:.4f} nats>"


class GaussianPair(Task):
    """The correlated Gaussian pair of dimension ``d``: x ~ N(0, I_d) and, coordinate by
    coordinate, y = rho x + sqrt(1 - rho^2) eps with eps ~ N(0, I_d) independent of x.

    Each pair (x_i, y_i) is a standard bivariate normal with correlation rho, independent
    of the other pairs, so the MI adds up over the d pairs: I = -(d/2) log(1 - rho^2).
    (For one pair, h(y) - h(y | x) = 1/2 log(2 pi e) - 1/2 log(2 pi e (1 - rho^2)).)
    """

    def __init__(self, d: int = 1, rho: float = 0.5):
        self.d, self.rho = _check_dim(d), _check_rho(rho)
        self.dim_x = self.dim_y = self.d
        self.mi = gaussian_mi(self.rho, self.d)
        self.name = f"gaussian(d={self.d}, rho={self.rho:g})"

    @classmethod
    def from_mi(cls, mi: float, d: int = 1) -> "GaussianPair":
        """The pair of dimension ``d`` whose MI is ``mi`` nats (rho from ``mi_to_rho``)."""
        return cls(d, mi_to_rho(mi, d))

    def sample(self, n, rng):
        n, rng = _count(n), _generator(rng)
        x = rng.standard_normal((n, self.d))
        eps = rng.standard_normal((n, self.d))
        return x, self.rho * x + math.sqrt(1.0 - self.rho ** 2) * eps


class StudentTPair(Task):
    """A multivariate Student-t pair: heavy tails with a known MI.

    (x, y) = (u, v) / sqrt(w), with (u, v) the Gaussian pair of dimension ``d`` and
    correlation ``rho`` (``GaussianPair``) and w ~ chi^2_nu / nu independent of it, is the
    multivariate t of dimension 2d with ``nu`` degrees of freedom and dispersion matrix
    Sigma = [[I, rho I], [rho I, I]]. The tails fall like |t|^-(nu + 1): for nu <= 2 the
    variance is infinite, for nu <= 1 even the mean.

    MI (nats), from ``student_t_correction`` (Czyż et al. 2023, "Beyond Normal"; the
    entropy of Arellano-Valle, Contreras-Reyes and Genton 2013):
        I = -(d/2) log(1 - rho^2) + c(nu, d, d).
    The shared w makes x and y dependent even at rho = 0, where I = c(nu, d, d) > 0.
    ``gaussian_part`` and ``correction`` hold the two terms.
    """

    def __init__(self, d: int = 1, rho: float = 0.5, nu: float = 3.0):
        self.d, self.rho = _check_dim(d), _check_rho(rho)
        self.correction = student_t_correction(nu, self.d, self.d)
        self.nu = float(nu)
        self.dim_x = self.dim_y = self.d
        self.gaussian_part = gaussian_mi(self.rho, self.d)
        self.mi = self.gaussian_part + self.correction
        self.name = f"student_t(d={self.d}, rho={self.rho:g}, nu={self.nu:g})"

    def sample(self, n, rng):
        n, rng = _count(n), _generator(rng)
        u, v = GaussianPair(self.d, self.rho).sample(n, rng)
        scale = 1.0 / np.sqrt(rng.chisquare(self.nu, size=(n, 1)) / self.nu)
        return u * scale, v * scale


class Transformed(Task):
    """``base`` with x mapped by ``map_x`` and y by ``map_y`` (None: left as it is).

    Each map must be one-to-one on the values it receives (x -> x^3, or x -> sign(x) |x|^(3/2)
    coordinate by coordinate, the normal CDF, the spiral): then I(f(X); g(Y)) = I(X; Y), and
    ``mi`` is the base's. A map takes an array of shape (n, dim) and returns one of shape
    (n, dim') (so ``dim_x``, ``dim_y`` are the base's unless ``dims`` says otherwise).
    """

    def __init__(self, base: Task, name: str, map_x=None, map_y=None, dims: tuple[int, int] | None = None):
        self.base, self.map_x, self.map_y = base, map_x, map_y
        self.dim_x, self.dim_y = dims if dims is not None else (base.dim_x, base.dim_y)
        self.mi = base.mi
        self.name = name

    def sample(self, n, rng):
        x, y = self.base.sample(n, rng)
        if self.map_x is not None:
            x = self.map_x(x)
        if self.map_y is not None:
            y = self.map_y(y)
        return x, y


def cube(t: np.ndarray) -> np.ndarray:
    """t -> t^3, element by element: strictly increasing, so one-to-one on the real line."""
    return np.asarray(t, dtype=np.float64) ** 3


def half_cube(t: np.ndarray) -> np.ndarray:
    """t -> sign(t) |t|^(3/2), element by element: strictly increasing and continuous,
    one-to-one on the real line (its inverse is s -> sign(s) |s|^(2/3))."""
    t = np.asarray(t, dtype=np.float64)
    return np.sign(t) * np.abs(t) ** 1.5


_erfc = np.frompyfunc(math.erfc, 1, 1)


def normal_cdf(t: np.ndarray) -> np.ndarray:
    """The standard normal CDF Phi(t) = erfc(-t / sqrt 2) / 2, element by element: strictly
    increasing from the real line onto (0, 1). A N(0, 1) variable comes out uniform on
    (0, 1). (In float64, Phi rounds to 1 above t = 8.3, which a normal sample reaches with
    probability 1e-16.)"""
    t = np.asarray(t, dtype=np.float64)
    return 0.5 * _erfc(-t / math.sqrt(2.0)).astype(np.float64)


def spiral(x: np.ndarray, speed: float = 1.0) -> np.ndarray:
    """Turn each row of ``x`` (shape (n, d), d >= 2) in the plane of its first two
    coordinates by the angle ``speed * |x|``, |x| the row's Euclidean norm.

    A rotation keeps the norm, so the angle can be read back from the image: the inverse
    turns y by -speed * |y|. The map is therefore one-to-one from R^d onto R^d (and
    continuous; smooth away from 0). Czyż et al. (2023) turn by an angle proportional to
    |x|^2; any angle that depends on x only through |x| gives a one-to-one map this way.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"the spiral turns rows of at least 2 coordinates, not an array of shape {x.shape}")
    angle = float(speed) * np.linalg.norm(x, axis=1)
    c, s = np.cos(angle), np.sin(angle)
    out = x.copy()
    out[:, 0] = c * x[:, 0] - s * x[:, 1]
    out[:, 1] = s * x[:, 0] + c * x[:, 1]
    return out


def cubic_gaussian(d: int = 1, rho: float = 0.5) -> Transformed:
    """The Gaussian pair (``GaussianPair(d, rho)``) with y -> y^3 coordinate by coordinate.
    The cube is one-to-one, so I = -(d/2) log(1 - rho^2), as before; y now has heavy
    tails and x -> E[y | x] is no longer linear."""
    base = GaussianPair(d, rho)
    return Transformed(base, f"cubic(d={d}, rho={base.rho:g})", map_y=cube)


def half_cube_gaussian(d: int = 1, rho: float = 0.5) -> Transformed:
    """The Gaussian pair with x and y mapped by t -> sign(t) |t|^(3/2) coordinate by
    coordinate (longer tails, a flat spot at 0). The map is one-to-one, so
    I = -(d/2) log(1 - rho^2)."""
    base = GaussianPair(d, rho)
    return Transformed(base, f"half_cube(d={d}, rho={base.rho:g})", map_x=half_cube, map_y=half_cube)


def normal_cdf_gaussian(d: int = 1, rho: float = 0.5) -> Transformed:
    """The Gaussian pair with x and y mapped by the normal CDF, coordinate by coordinate:
    every margin is uniform on (0, 1) (the Gaussian copula), bounded support. The CDF is
    one-to-one onto (0, 1), so I = -(d/2) log(1 - rho^2)."""
    base = GaussianPair(d, rho)
    return Transformed(base, f"normal_cdf(d={d}, rho={base.rho:g})", map_x=normal_cdf, map_y=normal_cdf)


def spiral_gaussian(d: int = 2, rho: float = 0.5, speed: float = 1.0) -> Transformed:
    """The Gaussian pair (d >= 2) with x turned by ``spiral(x, speed)``: the first two
    coordinates of x wind around the origin, more the farther out. The spiral is
    one-to-one (it keeps |x|, so it can be undone) and touches x alone, so
    I = -(d/2) log(1 - rho^2)."""
    if _check_dim(d) < 2:
        raise ValueError("the spiral needs d >= 2 (it turns x in a plane)")
    base = GaussianPair(d, rho)
    speed = float(speed)
    return Transformed(base, f"spiral(d={d}, rho={base.rho:g}, speed={speed:g})",
                       map_x=lambda x: spiral(x, speed))
