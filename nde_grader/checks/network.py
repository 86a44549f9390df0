"""Checks of the network notebook (03): the critic ``Net`` (fc1-fc2-fc3, ELU, small normal weights).

Each check builds the student's ``Net`` in the kernel (``harness/network.py``), gets
its layers, outputs or weights back, and tests one property here, so that a wrong
answer loses the points of that property only:

- ``structure``: the three ``nn.Linear`` layers have the right shapes for any
  ``input_size``/``hidden_size``, and the output of N inputs has shape (N, 1);
- ``activation``: with weights set by the check, the output is the ELU network's,
  whatever the student's initialisation and layer sizes do;
- ``initialisation``: weights are N(0, sigma^2) samples for the sigma asked for, biases 0.
"""
from __future__ import annotations

import math

import numpy as np

from . import array, dims, field, flag, integer, mapping, pairs, rng, seed, text

# (input_size, hidden_size) other than the notebook's own 2-100.
SHAPES = [(2, 100), (3, 7), (5, 16), (1, 4)]

# Standard deviations of the initial weights that the initialisation check asks for.
SIGMAS = (0.02, 0.1, 0.5)

# How many standard deviations of its own sampling noise a statistic of the initial
# weights may be off (see initialisation_z_scores).  Under a correct answer each
# statistic is about standard normal; 27 of them per grading, so the chance that a
# correct answer fails is about 27 * P(|N(0,1)| > 5) = 27 * 5.7e-7 = 1.5e-5.
# Measured with the reference Net under 200 grading seeds (NDE_GRADING_SEED =
# 20261126 ... 20261325, the check functions called in a loop): 0 failures; the
# 5400 z-scores have mean +0.02 and sd 1.01, as they should, and the worst is -3.69.
Z_TOL = 5.0

# Fraction of N(0, sigma^2) samples within one sigma of 0: P(|N(0,1)| < 1).
WITHIN_ONE_SD = math.erf(1 / math.sqrt(2))  # 0.6827

LAYERS = ("fc1", "fc2", "fc3")


def _check_layers(layers: dict, where: str, expected: dict | None = None) -> None:
    for name in LAYERS:
        info = field(layers, name, f"{where}: the layers")
        kind = text(field(info, "type", f"{where}: net.{name}"), f"{where}: the type of net.{name}")
        assert kind == "Linear", f"{where}: net.{name} must be an nn.Linear layer, got {kind}"
        if expected:
            n_in, n_out = expected[name]
            got_in = integer(field(info, "n_in", f"{where}: net.{name}"), f"{where}: the inputs of net.{name}")
            got_out = integer(field(info, "n_out", f"{where}: net.{name}"), f"{where}: the outputs of net.{name}")
            assert (got_in, got_out) == (n_in, n_out), (
                f"{where}: {name} maps {got_in} inputs to {got_out} outputs, expected {n_in} -> {n_out}"
            )
            assert flag(field(info, "bias", f"{where}: net.{name}"), f"{where}: whether {name} has a bias"), (
                f"{where}: {name} must have a bias"
            )


def structure(probe) -> None:
    """fc1, fc2, fc3 are nn.Linear of the right shapes for several sizes; N inputs give an (N, 1) output."""
    configs = [None] + [list(s) for s in SHAPES]
    for config, info in pairs(configs, probe.run("network.build", configs=configs, check_seed=seed(1)), "Net"):
        input_size, hidden_size = (2, 100) if config is None else config
        where = f"Net(input_size={input_size}, hidden_size={hidden_size})"
        assert flag(field(info, "module", where), f"{where}: whether it is a module"), (
            f"Net must be a subclass of nn.Module, got {info.get('type')}"
        )
        expected = {"fc1": (input_size, hidden_size), "fc2": (hidden_size, hidden_size), "fc3": (hidden_size, 1)}
        _check_layers(field(info, "layers", where), where, expected)
        expected_params = sum(a * b + b for a, b in expected.values())
        n_params = integer(field(info, "n_params", where), f"{where}: the number of parameters")
        assert n_params == expected_params, (
            f"{where} has {n_params} parameters, expected {expected_params} (fc1, fc2, fc3 and nothing else)"
        )
        for n, out in pairs((1, 13), field(info, "outputs", where), f"{where}: the outputs"):
            kind = text(field(out, "type", f"{where}: the output"), f"{where}: the type of the output")
            assert kind == "Tensor", f"forward must return a tensor, got {kind}"
            shape = dims(field(out, "shape", f"{where}: the output"), f"{where}: the shape of the output")
            assert shape == (n, 1), (
                f"{where}: an input of shape ({n}, {input_size}) gave an output of shape {shape}, expected ({n}, 1)"
            )


