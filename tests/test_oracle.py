"""The course's bounds against an implementation written elsewhere: torch-mist's estimators.

The course's reference answers for DV (notebook 04), NWJ, InfoNCE and SMILE (07) and the
gradient of MINE's loss with its moving average (06) are computed on the same critic
values as torch-mist's (MIT; installed by `make setup` into .venv/oracle without its
numpy<2 pin, which its estimators do not need: requirements-oracle.txt). The comparison
runs in a process of its own, the only one that imports torch-mist and pyro.

torch-mist takes a critic, not values: a table critic gives critic(x_i, y_j) = S[i, j],
so the joint pairs are the diagonal of S and the product pairs its other entries (DV,
NWJ, SMILE: ``neg_samples=-1``), or every entry of each row (InfoNCE: ``neg_samples=0``).
torch-mist has no DV class: MINE's estimate is DV. Its loss for MINE differs from the
course's by a constant (−log of the average, +1): the gradients are compared.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from course import ROOT

ORACLE = ROOT / ".venv" / "oracle"

_COMPARE = r"""
import json, math, warnings
import torch
warnings.filterwarnings("ignore")
from torch_mist.critic import SeparableCritic
from torch_mist.estimators import MINE, NWJ, InfoNCE, SMILE
from nde_grader.reference import DV, infonce, nwj, smile
import importlib.util, sys
spec = importlib.util.spec_from_file_location("staircase", sys.argv[1])
staircase = importlib.util.module_from_spec(spec); sys.modules["staircase"] = staircase; spec.loader.exec_module(staircase)
torch.set_default_dtype(torch.float64)


class Table(SeparableCritic):
    def __init__(self, S):
        super().__init__()
        self.S = S

    def forward(self, x, y):
        x, y = torch.broadcast_tensors(x, y)
        return self.S[x[..., 0].long(), y[..., 0].long()]


gaps = {}
for seed, K, scale in ((0, 64, 2.0), (1, 16, 0.5), (2, 128, 4.0)):
    torch.manual_seed(seed)
    S = scale * torch.randn(K, K) + 3.0 * torch.eye(K)  # some values past tau = 1 and 5
    idx = torch.arange(K, dtype=torch.float64).unsqueeze(-1)
    off = ~torch.eye(K, dtype=torch.bool)
    t, t_ref = S.diagonal(), S[off]
    theirs = lambda cls, **kw: cls(critic=Table(S), **kw).mutual_information(idx, idx).item()
    ours = {
        "DV": DV(t.unsqueeze(-1), t_ref.unsqueeze(-1), lambda z: z).item(),
        "NWJ": nwj(t, t_ref).item(),
        "InfoNCE": infonce(S).item(),
        "SMILE tau=1": smile(t, t_ref, 1.0).item(),
        "SMILE tau=5": smile(t, t_ref, 5.0).item(),
    }
    other = {
        "DV": theirs(MINE, neg_samples=-1), "NWJ": theirs(NWJ, neg_samples=-1), "InfoNCE": theirs(InfoNCE, neg_samples=0),
        "SMILE tau=1": theirs(SMILE, neg_samples=-1, tau=1.0), "SMILE tau=5": theirs(SMILE, neg_samples=-1, tau=5.0),
    }
    for name in ours:
        gaps[f"{name}, K={K}"] = [ours[name], other[name]]

# MINE: five steps of the moving average, the loss's gradient with respect to every score
gamma, K = 0.9, 64
torch.manual_seed(3)
base = 2.0 * torch.randn(K, K) + 3.0 * torch.eye(K)
idx = torch.arange(K, dtype=torch.float64).unsqueeze(-1)
off = ~torch.eye(K, dtype=torch.bool)
estimator = MINE(critic=Table(None), neg_samples=-1, gamma=gamma)
estimator.train()
average = None
for step in range(5):
    S = (base + 0.5 * torch.randn(K, K)).requires_grad_(True)
    estimator.critic.S = S
    (theirs,) = torch.autograd.grad(estimator(idx, idx), S)
    estimator.__dict__.pop("__cache", None)  # torch-mist caches by its inputs, which stay the same here
    S2 = S.detach().clone().requires_grad_(True)
    average = staircase.update_average(average, S2[off], 1 - gamma)
    (ours,) = torch.autograd.grad(staircase.mine_loss(S2.diagonal(), S2[off], average), S2)
    gaps[f"MINE's gradient, step {step}"] = [0.0, (ours - theirs).abs().max().item()]
print(json.dumps(gaps))
"""


@pytest.mark.skipif(not (ORACLE / "torch_mist").is_dir(), reason="no .venv/oracle here: `make setup` installs it")
def test_the_course_bounds_agree_with_torch_mist():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ORACLE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    done = subprocess.run([sys.executable, "-c", _COMPARE, str(ROOT / "benchmarks" / "staircase.py")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    gaps = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(gaps) == 3 * 5 + 5
    for name, (ours, theirs) in gaps.items():
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9), f"{name}: the course {ours}, torch-mist {theirs}"
