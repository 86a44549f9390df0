"""nde_grader/harness/__init__.py: the wire format and the helpers the kernel side shares."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from nde_grader.harness import bound, decode, describe, encode, kind, result, roundtrip, seeded, watch


def test_numbers_strings_and_arrays_go_through_json():
    sent = {"a": 1, "b": np.int64(2), "c": 1.5, "d": np.float32(0.25), "e": True, "f": np.bool_(False), "g": None,
            "h": "text", "i": (1, [2.0]), "j": np.arange(6, dtype=np.int16).reshape(2, 3), 7: "key"}
    wire = json.dumps(encode(sent))
    back = decode(json.loads(wire))
    assert back["i"] == [1, [2.0]] and back["7"] == "key"  # tuples as lists, keys as strings
    assert type(back["b"]) is int and type(back["d"]) is float and back["f"] is False
    assert back["j"].dtype == np.int16 and back["j"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert not back["j"].flags.writeable


def test_non_finite_floats_survive_and_stay_json():
    back = roundtrip([float("nan"), float("inf"), -np.inf])
    assert np.isnan(back[0]) and back[1:] == [float("inf"), float("-inf")]
    assert "NaN" not in json.dumps(encode([float("nan")]), allow_nan=False)


@pytest.mark.parametrize("value", [object(), {1, 2}, np.array(["a"]), np.array([1 + 2j]), b"bytes"])
def test_anything_else_is_refused_on_sending(value):
    with pytest.raises(TypeError, match="cannot send"):
        encode(value)


@pytest.mark.parametrize("wire", [
    {"__array__": ["object", [1], ""]},
    {"__array__": ["float64", [2], "AAAA"]},  # 3 bytes for 16
    {"__array__": ["float64", [1], "not base64!"]},
    {"__array__": ["float64", [1], "AAAAA!AAAAAA="]},  # 8 bytes once the stray character is skipped
])
def test_a_forged_array_is_refused_on_reading(wire):
    with pytest.raises(ValueError):
        decode(wire)


def test_tensors_are_sent_as_arrays():
    torch = pytest.importorskip("torch")
    back = roundtrip(torch.tensor([1.0, 2.0], requires_grad=True) * 2)
    assert isinstance(back, np.ndarray) and back.dtype == np.float32 and back.tolist() == [2.0, 4.0]


def test_bound_puts_the_students_names_back():
    ns = {"z": "student's"}
    with bound(ns, z="check's", L="check's loss"):
        assert ns == {"z": "check's", "L": "check's loss"}
    assert ns == {"z": "student's"}
    with pytest.raises(RuntimeError), bound(ns, z=1):
        raise RuntimeError
    assert ns == {"z": "student's"}


def test_seeded_fixes_the_draws_and_puts_the_students_states_back():
    torch = pytest.importorskip("torch")
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    with seeded(42) as g:
        inside = (random.random(), np.random.rand(), torch.rand(1).item(), g.random())
    with seeded(42) as g:
        assert (random.random(), np.random.rand(), torch.rand(1).item(), g.random()) == inside
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_kind_and_describe():
    assert [kind(x) for x in (np.float64(1), 1.0, np.zeros(2), [1], (1,))] == [
        "numpy.float64", "float", "ndarray", "list", "tuple"]
    assert describe(np.zeros((2, 3))) == "ndarray of shape (2, 3)" and describe(1) == "int"


def test_result_of_each_kind():
    torch = pytest.importorskip("torch")
    t = result(torch.ones(2, 1, dtype=torch.float32, requires_grad=True))
    assert (t["type"], t["dtype"], t["shape"], t["numel"], t["requires_grad"], t["device"]) == (
        "Tensor", "float32", [2, 1], 2, True, "cpu")
    assert t["value"].dtype == np.float64
    a = result(np.array([1, 2], dtype=np.int32))
    assert (a["type"], a["dtype"], a["value"].tolist()) == ("ndarray", "int32", [1.0, 2.0])
    assert result(3) == {"type": "int", "shape": [], "numel": 1, "value": 3.0}
    assert result(True) == {"type": "bool"}  # never taken for a number
    assert result((1, 2, 3)) == {"type": "tuple", "length": 3}
    assert "value" not in result(np.array(["x"]))


def test_watch_reports_raised_changed_and_gradients():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    t_ref = torch.tensor([0.5], requires_grad=True)
    both = watch(lambda a, b: a.mean() - b.exp().mean(), {"t": t, "t_ref": t_ref}, grad_wrt=("t", "t_ref"))
    assert both["reaches"] == {"t": True, "t_ref": True} and both["changed"] == []
    assert both["grads"]["t"].tolist() == [0.5, 0.5]
    cut = watch(lambda a, b: a.mean() - b.detach().exp().mean(), {"t": t, "t_ref": t_ref}, grad_wrt=("t", "t_ref"))
    assert cut["reaches"] == {"t": True, "t_ref": False} and cut["grads"]["t_ref"] is None
    detached = watch(lambda a, b: a.detach().sum().item(), {"t": t, "t_ref": t_ref}, grad_wrt=("t",))
    assert detached["reaches"] == {"t": False} and detached["type"] == "float"
    arr = np.array([3.0, 1.0])
    changed = watch(lambda a: a.sort(), {"a": arr})
    assert changed["changed"] == ["a"] and changed["type"] == "NoneType"
    failed = watch(lambda a, *, k: 1 / 0, {"a": 1, "k": 2}, keywords=("k",))
    assert failed == {"raised": "ZeroDivisionError: division by zero", "changed": []}
