"""[speed] and [ablation]: seconds per optimiser step of the course's DVTrainer against the
seed notebook's loop, and of the seed loop with one change at a time (what each is worth)."""
from __future__ import annotations

import math
import tempfile

import torch

from seed_loop import SeedNet, seed_dv
from trainers import (CALLS, DEFAULT_THREADS, EPOCHS, ITERS, LR, course_api, devices, interleaved, make_course,
                      make_seed)



class VariantLoop:
    """The seed loop with the changes of the ablation switched on one by one.

    concat           one forward pass on torch.cat((batch, batch_ref)) instead of two
    sync_per_step    loss.item() every step (seed); False: the epoch's losses are read
                     back in one transfer after the epoch
    writer           log to TensorBoard (seed); False: no SummaryWriter at all
    perm_on_device   torch.randperm(..., device=...) instead of on the CPU
    adam             None (torch's default), "foreach" or "fused"
    estimate_every   "epoch" (seed) or "call": the estimate once per step() call
    threads          torch.set_num_threads during the run (None: leave it)
    compile          torch.compile the network
    """

    def __init__(self, Z, Z_ref, net, *, concat=False, sync_per_step=True, writer=True, perm_on_device=False,
                 adam=None, estimate_every="epoch", threads=None, compile=False):
        self.Z, self.Z_ref, self.net = Z, Z_ref, net
        self.fwd = torch.compile(net) if compile else net
        self.concat, self.sync_per_step, self.perm_on_device = concat, sync_per_step, perm_on_device
        self.estimate_every, self.threads = estimate_every, threads
        kw = {"foreach": True} if adam == "foreach" else {"fused": True} if adam == "fused" else {}
        self.optimizer = torch.optim.Adam(net.parameters(), lr=LR, **kw)
        self._tmp, self.writer = None, None
        if writer:
            from torch.utils.tensorboard import SummaryWriter

            self._tmp = tempfile.TemporaryDirectory(prefix="bench-runs-", ignore_cleanup_errors=True)
            self.writer = SummaryWriter(log_dir=self._tmp.name)
        self.n_iter = self.n_epoch = 0

    def _dv(self, Z, Z_ref):
        if not self.concat:
            return seed_dv(Z, Z_ref, self.fwd)
        t = self.fwd(torch.cat((Z, Z_ref)))
        t_Z, t_ref = t[: len(Z)], t[len(Z):]
        return t_Z.mean() - (torch.logsumexp(t_ref, dim=0).squeeze() - math.log(len(Z_ref)))

    def step(self, epochs=1):
        saved = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            return self._step(epochs)
        finally:
            torch.set_num_threads(saved)

    def _step(self, epochs):
        perm_device = self.Z.device if self.perm_on_device else "cpu"
        estimate = float("nan")
        for e in range(epochs):
            self.n_epoch += 1
            order = torch.randperm(len(self.Z), device=perm_device)
            order_ref = torch.randperm(len(self.Z_ref), device=perm_device)
            losses = []
            for j in range(ITERS):
                self.n_iter += 1
                self.optimizer.zero_grad()
                loss = -self._dv(self.Z[order[j::ITERS]], self.Z_ref[order_ref[j::ITERS]])
                loss.backward()
                self.optimizer.step()
                if self.sync_per_step:
                    value = loss.item()
                    if self.writer:
                        self.writer.add_scalar("Loss/train", value, global_step=self.n_iter)
                else:
                    losses.append(loss.detach())
            if losses and self.writer:
                first = self.n_iter - len(losses) + 1
                for i, value in enumerate(torch.stack(losses).tolist()):
                    self.writer.add_scalar("Loss/train", value, global_step=first + i)
            if self.estimate_every == "epoch" or e == epochs - 1:
                with torch.no_grad():
                    estimate = self._dv(self.Z, self.Z_ref).item()
                if self.writer:
                    self.writer.add_scalar("Estimate", estimate, global_step=self.n_epoch)
        return estimate

    def close(self):
        if self.writer:
            self.writer.close()
            self._tmp.cleanup()


