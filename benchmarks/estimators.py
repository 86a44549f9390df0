"""[estimators]: bias and sd of DV, NWJ, InfoNCE and SMILE (notebook 07), each trained the same
way for rho in MI_RHOS, next to each one's noise floor with the optimal critic; plotted."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from trainers import correlate, truth


MI_RHOS = (0.5, 0.9, 0.99, 0.999)
MI_K = 16  # pairs per batch: the K x K score matrix of notebook 07
MI_TAU = 1.0  # SMILE's clipping
MI_LR = 1e-3
MI_TEST = 1024  # held-out pairs per evaluation (64 batches of K for InfoNCE)
MI_ESTIMATORS = ("DV", "NWJ", "InfoNCE", "SMILE")


def _mi_pairs(rho: float, n: int, generator, device) -> torch.Tensor:
    """n pairs (x, y) of N(0, [[1, rho], [rho, 1]]), float32 on ``device``."""
    return correlate(torch.randn(n, 2, generator=generator), rho).to(device)


def _mi_scores(critic, Z: torch.Tensor) -> torch.Tensor:
    """S[..., i, j] = critic((x_i, y_j)) for batches Z of shape (..., K, 2)."""
    K = Z.shape[-2]
    x = Z[..., :, None, 0].expand(*Z.shape[:-2], K, K)
    y = Z[..., None, :, 1].expand(*Z.shape[:-2], K, K)
    return critic(torch.stack([x, y], dim=-1).reshape(-1, 2)).reshape(*Z.shape[:-2], K, K)


def _mi_objectives(ref) -> dict:
    """The objective each critic is trained with, on a K x K score matrix (notebook 07): DV and NWJ
    read the diagonal as the samples of P_XY and the other entries as the shuffled reference;
    "JS" (Jensen-Shannon, whose best critic is t*) trains the critic SMILE reads, as Song and
    Ermon do."""
    off = ~torch.eye(MI_K, dtype=torch.bool)

    def split(S):
        return S.diagonal(), S[off.to(S.device)]

    return {
        "DV": lambda S: ref.DV(split(S)[0][:, None], split(S)[1][:, None], lambda v: v),
        "NWJ": lambda S: ref.nwj(*split(S)),
        "InfoNCE": ref.infonce,
        "JS": lambda S: -F.softplus(-split(S)[0]).mean() - F.softplus(split(S)[1]).mean(),
    }


def _mi_train(ref, objective, rho: float, seed: int, steps: int, device) -> torch.nn.Module:
    """The course's Net trained by Adam to maximise ``objective`` on batches of K pairs at rho."""
    torch.manual_seed(seed)
    net = ref.Net().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=MI_LR)
    generator = torch.Generator().manual_seed(10_000 + seed)  # the same batches for every objective
    for _ in range(steps):
        value = objective(_mi_scores(net, _mi_pairs(rho, MI_K, generator, device)))
        optimizer.zero_grad()
        (-value).backward()
        optimizer.step()
    return net


def _mi_evaluate(ref, critics: dict, rho: float, generator, device) -> dict:
    """Each estimator on fresh held-out pairs, with its critic: DV, NWJ and SMILE on MI_TEST
    pairs and their shuffled reference (notebook 07's shuffle_reference), InfoNCE averaged over
    the MI_TEST / K batches of K pairs. SMILE reads the critic trained with Jensen-Shannon, as in
    notebook 07."""
    Z = _mi_pairs(rho, MI_TEST, generator, device)
    Z_ref = ref.shuffle_reference(Z, generator)
    out = {}
    with torch.no_grad():
        for name in ("DV", "NWJ", "SMILE"):
            critic = critics["JS" if name == "SMILE" else name]
            t, t_ref = critic(Z).squeeze(-1), critic(Z_ref).squeeze(-1)
            if name == "DV":
                out[name] = ref.DV(Z, Z_ref, critic).item()
            elif name == "NWJ":
                out[name] = ref.nwj(t, t_ref).item()
            else:
                out[name] = ref.smile(t, t_ref, MI_TAU).item()
        S = _mi_scores(critics["InfoNCE"], Z.reshape(-1, MI_K, 2))
        out["InfoNCE"] = float(np.mean([ref.infonce(s).item() for s in S]))
    return out


