"""Kernel side of the checks of notebook 03: build the student's ``Net`` and look inside."""
from __future__ import annotations

import torch

from . import seeded

LAYERS = ("fc1", "fc2", "fc3")


def _layer_info(net) -> dict:
    out = {}
    for name in LAYERS:
        layer = getattr(net, name, None)
        info = {"type": type(layer).__name__}
        if isinstance(layer, torch.nn.Linear):
            info.update(n_in=layer.in_features, n_out=layer.out_features, bias=layer.bias is not None,
                        weight_shape=list(layer.weight.shape))
        out[name] = info
    return out


def build(ns: dict, configs: list, check_seed: int) -> list:
    """For each [input_size, hidden_size] (None: ``Net()``): the layers, the number of
    parameters and the output shape of batches of 1 and 13 inputs."""
    out = []
    with seeded(check_seed):
        for config in configs:
            net = ns["Net"]() if config is None else ns["Net"](input_size=config[0], hidden_size=config[1])
            info = {"module": isinstance(net, torch.nn.Module), "type": type(net).__name__}
            if info["module"]:
                info["layers"] = _layer_info(net)
                info["n_params"] = sum(p.numel() for p in net.parameters())
                outputs = []
                for n in (1, 13):
                    got = net(torch.randn(n, 2 if config is None else config[0]))
                    outputs.append({"type": type(got).__name__, "shape": list(getattr(got, "shape", []))})
                info["outputs"] = outputs
            out.append(info)
    return out


def forward(ns: dict, params: list, z, check_seed: int) -> dict:
    """``Net()`` with the weights and biases ``params`` [[W, b], ...] of fc1, fc2, fc3 put in,
    called on the inputs ``z``."""
    with seeded(check_seed):
        net = ns["Net"]()
    info = {"layers": _layer_info(net)}
    for name, (W, b) in zip(LAYERS, params):
        layer = getattr(net, name, None)
        if not isinstance(layer, torch.nn.Linear) or list(layer.weight.shape) != list(W.shape):
            return info
    with torch.no_grad():
        for name, (W, b) in zip(LAYERS, params):
            layer = getattr(net, name)
            layer.weight.copy_(torch.tensor(W))
            layer.bias.copy_(torch.tensor(b))
        first = next(net.parameters())
        got = net(torch.tensor(z, dtype=first.dtype, device=first.device))
    info["output"] = {"type": type(got).__name__}
    if isinstance(got, torch.Tensor):
        info["output"]["value"] = got.detach().double().cpu().numpy()
    return info


def init(ns: dict, sigmas: list, check_seed: int) -> list:
    """The initial weights and biases of ``Net(sigma=s)`` for each s, each built under its own seed."""
    out = []
    for k, sigma in enumerate(sigmas):
        with seeded(check_seed + k):
            net = ns["Net"](sigma=sigma)
        layers = {}
        for name in LAYERS:
            layer = getattr(net, name, None)
            if isinstance(layer, torch.nn.Linear):
                layers[name] = {"weight": layer.weight.detach().double().cpu().numpy(),
                                "bias": None if layer.bias is None else layer.bias.detach().double().cpu().numpy()}
            else:
                layers[name] = {"type": type(layer).__name__}
        out.append(layers)
    return out