ABLATION = {
    "seed loop (baseline)": {},
    "one forward pass on cat(B, B')": {"concat": True},
    "losses read once per epoch": {"sync_per_step": False},
    "no TensorBoard writer": {"writer": False, "sync_per_step": False},
    "randperm on the device": {"perm_on_device": True},
    "Adam(foreach=True)": {"adam": "foreach"},
    "Adam(fused=True)": {"adam": "fused"},
    "estimate once per step() call": {"estimate_every": "call"},
    "all of the above": {"concat": True, "sync_per_step": False, "perm_on_device": True, "adam": "foreach",
                         "estimate_every": "call"},
    # The floor of eager PyTorch for this algorithm: one forward pass, backward and a fused
    # Adam step per minibatch, and nothing else (no log, one estimate per call). No trainer
    # that logs and estimates as the lesson asks can be faster than this.
    "floor: forward, backward, fused Adam": {"concat": True, "sync_per_step": False, "writer": False,
                                             "perm_on_device": True, "adam": "fused", "estimate_every": "call"},
}


def make_variant(device, options):
    def make(Z, Z_ref):
        return VariantLoop(Z, Z_ref, SeedNet().to(device), **options)

    return make


def section_speed(args, results):
    repeats = 2 if args.quick else 5
    epochs = 20 if args.quick else EPOCHS
    calls = 2 if args.quick else CALLS
    DVTrainer, why = course_api()
    out = {"epochs_per_run": epochs, "calls_per_run": calls, "repeats": repeats, "torch_threads": torch.get_num_threads()}
    if DVTrainer is None:
        print(f"  the course's trainer cannot be imported from nde_grader.reference ({why}): timing the seed loop only")
    if not torch.cuda.is_available():
        print("  no CUDA device here: the CUDA timings are skipped")
    for device in devices(args.device):
        contenders = {"seed": make_seed(device)}
        if DVTrainer is not None:
            contenders["course"] = make_course(device)
        res = interleaved(contenders, device, repeats, epochs, calls, baseline="seed")
        out[device] = res
        print(f"  {device}: {repeats} runs of {epochs} epochs x {ITERS} steps each, as {calls} calls of step({epochs // calls}),"
              " interleaved call by call; medians")
        for name, r in res.items():
            print(f"    {name:8} {r['ms_per_step']:6.2f} ms/step (fastest call {r['ms_min']:.2f}, slowest {r['ms_max']:.2f})"
                  f"   CPU time {r['cpu_ms_per_step']:6.2f} ms/step")
        if "course" in res:
            c = res["course"]
            print(f"    seed/course = {c['speedup_vs_baseline']:.2f}x wall (median of paired calls),"
                  f" {c['cpu_speedup_vs_baseline']:.2f}x CPU time")
    if "cpu" in out and "cuda" in out and "course" in out["cpu"]:
        out["cuda_vs_cpu"] = out["cpu"]["course"]["ms_per_step"] / out["cuda"]["course"]["ms_per_step"]
        print(f"  course trainer: CPU/CUDA time per step = {out['cuda_vs_cpu']:.2f}x (CPU with {torch.get_num_threads()} threads)")
    results["speed"] = out


def section_ablation(args, results):
    repeats = 2 if args.quick else 3
    epochs = 10 if args.quick else 20
    calls = 2 if args.quick else 4
    variants = dict(ABLATION)
    if args.compile:
        variants["torch.compile(net)"] = {"compile": True}
    out = {"epochs_per_run": epochs, "calls_per_run": calls, "repeats": repeats}
    base = "seed loop (baseline)"
    for device in devices(args.device):
        contenders = {name: make_variant(device, opts) for name, opts in variants.items()}
        if course_api()[0] is not None:  # the course's trainer as it is, and with fused Adam
            contenders["course trainer"] = make_course(device)
            contenders["course trainer, Adam(fused=True)"] = make_course(device, fused=True)
        res = interleaved(contenders, device, repeats, epochs, calls, baseline=base)
        if device == "cpu" and DEFAULT_THREADS != torch.get_num_threads():
            # slow on a busy machine: a short separate measurement, two calls of one epoch
            name = f"torch's default threads ({DEFAULT_THREADS})"
            pair = {base: make_variant(device, {}), name: make_variant(device, {"threads": DEFAULT_THREADS})}
            res[name] = interleaved(pair, device, repeats, 2, 2, baseline=base)[name]
        out[device] = res
        print(f"  {device}: {repeats} runs of {epochs} epochs x {ITERS} steps per variant, as {calls} calls,"
              " interleaved call by call; speed-up = seed / variant (median of paired calls)")
        print(f"    {'variant':34} {'ms/step':>8} {'fastest':>8}  {'speed-up':>8}  {'CPU-time speed-up':>17}")
        for name, r in res.items():
            print(f"    {name:34} {r['ms_per_step']:8.2f} {r['ms_min']:8.2f}  {r['speedup_vs_baseline']:7.2f}x"
                  f"  {r['cpu_speedup_vs_baseline']:16.2f}x")
    results["ablation"] = out