def _fixed_parameters(g: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights and biases of a 2-100-100-1 network whose pre-activations are often negative.

    Inputs lie in [-3, 3]^2.  Layer 1 has unit-variance weights and biases around -0.5;
    layers 2 and 3 have weights of sd 0.15, so every layer's pre-activations are of
    order 1 and of both signs: ReLU, tanh, a missing ELU or an extra one all change
    the output by far more than float32 rounding.
    """
    shapes = [(100, 2), (100, 100), (1, 100)]
    scales = [1.0, 0.15, 0.15]
    return [(g.normal(0, s, size=shape), g.normal(-0.5, 0.5, size=shape[0])) for shape, s in zip(shapes, scales)]


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _relu(x):
    return np.maximum(x, 0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _identity(x):
    return x


def _forward(z: np.ndarray, params, act1, act2, act3=_identity) -> np.ndarray:
    """The network in float64, with the weights rounded to float32 as the student's layers hold them."""
    a = z
    for (W, b), act in zip(params, (act1, act2, act3)):
        a = act(a @ W.astype(np.float32).astype(np.float64).T + b.astype(np.float32).astype(np.float64))
    return a


# Answers we can recognise, to tell the student what their forward seems to do.
_LOOKALIKES = {
    "ReLU instead of ELU": (_relu, _relu, _identity),
    "tanh instead of ELU": (np.tanh, np.tanh, _identity),
    "sigmoid instead of ELU": (_sigmoid, _sigmoid, _identity),
    "no activation after fc1": (_identity, _elu, _identity),
    "no activation after fc2": (_elu, _identity, _identity),
    "no activation at all": (_identity, _identity, _identity),
    "an ELU after fc3 too": (_elu, _elu, _elu),
}


def activation(probe) -> None:
    """With weights set by the check, forward computes fc3(ELU(fc2(ELU(fc1(z))))) exactly."""
    g = rng(2)
    params = _fixed_parameters(g)
    z = g.uniform(-3, 3, size=(64, 2)).astype(np.float32)
    got = probe.run("network.forward", params=[list(p) for p in params], z=z, check_seed=seed(2))
    layers = field(got, "layers", "Net()")
    _check_layers(layers, "Net()")
    for name, (W, _) in zip(LAYERS, params, strict=True):
        shape = dims(field(layers[name], "weight_shape", f"Net(): net.{name}"), f"Net(): the weights of {name}")
        assert shape == W.shape, f"Net(): the weights of {name} have shape {shape}, expected {W.shape}"
    output = field(got, "output", "Net()")
    kind = text(field(output, "type", "the output of Net()"), "the type of the output of Net()")
    assert kind == "Tensor", f"forward must return a tensor, got {kind}"
    value = array(field(output, "value", "the output of Net()"), "the output of Net()", finite=False).reshape(-1)
    expected = _forward(z.astype(np.float64), params, _elu, _elu).reshape(-1)
    assert value.size == expected.size, f"forward returned {value.size} numbers for {len(z)} inputs"
    if np.allclose(value, expected, rtol=1e-4, atol=1e-4):
        return
    hint = ""
    for what, acts in _LOOKALIKES.items():
        if np.allclose(value, _forward(z.astype(np.float64), params, *acts).reshape(-1), rtol=1e-4, atol=1e-4):
            hint = f" Your forward seems to use {what}."
            break
    worst = int(np.abs(value - expected).argmax())
    raise AssertionError(
        "with weights set by the test, t(z) should be fc3(ELU(fc2(ELU(fc1(z))))): at "
        f"z = {z[worst].tolist()} it is {value[worst]:.6f}, expected {expected[worst]:.6f}.{hint}"
    )


def _initial(probe) -> list[dict]:
    """For each sigma, the initial weights and biases of each layer (biases None where there are none)."""
    out = []
    for sigma, net in pairs(SIGMAS, probe.run("network.init", sigmas=list(SIGMAS), check_seed=seed(10)), "Net"):
        layers = {}
        for name in LAYERS:
            where = f"Net(sigma={sigma}): net.{name}"
            layer = field(net, name, f"Net(sigma={sigma})")
            assert "weight" in mapping(layer, where), f"{where} must be an nn.Linear layer"
            weight = array(layer["weight"], f"{where}.weight", (None, None), finite=False)
            assert weight.size >= 2, f"{where}.weight holds {weight.size} numbers: too few to tell how they were drawn"
            bias = field(layer, "bias", where)
            bias = None if bias is None else array(bias, f"{where}.bias", (weight.shape[0],))
            layers[name] = {"weight": weight, "bias": bias}
        out.append(layers)
    return out


def initialisation_z_scores(layers: list[dict]) -> dict[str, float]:
    """For each sigma of SIGMAS and each layer: how far the statistics of the initial
    weights are from their values under N(0, sigma^2), in units of their own sampling sd.

    With m independent N(0, sigma^2) weights w_1..w_m:
    - the sample mean has sd sigma / sqrt(m);
    - the sample sd s has sd about sigma / sqrt(2 (m - 1)) (delta method: (m-1) s^2 / sigma^2
      is chi-squared with m - 1 degrees of freedom, variance 2 (m - 1), so s^2 has sd
      sigma^2 sqrt(2 / (m - 1)) and s = sqrt(s^2) has half its relative sd).  For fc2,
      m = 100 * 100 = 10,000: sigma / 141, i.e. 0.7 % of sigma;
    - the fraction within one sigma of 0 is binomial: sd sqrt(p (1 - p) / m) with
      p = 0.6827 (this tells normal weights from uniform ones of the same sd, which have
      p = 1 / sqrt(3) = 0.577).
    Each value is therefore about standard normal when the answer is right.
    """
    out = {}
    for sigma, net in zip(SIGMAS, layers, strict=True):
        for name in LAYERS:
            w = np.asarray(net[name]["weight"], dtype=np.float64).reshape(-1)
            m = w.size
            out[f"{name} weights, sigma={sigma}: mean"] = w.mean() / (sigma / math.sqrt(m))
            out[f"{name} weights, sigma={sigma}: sd"] = (w.std(ddof=1) - sigma) / (sigma / math.sqrt(2 * (m - 1)))
            within = float(np.mean(np.abs(w) < sigma))
            out[f"{name} weights, sigma={sigma}: fraction within one sigma"] = (within - WITHIN_ONE_SD) / math.sqrt(
                WITHIN_ONE_SD * (1 - WITHIN_ONE_SD) / m
            )
    return out


def initialisation(probe) -> None:
    """Weights are N(0, sigma^2) samples for several sigma (the argument is used); biases are exactly 0."""
    layers = _initial(probe)
    for sigma, net in zip(SIGMAS, layers, strict=True):
        for name in LAYERS:
            bias = net[name]["bias"]
            nonzero = 0 if bias is None else int(np.count_nonzero(bias))
            assert nonzero == 0, f"Net(sigma={sigma}): {nonzero} biases of {name} are not 0; every bias starts at 0"
        for name in LAYERS:
            sd = float(np.std(net[name]["weight"], ddof=1))
            assert abs(sd - sigma) < 0.5 * sigma, (
                f"Net(sigma={sigma}): the weights of {name} have standard deviation {sd:.4g}, "
                f"expected sigma = {sigma} (is the sigma argument used, as a standard deviation?)"
            )
    for what, z in initialisation_z_scores(layers).items():
        assert abs(z) <= Z_TOL, (
            f"{what} is {z:+.1f} standard errors from its value for N(0, sigma^2) weights "
            f"(allowed: {Z_TOL:g}); draw the weights with torch.nn.init.normal_(weight, 0.0, sigma)"
        )
