"""Checks of the network notebook (03): the critic ``Net`` (fc1-fc2-fc3, ELU, small normal weights).

Each check takes the student's class ``Net`` and tests one property, so that a wrong
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
import torch
from torch import nn
from torch.nn import functional as F

from . import seeded

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


def _layers(net) -> list[nn.Linear]:
    out = []
    for name in LAYERS:
        layer = getattr(net, name, None)
        assert isinstance(layer, nn.Linear), f"net.{name} must be an nn.Linear layer, got {type(layer).__name__}"
        out.append(layer)
    return out


def structure(Net) -> None:
    """fc1, fc2, fc3 are nn.Linear of the right shapes for several sizes; N inputs give an (N, 1) output."""
    with seeded(1):
        nets = [((2, 100), Net())] + [((i, h), Net(input_size=i, hidden_size=h)) for i, h in SHAPES]
        for (input_size, hidden_size), net in nets:
            assert isinstance(net, nn.Module), "Net must be a subclass of nn.Module"
            where = f"Net(input_size={input_size}, hidden_size={hidden_size})"
            expected = {"fc1": (input_size, hidden_size), "fc2": (hidden_size, hidden_size), "fc3": (hidden_size, 1)}
            for layer, (name, (n_in, n_out)) in zip(_layers(net), expected.items()):
                got = (layer.in_features, layer.out_features)
                assert got == (n_in, n_out), (
                    f"{where}: {name} maps {got[0]} inputs to {got[1]} outputs, expected {n_in} -> {n_out}"
                )
                assert layer.bias is not None, f"{where}: {name} must have a bias"
            n_params = sum(p.numel() for p in net.parameters())
            expected_params = sum(a * b + b for a, b in expected.values())
            assert n_params == expected_params, (
                f"{where} has {n_params} parameters, expected {expected_params} (fc1, fc2, fc3 and nothing else)"
            )
            for n in (1, 13):
                out = net(torch.randn(n, input_size))
                assert isinstance(out, torch.Tensor), f"forward must return a tensor, got {type(out).__name__}"
                assert tuple(out.shape) == (n, 1), (
                    f"{where}: an input of shape ({n}, {input_size}) gave an output of shape {tuple(out.shape)}, "
                    f"expected ({n}, 1)"
                )


def _fixed_parameters(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights and biases of a 2-100-100-1 network whose pre-activations are often negative.

    Inputs lie in [-3, 3]^2.  Layer 1 has unit-variance weights and biases around -0.5;
    layers 2 and 3 have weights of sd 0.15, so every layer's pre-activations are of
    order 1 and of both signs: ReLU, tanh, a missing ELU or an extra one all change
    the output by far more than float32 rounding.
    """
    shapes = [(100, 2), (100, 100), (1, 100)]
    scales = [1.0, 0.15, 0.15]
    return [(rng.normal(0, s, size=shape), rng.normal(-0.5, 0.5, size=shape[0])) for shape, s in zip(shapes, scales)]


def _forward(z: torch.Tensor, params, act1, act2, act3=lambda x: x) -> torch.Tensor:
    a = z
    for (W, b), act in zip(params, (act1, act2, act3)):
        a = act(a @ torch.as_tensor(W).T + torch.as_tensor(b))
    return a


# Answers we can recognise, to tell the student what their forward seems to do.
_LOOKALIKES = {
    "ReLU instead of ELU": (F.relu, F.relu, lambda x: x),
    "tanh instead of ELU": (torch.tanh, torch.tanh, lambda x: x),
    "sigmoid instead of ELU": (torch.sigmoid, torch.sigmoid, lambda x: x),
    "no activation after fc1": (lambda x: x, F.elu, lambda x: x),
    "no activation after fc2": (F.elu, lambda x: x, lambda x: x),
    "no activation at all": (lambda x: x, lambda x: x, lambda x: x),
    "an ELU after fc3 too": (F.elu, F.elu, F.elu),
}


