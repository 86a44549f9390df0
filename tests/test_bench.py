"""The benchmark's own arithmetic: the noise floor it compares with, its verdicts, its JSON.

Timings are never asserted (benchmarks/README.md); these tests check that what the
benchmark reports is computed right, quickly, without training anything.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from .conftest import benchmark_module


@pytest.fixture(scope="module")
def bench():
    return benchmark_module("bench")


@pytest.fixture(scope="module")
def trainers():
    return benchmark_module("trainers")


@pytest.mark.parametrize("rho, sd", [(0.81, 0.05), (0.9, 0.06), (0.95, 0.075)])
def test_noise_floor_matches_the_known_sd(trainers, rho, sd):
    # The sd of the optimal critic's DV estimate at n = n' = 1000 (the issue quotes 0.05,
    # 0.06, 0.075). From 2000 repetitions the sample sd has a relative sd of about
    # 1/sqrt(2 * 2000) = 1.6% plus the excess kurtosis of the heavy-tailed estimate;
    # 15% is several times that.
    floor = trainers.noise_floor(rho, seeds=2000)
    assert floor["sd"] == pytest.approx(sd, rel=0.15)
    assert abs(floor["mean_error"]) < 4 * floor["sd"] / np.sqrt(2000)  # unbiased up to O(1/n)
    assert 0.6 < floor["within_1sd_fraction"] < 0.8  # about 68% for a near-normal error
    assert floor["p_9_of_10"] < 0.5  # why ">= 9 of 10 within 1 sd" is a coin toss at best


def test_problem_streams_are_independent_and_reproducible(trainers):
    first = trainers.gaussian_problem(0.9, seed=3, n=20_000, n_ref=20_000)
    again = trainers.gaussian_problem(0.9, seed=3, n=20_000, n_ref=20_000)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    Z, Z_ref, Z_test, _ = first
    assert np.corrcoef(Z.T)[0, 1] == pytest.approx(0.9, abs=0.01)
    assert abs(np.corrcoef(Z_ref.T)[0, 1]) < 0.03  # 1/sqrt(20 000) = 0.007 per correlation
    assert abs(np.corrcoef(Z[:, 0], Z_test[:, 0])[0, 1]) < 0.03  # training and held-out do not share draws


def test_verdicts_pass_and_miss(bench):
    floor = {"p_9_of_10": 0.2}
    results = {
        "speed": {"cpu": {"course": {"speedup_vs_baseline": 2.5}}},
        "accuracy": {"seeds": 10, "0.81": {"within_1sd": 9, "floor": floor}, "0.95": {"within_1sd": 8, "floor": floor},
                     "0.99": {"within_1sd": 0, "floor": floor}},
        "notebooks": {"total": 41.0, "problems": {}},
        "grading": {"zygote_over_baseline": 0.5, "zygote_over_fresh": 0.6, "two_over_one": 1.9,
                    "overhead_per_notebook_s": {"zygote": 0.8, "fresh": 4.0}},
    }
    v = bench.verdicts(results)
    assert v["cpu_speedup"][0] == "PASS"
    assert v["accuracy"][0] == "MISS" and "rho 0.95: 8/10" in v["accuracy"][1] and "0.99" not in v["accuracy"][1]
    assert v["notebooks"][0] == "PASS"
    assert v["grading"][0] == "MISS" and v["grading_scaling"][0] == "PASS" and v["grading_overhead"][0] == "PASS"
    results["accuracy"]["0.95"]["within_1sd"] = 10
    assert bench.verdicts(results)["accuracy"][0] == "PASS"


def test_results_with_numpy_scalars_write_as_json(bench):
    text = json.dumps({"count": np.int64(3), "value": np.float64(0.5), "flag": np.bool_(True)}, default=bench.plain)
    assert json.loads(text) == {"count": 3, "value": 0.5, "flag": True}
    with pytest.raises(TypeError, match="not JSON serialisable"):
        json.dumps({"x": object()}, default=bench.plain)


def test_the_class_model():
    """A class of 1000: the workers divide the task time until the coordinator, which
    records one result at a time, is the limit."""
    hours = benchmark_module("grading_times").model(task_s=20.0, coordinator_s=0.1, setup_s=36.0, n=1000, workers=(1, 2, 8, 32, 128, 1000))
    assert hours[1] == pytest.approx((36 + 20_000) / 3600)
    assert hours[2] == pytest.approx((36 + 10_000) / 3600)
    assert hours[128] == pytest.approx((36 + 1000 * 20 / 128) / 3600)
    assert hours[1000] == pytest.approx((36 + 100) / 3600)  # the coordinator's share: 0.1 s a student
