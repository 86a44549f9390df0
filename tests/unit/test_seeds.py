"""nde_student/seeds.py: the printed verdict of a comparison over seeds."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nde_student import verdict

NAMED = {"what": "MINE minus DV", "higher": "MINE higher", "lower": "DV higher"}


def test_a_paired_difference_decided_above():
    line = verdict([1.0, 1.2, 0.9, 1.1], [0.0, 0.1, 0.0, 0.2], **NAMED)
    # differences 1.0, 1.1, 0.9, 0.9: mean 0.975, sd 0.0957, SE 0.0479
    assert line == "MINE minus DV: +0.9750 (SE 0.0479, 4 seeds): MINE higher, decided at 2 SE; positive in 4 of 4 seeds"


def test_a_target_number_decided_below():
    line = verdict(np.array([[0.1], [0.2], [0.15]]), 0.5, **NAMED)  # any shape of per-seed values
    assert line.startswith("MINE minus DV: -0.3500 (SE 0.0289, 3 seeds): DV higher, decided at 2 SE")
    assert line.endswith("positive in 0 of 3 seeds")


def test_within_k_se_is_not_decided_and_names_no_side():
    line = verdict([0.3, -0.2, 0.1, -0.1], 0.0, **NAMED)
    assert line == "MINE minus DV: +0.0250 (SE 0.1109, 4 seeds): not decided: within 2 SE of 0; positive in 2 of 4 seeds"


def test_k_sets_the_threshold():
    values = [0.3, 0.1, 0.2, 0.25]  # mean 0.2125, SE 0.0427: 4.98 SE from 0
    assert "decided at 4 SE" in verdict(values, 0.0, k=4, **NAMED)
    assert "not decided: within 5 SE of 0" in verdict(values, 0.0, k=5, **NAMED)


def test_equal_values_have_no_spread_and_a_zero_difference_is_not_decided():
    assert "not decided" in verdict([1.0, 1.0], [1.0, 1.0], **NAMED)
    assert "MINE higher, decided" in verdict([2.0, 2.0], 1.0, **NAMED)  # any nonzero mean is beyond 0 SE


def test_one_seed_is_refused():
    with pytest.raises(ValueError, match="at least two seeds"):
        verdict([1.0], 0.0, **NAMED)


def test_tensors_and_lists_give_the_same_line():
    torch = pytest.importorskip("torch")
    assert verdict(torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64), 1.0, **NAMED) == verdict([1.0, 2.0, 4.0], 1.0,
                                                                                                **NAMED)
    assert math.isclose(float(verdict([1.0, 3.0], 0, **NAMED).split()[3]), 2.0)
