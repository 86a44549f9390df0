"""The staircase benchmark (benchmarks/staircase.py): what it computes, not how fast.

One quick run (separable critics, the five stages at 50 steps each instead of the quick
mode's 100, to keep the file near 20 s on 2 busy cores) is shared by the tests: its
estimates have the right shape and are finite, InfoNCE never passes its ceiling log 64,
and its JSON holds every stage, estimator and task. A shorter run checks that training
the critics together gives, step by step, the estimates of training them one by one.
Timings are never asserted (benchmarks/README.md).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from .conftest import benchmark_module

STEPS = 50


@pytest.fixture(scope="module")
def staircase():
    return benchmark_module("staircase")


@pytest.fixture(scope="module")
def quick(staircase, tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("staircase")
        results = staircase.run(quick=True, steps=STEPS, out_dir=out, speed_steps=2, speed_repeats=1,
                                keep_estimates=True, log=lambda *a: None)
    finally:
        torch.set_num_threads(threads)
    return results, out


def test_estimates_have_the_expected_shape_and_are_finite(staircase, quick):
    results, _ = quick
    assert list(results["estimates"]) == ["separable"]  # --quick: one critic kind
    estimates = results["estimates"]["separable"]
    assert estimates.shape == (len(staircase.STAGES) * STEPS, len(staircase.NAMES), len(staircase.TASKS))
    assert np.isfinite(estimates).all()


def test_infonce_never_exceeds_log_k(staircase, quick):
    results, _ = quick
    estimates = results["estimates"]["separable"][:, staircase.NAMES.index("InfoNCE"), :]
    # Each term S_ii - logsumexp_j S_ij is <= 0, so every batch's InfoNCE is <= log K, up to
    # float32 rounding of the logsumexp.
    assert estimates.max() <= math.log(64) + 1e-4
    for task, rows in results["runs"]["separable"]["stats"].items():
        for row in rows["InfoNCE"]:
            window = results["config"]["stats_window"]
            assert row["mean"] <= math.log(64) + 2 * row["sd"] / math.sqrt(window), (task, row)


def test_json_holds_every_stage_estimator_and_task(staircase, quick):
    results, out = quick
    saved = json.loads((out / "staircase.json").read_text())
    assert (out / "staircase.png").stat().st_size > 0
    assert "estimates" not in saved  # the per-step estimates stay out of the file
    assert saved["config"]["stages"] == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert saved["config"]["steps_per_stage"] == STEPS
    stats = saved["runs"]["separable"]["stats"]
    assert set(stats) == {"gaussian", "cubic"}
    for task in stats.values():
        assert list(task) == ["MINE", "NWJ", "InfoNCE", "NWJ (JS)", "SMILE tau=1", "SMILE tau=5", "SMILE tau=inf"]
        for rows in task.values():
            assert [r["mi"] for r in rows] == saved["config"]["stages"]
            for r in rows:
                assert set(r) == {"mi", "mean", "bias", "sd", "mse", "ema_end", "nonfinite"}
                assert r["bias"] == pytest.approx(r["mean"] - r["mi"])
                assert r["mse"] == pytest.approx(r["bias"] ** 2 + r["sd"] ** 2 * (1 - 1 / (STEPS // 2)), rel=1e-6)
    speed = saved["speed"]["separable"]
    assert speed["critics"] == 14 and speed["ratio"] > 0 and speed["ceiling_ratio"] > 0
    assert len(saved["runs"]["separable"]["ema"]) == len(saved["config"]["stages"]) * STEPS // 10


def test_together_gives_the_estimates_of_one_by_one(staircase):
    """The same seed, the same batches: the stacked critics (one baddbmm per layer, the
    course's functions under vmap, one Adam) and the 14 modules with their 14 Adams agree
    step by step to float rounding, MINE's moving average included."""
    for kind, steps in (("separable", 8), ("concat", 1)):
        together, _ = staircase.train(kind, steps, seed=3, together=True, stages=(2.0, 8.0))
        alone, _ = staircase.train(kind, steps, seed=3, together=False, stages=(2.0, 8.0))
        assert together.shape == alone.shape == (2 * steps, 7, 2)
        np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-4)


def test_stacked_critics_are_the_modules(staircase):
    torch.manual_seed(0)
    for cls in (staircase.SeparableCritic, staircase.ConcatCritic):
        critics = [cls() for _ in range(3)]
        stack = staircase.StackedCritics(critics, chunk=2)  # two chunks: 2 + 1
        x, y = torch.randn(3, 64, 20), torch.randn(3, 64, 20)
        with torch.no_grad():
            got = stack(x, y)
            want = torch.stack([c(x[i], y[i]) for i, c in enumerate(critics)])
        assert got.shape == (3, 64, 64)
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
        for critic, state in zip(critics, stack.state_dicts()):
            for name, value in critic.state_dict().items():
                torch.testing.assert_close(state[name], value)