def _mi_plot(out: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    info = [truth(r) for r in MI_RHOS]
    fig, axes = plt.subplots(1, len(MI_ESTIMATORS), figsize=(4 * len(MI_ESTIMATORS), 3.6), sharey=True,
                             layout="constrained")
    for ax, name in zip(axes, MI_ESTIMATORS):
        rows = [out[str(r)][name] for r in MI_RHOS]
        floor = np.array([[r["floor_mean"], r["floor_sd"]] for r in rows])
        ax.fill_between(info, floor[:, 0] - floor[:, 1], floor[:, 0] + floor[:, 1], alpha=0.25,
                        label="optimal critic: mean +- sd")
        ax.errorbar(info, [r["mean"] for r in rows], yerr=[r["sd"] or 0.0 for r in rows], marker="o", capsize=3,
                    label="trained: mean +- sd over seeds")
        ax.plot(info, info, c="k", lw=0.8, label="$I(X;Y)$")
        ax.axhline(math.log(MI_K), c="tab:red", ls="--", lw=0.8, label="log K")
        ax.set(title=name + (f" (tau = {MI_TAU:g})" if name == "SMILE" else ""), xlabel="I(X;Y) [nats]")
    axes[0].set_ylabel("estimate")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def section_estimators(args, results):
    """Bias and sd of DV, NWJ, InfoNCE and SMILE after the same training, next to each one's
    noise floor with the optimal critic (t*, and t* + 1 for NWJ), for rho in MI_RHOS."""
    try:
        import nde_grader.reference as ref

        ref.nwj, ref.infonce, ref.smile, ref.shuffle_reference, ref.OptimalCritic  # noqa: B018 (present?)
    except Exception as exc:  # the reference module is generated; it may lack them
        print(f"  the estimators of notebook 07 are not in nde_grader.reference ({type(exc).__name__}: {exc}): skipped")
        results["estimators"] = {"skipped": str(exc)}
        return
    device = "cuda" if args.device == "cuda" and torch.cuda.is_available() else "cpu"
    seeds = 1 if args.quick else 4
    steps = 300 if args.quick else 1500
    floor_reps = 100 if args.quick else 1000
    objectives = _mi_objectives(ref)
    out = {"seeds": seeds, "steps": steps, "batch_pairs": MI_K, "lr": MI_LR, "test_pairs": MI_TEST, "tau": MI_TAU,
           "floor_repetitions": floor_reps, "device": device}
    print(f"  the course's Net, Adam (lr {MI_LR:g}), {steps} steps on batches of K = {MI_K} pairs, {seeds} seed(s) per rho;"
          f" each estimate on {MI_TEST} fresh held-out pairs")
    print(f"  floor: the same estimate with the optimal critic (t*, t* + 1 for NWJ), {floor_reps} held-out draws;"
          f" SMILE (tau = {MI_TAU:g}) reads a critic trained with Jensen-Shannon; log K = {math.log(MI_K):.3f}")
    print(f"  {'rho':>6} {'I':>6}  {'estimator':9}  {'trained: bias':>13} {'sd':>6}   {'floor: bias':>11} {'sd':>6}")
    for rho in MI_RHOS:
        info = truth(rho)
        trained = {name: [] for name in MI_ESTIMATORS}
        for seed in range(seeds):
            critics = {name: _mi_train(ref, objective, rho, seed, steps, device) for name, objective in objectives.items()}
            generator = torch.Generator().manual_seed(20_000 + seed)
            for name, value in _mi_evaluate(ref, critics, rho, generator, device).items():
                trained[name].append(value)
        star = ref.OptimalCritic(rho)
        floor_critics = {"DV": star, "NWJ": lambda z: star(z) + 1, "InfoNCE": star, "JS": star}
        generator = torch.Generator().manual_seed(30_000)
        floor = {name: [] for name in MI_ESTIMATORS}
        for _ in range(floor_reps):
            for name, value in _mi_evaluate(ref, floor_critics, rho, generator, device).items():
                floor[name].append(value)
        row = {}
        for name in MI_ESTIMATORS:
            t, f = np.array(trained[name]), np.array(floor[name])
            row[name] = {"estimates": t.tolist(), "mean": float(t.mean()), "bias": float(t.mean() - info),
                         "sd": float(t.std(ddof=1)) if len(t) > 1 else None,
                         "floor_mean": float(f.mean()), "floor_bias": float(f.mean() - info), "floor_sd": float(f.std(ddof=1))}
            r = row[name]
            sd = f"{r['sd']:6.3f}" if seeds > 1 else f"{'-':>6}"
            print(f"  {rho:6} {info:6.3f}  {name:9}  {r['bias']:+13.3f} {sd}   {r['floor_bias']:+11.3f} {r['floor_sd']:6.3f}")
        out[str(rho)] = row
    plot = Path(args.plot) if args.plot else Path(tempfile.gettempdir()) / "nde-bench-estimators.png"
    try:
        plot.parent.mkdir(parents=True, exist_ok=True)
        _mi_plot(out, plot)
        out["plot"] = str(plot)
        print(f"  plot: {plot}")
    except Exception as exc:  # a plot that cannot be written costs the plot only
        print(f"  no plot ({type(exc).__name__}: {exc})")
    results["estimators"] = out


