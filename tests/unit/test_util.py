"""nde_student/util.py: headless, seeding, and cells that wait for an answer with ``needs``."""
from __future__ import annotations

import random

import numpy as np
import pytest

from nde_student import earlier, util
from nde_student.earlier import AnswerMissing


@pytest.fixture(autouse=True)
def nothing_missing():
    earlier._MISSING.clear()
    yield
    earlier._MISSING.clear()


@pytest.mark.parametrize("value, expected", [("1", True), ("0", False), ("true", False), (None, False)])
def test_headless_only_where_the_course_says_so(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("NDE_HEADLESS", raising=False)
    else:
        monkeypatch.setenv("NDE_HEADLESS", value)
    assert util.headless() is expected


def test_seed_everything_seeds_every_generator():
    import torch

    util.seed_everything(7)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    util.seed_everything(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    util.seed_everything(8)
    assert random.random() != first[0]


def test_pick_device_names_it(capsys):
    import torch

    device = util.pick_device()
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert capsys.readouterr().out.startswith("Using the GPU" if device.type == "cuda" else "No GPU found")
    util.pick_device(verbose=False)
    assert capsys.readouterr().out == ""


def test_a_cell_that_needs_an_unanswered_exercise_stops_in_one_line(capsys):
    with util.needs("L"):
        raise NotImplementedError()
    assert capsys.readouterr().out == "This cell needs your L from above: answer that exercise, then run this cell again.\n"
    with util.needs("L", "descend", "Net"):
        raise NotImplementedError()
    assert capsys.readouterr().out.startswith("This cell needs your L, descend and Net from above: answer those exercises")


def test_without_names_only_earlier_answers_stop_quietly(capsys):
    with pytest.raises(NotImplementedError):
        with util.needs():
            raise NotImplementedError()  # the exercise's own cell shows its error
    with util.needs():
        raise AnswerMissing("DV comes from Exercise 2 of 04_dv_bound.ipynb, which is not answered yet")
    assert capsys.readouterr().out == ("This cell stops here: DV comes from Exercise 2 of 04_dv_bound.ipynb, which is "
                                       "not answered yet.\n")


def test_a_name_undefined_for_want_of_an_earlier_answer_stops_quietly(capsys):
    with pytest.raises(NameError):
        with util.needs("L"):
            raise NameError("name 'trainer' is not defined", name="trainer")  # nothing missing: a real mistake
    earlier._MISSING["DV"] = "DV comes from 04_dv_bound.ipynb"
    with util.needs():
        raise NameError("name 'trainer' is not defined", name="trainer")
    assert capsys.readouterr().out.startswith("This cell stops here: trainer is not defined, as a cell above stopped: "
                                              "DV comes from 04_dv_bound.ipynb")


def test_other_errors_pass_through_needs():
    with pytest.raises(ValueError):
        with util.needs("L"):
            raise ValueError("a real error")


def test_a_half_drawn_figure_is_closed_before_the_line(capsys):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    plt.figure()
    with util.needs("L"):
        plt.plot([1, 2])
        raise NotImplementedError()
    assert plt.get_fignums() == []