def activation(Net) -> None:
    """With weights set by the check, forward computes fc3(ELU(fc2(ELU(fc1(z))))) exactly."""
    with seeded(2) as rng:
        net = Net()
        params = _fixed_parameters(rng)
        z = torch.as_tensor(rng.uniform(-3, 3, size=(64, 2)))
    with torch.no_grad():
        for name, layer, (W, b) in zip(LAYERS, _layers(net), params):
            assert tuple(layer.weight.shape) == W.shape, (
                f"Net(): the weights of {name} have shape {tuple(layer.weight.shape)}, expected {W.shape}"
            )
            layer.weight.copy_(torch.as_tensor(W))
            layer.bias.copy_(torch.as_tensor(b))
        got = net(z.to(net.fc1.weight.dtype))
    assert isinstance(got, torch.Tensor), f"forward must return a tensor, got {type(got).__name__}"
    got = got.detach().double().reshape(-1)
    expected = _forward(z, params, F.elu, F.elu).reshape(-1)
    assert got.numel() == expected.numel(), f"forward returned {got.numel()} numbers for {len(z)} inputs"
    if torch.allclose(got, expected, rtol=1e-4, atol=1e-4):
        return
    hint = ""
    for what, acts in _LOOKALIKES.items():
        if torch.allclose(got, _forward(z, params, *acts).reshape(-1), rtol=1e-4, atol=1e-4):
            hint = f" Your forward seems to use {what}."
            break
    worst = int((got - expected).abs().argmax())
    assert False, (
        "with weights set by the test, t(z) should be fc3(ELU(fc2(ELU(fc1(z))))): at "
        f"z = {z[worst].tolist()} it is {got[worst].item():.6f}, expected {expected[worst].item():.6f}.{hint}"
    )


def initialisation_z_scores(Net) -> dict[str, float]:
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
    for k, sigma in enumerate(SIGMAS):
        with seeded(10 + k):
            net = Net(sigma=sigma)
        for name, layer in zip(LAYERS, _layers(net)):
            w = layer.weight.detach().double().reshape(-1)
            m = w.numel()
            out[f"{name} weights, sigma={sigma}: mean"] = w.mean().item() / (sigma / math.sqrt(m))
            out[f"{name} weights, sigma={sigma}: sd"] = (w.std().item() - sigma) / (sigma / math.sqrt(2 * (m - 1)))
            within = (w.abs() < sigma).double().mean().item()
            out[f"{name} weights, sigma={sigma}: fraction within one sigma"] = (within - WITHIN_ONE_SD) / math.sqrt(
                WITHIN_ONE_SD * (1 - WITHIN_ONE_SD) / m
            )
    return out


def initialisation(Net) -> None:
    """Weights are N(0, sigma^2) samples for several sigma (the argument is used); biases are exactly 0."""
    for k, sigma in enumerate(SIGMAS):
        with seeded(10 + k):
            net = Net(sigma=sigma)
        for name, layer in zip(LAYERS, _layers(net)):
            nonzero = int(torch.count_nonzero(layer.bias.detach()))
            assert nonzero == 0, f"Net(sigma={sigma}): {nonzero} biases of {name} are not 0; every bias starts at 0"
        for name, layer in zip(LAYERS, _layers(net)):
            w = layer.weight.detach().double()
            assert abs(w.std().item() - sigma) < 0.5 * sigma, (
                f"Net(sigma={sigma}): the weights of {name} have standard deviation {w.std().item():.4g}, "
                f"expected sigma = {sigma} (is the sigma argument used, as a standard deviation?)"
            )
    for what, z in initialisation_z_scores(Net).items():
        assert abs(z) <= Z_TOL, (
            f"{what} is {z:+.1f} standard errors from its value for N(0, sigma^2) weights "
            f"(allowed: {Z_TOL:g}); draw the weights with torch.nn.init.normal_(weight, 0.0, sigma)"
        )
