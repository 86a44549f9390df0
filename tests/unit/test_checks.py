"""nde_grader/checks/__init__.py: the grading seed and the readers of the kernel's replies."""
from __future__ import annotations

import numpy as np
import pytest

from nde_grader import checks as c


def test_the_grading_seed_and_each_checks_own(monkeypatch):
    monkeypatch.delenv("NDE_GRADING_SEED", raising=False)
    assert c.seed(3) == c.DEFAULT_GRADING_SEED + 3
    first = c.rng(3).random(3)
    assert np.array_equal(c.rng(3).random(3), first) and not np.array_equal(c.rng(4).random(3), first)
    monkeypatch.setenv("NDE_GRADING_SEED", "11")
    assert c.seed(3) == 14 and not np.array_equal(c.rng(3).random(3), first)


def test_close():
    c.close(1.0, 1.05, 0.1, "DV")
    with pytest.raises(AssertionError, match=r"DV: got 1.2, expected 1 \(tolerance 0.1\)"):
        c.close(1.2, 1.0, 0.1, "DV")


@pytest.mark.parametrize("read, value", [
    (lambda v: c.entries(v, 2, "x"), [1]),
    (lambda v: c.entries(v, 2, "x"), (1, 2)),
    (lambda v: c.pairs([1, 2, 3], v, "x"), [1, 2]),
    (lambda v: c.mapping(v, "x"), [1]),
    (lambda v: c.field(v, "value", "x"), {"values": 1}),
    (lambda v: c.flag(v, "x"), 1),
    (lambda v: c.flag(v, "x"), "True"),
    (lambda v: c.text(v, "x"), 3),
    (lambda v: c.integer(v, "x"), True),
    (lambda v: c.integer(v, "x"), 2.0),
    (lambda v: c.number(v, "x"), False),
    (lambda v: c.number(v, "x"), "1.5"),
    (lambda v: c.number(v, "x"), float("nan")),
    (lambda v: c.number(v, "x"), float("-inf")),
    (lambda v: c.array(v, "x"), [1.0, 2.0]),
    (lambda v: c.array(v, "x"), np.array([True])),
    (lambda v: c.array(v, "x", shape=(2,)), np.zeros(3)),
    (lambda v: c.array(v, "x", shape=(None, 2)), np.zeros((3, 2, 1))),
    (lambda v: c.array(v, "x"), np.array([1.0, np.nan])),
    (lambda v: c.dims(v, "x"), (2, 3)),
    (lambda v: c.dims(v, "x"), [2, 3.0]),
], ids=lambda x: repr(x)[:30] if not callable(x) else "")
def test_a_missing_or_changed_value_fails(read, value):
    with pytest.raises(AssertionError, match="^x"):
        read(value)


def test_the_readers_return_what_they_read():
    assert c.pairs(["a", "b"], [1, 2], "x") == [("a", 1), ("b", 2)]
    assert c.field({"value": 0}, "value", "x") == 0
    assert c.flag(False, "x") is False and c.integer(np.int64(3), "x") == 3
    assert c.number(np.float32(0.5), "x") == 0.5 and np.isnan(c.number(float("nan"), "x", finite=False))
    assert c.array(np.zeros((4, 2)), "x", shape=(None, 2)).shape == (4, 2)
    assert c.array(np.array([np.inf]), "x", finite=False).size == 1
    assert c.dims([2, 3], "x") == (2, 3)
    with pytest.raises(AssertionError, match="1 of its 2 values are NaN or infinite"):
        c.array(np.array([1.0, np.inf]), "x")


def test_what_a_watched_call_reports():
    assert c.returned({"type": "float"}, "DV") == {"type": "float"}
    with pytest.raises(AssertionError, match="^DV raised ValueError: no$"):
        c.returned({"raised": "ValueError: no"}, "DV")
    assert c.of_kind({"type": "ndarray"}, {"ndarray": "a NumPy array"}, "t_star") == "ndarray"
    with pytest.raises(AssertionError, match=r"t_star must return a NumPy array, got a tensor"):
        c.of_kind({"type": "Tensor"}, {"ndarray": "a NumPy array"}, "t_star")
    c.left_alone({"changed": []}, "DV")
    with pytest.raises(AssertionError, match="DV changed its arguments Z, Z_ref in place"):
        c.left_alone({"changed": ["Z", "Z_ref"]}, "DV")
    with pytest.raises(AssertionError, match="DV: the reply from your kernel"):
        c.left_alone({"changed": "Z"}, "DV")
    c.reaches_each({"reaches": {"t": True, "t_ref": True}}, ("t", "t_ref"), "DV")
    with pytest.raises(AssertionError, match="no gradient reaches t_ref, though"):
        c.reaches_each({"reaches": {"t": True, "t_ref": False}}, ("t", "t_ref"), "DV")
    with pytest.raises(AssertionError, match="backward through the result failed: RuntimeError"):
        c.reaches_each({"grad_error": "RuntimeError: x", "reaches": {}}, ("t",), "DV")
    with pytest.raises(AssertionError, match="expected True or False"):
        c.reaches_each({"reaches": {"t": 1}}, ("t",), "DV")
