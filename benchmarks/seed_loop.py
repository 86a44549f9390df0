"""The seed notebook's training loop, rebuilt as the baseline of benchmarks/bench.py.

This is the *algorithm* of the seed's ``DVTrainer.step``, written anew for timing and
nothing else: students never see it.  It does what the seed did, step for step, so
that "how much faster is the course's trainer" compares like with like:

* the data are float32 tensors on the device;
* each epoch draws two permutations with ``torch.randperm`` **on the CPU**, one for
  Z and one for Z';
* minibatch ``j`` of an epoch takes every ``n_iters_per_epoch``-th sample of the
  permutation, starting at ``j``;
* the loss is minus the DV bound of the minibatch, with **two** forward passes of
  the network (one for Z, one for Z');
* Adam (lr 1e-3 by default) takes one step per minibatch;
* every step writes its loss to TensorBoard with ``loss.item()`` (a device sync);
* after every epoch the bound on all the training data is computed and read
  back with ``.item()``.

Two errors of the seed are fixed here, because keeping them would make the
baseline do less work than a correct trainer (the table in docs/errata.md):
#8 (the seed indexed minibatches with the *epoch* counter, so an epoch reused one
batch ten times) and #9 (the seed's estimate read notebook globals instead of the
trainer's own data).  Its mutable default argument (#10) is not copied either.
"""
from __future__ import annotations

import math
import tempfile

import torch
from torch import nn
from torch.nn import functional as F


class SeedNet(nn.Module):
    """The seed's critic: 2 -> 100 -> 100 -> 1 with ELU, weights N(0, 0.02^2), biases 0."""

    def __init__(self, input_size: int = 2, hidden_size: int = 100, sigma: float = 0.02):
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Linear(input_size, hidden_size), nn.Linear(hidden_size, hidden_size), nn.Linear(hidden_size, 1)]
        )
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=sigma)
            nn.init.zeros_(layer.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        first, second, last = self.layers
        return last(F.elu(second(F.elu(first(z)))))


def seed_dv(Z: torch.Tensor, Z_ref: torch.Tensor, net: nn.Module) -> torch.Tensor:
    """The DV bound mean t(Z) - log mean exp t(Z'), one forward pass per sample set."""
    mean_t = net(Z).mean()
    log_mean_exp = torch.logsumexp(net(Z_ref), dim=0).squeeze() - math.log(Z_ref.shape[0])
    return mean_t - log_mean_exp


class SeedLoop:
    """Trainer with the seed's interface and algorithm (bugs #8, #9, #10 fixed).

    ``logdir=None`` logs to a fresh temporary folder, as the seed's SummaryWriter()
    logged to a fresh folder under runs/.
    """

    def __init__(self, Z, Z_ref, net, n_iters_per_epoch: int = 10, logdir: str | None = None, lr: float = 1e-3):
        from torch.utils.tensorboard import SummaryWriter

        self.Z, self.Z_ref, self.net = Z, Z_ref, net
        self.n_iters_per_epoch = n_iters_per_epoch
        self.optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        self._tmp = None
        if logdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="seed-loop-runs-", ignore_cleanup_errors=True)
            logdir = self._tmp.name
        self.writer = SummaryWriter(log_dir=logdir)
        self.n_iter = 0
        self.n_epoch = 0

    def step(self, epochs: int = 1) -> float:
        k = self.n_iters_per_epoch
        estimate = float("nan")
        for _ in range(epochs):
            self.n_epoch += 1
            order = torch.randperm(self.Z.shape[0])  # on the CPU, as in the seed
            order_ref = torch.randperm(self.Z_ref.shape[0])
            for j in range(k):
                self.n_iter += 1
                self.optimizer.zero_grad()
                batch = self.Z[order[j::k]]  # j, the batch counter (bug #8 fixed)
                batch_ref = self.Z_ref[order_ref[j::k]]
                loss = -seed_dv(batch, batch_ref, self.net)
                loss.backward()
                self.optimizer.step()
                self.writer.add_scalar("Loss/train", loss.item(), global_step=self.n_iter)
            with torch.no_grad():
                estimate = seed_dv(self.Z, self.Z_ref, self.net).item()  # own data (bug #9 fixed)
            self.writer.add_scalar("Estimate", estimate, global_step=self.n_epoch)
        return estimate

    def close(self) -> None:
        self.writer.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