def test_off_diagonal_and_the_protocol(staircase):
    S = torch.arange(16.0).view(4, 4)
    assert staircase.off_diagonal(S).tolist() == [v for i, row in enumerate(S.tolist()) for j, v in enumerate(row) if i != j]
    assert staircase.diagonal(S).tolist() == [0.0, 5.0, 10.0, 15.0]
    for name in staircase.TASKS:
        task = staircase.make_task(name, 6.0)
        assert task.mi == pytest.approx(6.0) and (task.dim_x, task.dim_y) == (20, 20)
    assert staircase.ema(np.ones(5)).tolist() == pytest.approx([1.0] * 5)
    # pandas' ewm(span=3).mean() of 0, 1: weights 1/2 and 1 on the two steps
    assert staircase.ema(np.array([0.0, 1.0]), span=3)[1] == pytest.approx(1 / 1.5)


def test_the_course_answers_of_mine(staircase):
    """mine_loss and update_average are notebook 06's answers, read from source/."""
    t_ref = torch.tensor([0.0, 1.0], requires_grad=True)
    m = staircase.update_average(None, t_ref, 0.01)
    assert float(m) == pytest.approx((1 + math.e) / 2) and not m.requires_grad
    staircase.mine_loss(torch.tensor([1.0, 2.0], requires_grad=True), t_ref, m).backward()
    torch.testing.assert_close(t_ref.grad, torch.tensor([1.0, math.e]) / (2 * m))


def test_the_bench_has_the_section_and_its_verdict():
    bench = benchmark_module("bench")
    assert "staircase" in bench.SECTIONS and "staircase_speedup" in bench.TARGETS
    speed = {"separable": {"ratio": 4.2, "ceiling_ratio": 6.0}, "concat": {"ratio": 1.0, "ceiling_ratio": 1.3}}
    verdict, detail = bench.verdicts({"staircase": {"speed": speed}})["staircase_speedup"]
    assert verdict == "PASS" and "concat: 1.00x" in detail
    speed["separable"]["ratio"] = 2.0
    assert bench.verdicts({"staircase": {"speed": speed}})["staircase_speedup"][0] == "MISS"
    assert bench.verdicts({})["staircase_speedup"][0] == "SKIP"


def test_runs_of_several_seeds_side_by_side(staircase, quick, tmp_path):
    """--combine: the mean of the stage means over the seeds, their SE, and the call at 2 SE;
    a seed whose stage mean is not finite is left out of that cell and counted."""
    _, out = quick
    base = json.loads((out / "staircase.json").read_text())
    paths = []
    for seed, shift in ((0, 0.0), (1, 0.2), (2, 0.4)):
        run = json.loads(json.dumps(base))
        run["config"]["seed"] = seed
        for task in run["runs"]["separable"]["stats"].values():
            for rows in task.values():
                for row in rows:
                    row["mean"] = row["mi"] + 1.0 + shift  # biases 1.0, 1.2, 1.4: mean 1.2, SE 0.2/sqrt(3)
        run["runs"]["separable"]["stats"]["cubic"]["NWJ"][0]["mean"] = float("nan") if seed == 2 else 2.0
        paths.append(tmp_path / f"s{seed}.json")
        paths[-1].write_text(json.dumps(run))
    lines = []
    combined = staircase.combine(paths, log=lines.append)
    assert combined["seeds"] == [0, 1, 2]
    cell = combined["cells"]["separable"]["gaussian"]["InfoNCE"][2]
    assert cell["mean"] == pytest.approx(cell["mi"] + 1.2) and cell["se"] == pytest.approx(0.2 / math.sqrt(3))
    assert cell["call"] == "+" and cell["seeds"] == 3
    nwj = combined["cells"]["separable"]["cubic"]["NWJ"][0]
    assert nwj["seeds"] == 2 and nwj["nonfinite_seeds"] == 1 and nwj["mean"] == pytest.approx(2.0)
    assert nwj["call"] == "~"  # both seeds exactly at I = 2: SE 0
    assert any("gaussian:" in line for line in lines)
    with pytest.raises(SystemExit, match="different seeds"):
        staircase.combine([paths[0], paths[0]], log=lines.append)
    figure = tmp_path / "seeds.svg"  # --figure: one panel per critic kind, task and estimator
    staircase.plot_seeds(combined, figure)
    text = figure.read_text()
    assert text.startswith("<?xml") and "over 3 seeds" in text
    assert all(name in text for name in combined["names"])
