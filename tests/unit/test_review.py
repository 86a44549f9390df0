"""nde_grader/review.py: answer cells that reach for the course's answers, named for a person."""
from __future__ import annotations

import pytest

from nde_grader.review import suspicious


def test_ordinary_answers_are_not_flagged():
    assert suspicious("import torch\nimport numpy as np\n\n\ndef L(w):\n    return torch.exp(w * z)\n") == []
    assert suspicious("class Net(torch.nn.Module):\n    def forward(self, x):\n        return self.fc(x)\n") == []
    assert suspicious("def f(:\n") == []  # not Python: nothing to say (the cell fails by itself)


@pytest.mark.parametrize("source, said", [
    ("from nde_grader.reference import DV", "imports the instructor's package nde_grader.reference"),
    ("import course.build", "imports the instructor's package course.build"),
    ("import _nde_harness", "imports the instructor's package _nde_harness"),
    ("import gc\nx = gc.get_objects()", "uses the interpreter's objects (gc)"),
    ("from importlib import import_module", "uses imports by name (importlib)"),
    ("import subprocess", "uses other programs (subprocess)"),
    ("x = In[-2]", "uses the kernel's history of cells (In)"),
    ("ip = get_ipython()", "uses the kernel itself (get_ipython: history, events, hooks)"),
    ("text = open('f').read()", "uses files (open)"),
    ("m = __import__('os')", "uses imports by name (__import__)"),
    ("import sys\nsys.modules['x']", "uses loaded modules (sys.modules)"),
    ("p.read_text()", "uses files (read_text)"),
    ("ip.events.register('post_run_cell', f)", "uses the kernel's events (hooks run after later cells)"),
    ("object.__subclasses__()", "uses every class of the interpreter"),
    ("sys._getframe(1).f_back", "uses stack frames"),
    ("path = '../source/divergence/04_dv_bound.ipynb'",
     "names the instructor's files ('../source/divergence/04_dv_bound.ipynb')"),
    ("db = 'sqlite:///gradebook.db'", "names the instructor's files ('sqlite:///gradebook.db')"),
    ("p = 'reference/dv_bound.py'", "names the instructor's files ('reference/dv_bound.py')"),
])
def test_each_route_is_named(source, said):
    assert said in suspicious(source)


def test_each_reason_is_named_once_in_the_order_found():
    found = suspicious("import gc\nimport gc as again\nopen('a')\nopen('b')\nx = eval('1')\n")
    assert found == ["uses the interpreter's objects (gc)", "uses files (open)", "uses code from text (eval)"]


def test_a_long_file_name_is_cut_in_the_report():
    found = suspicious("p = 'nde_grader/" + "x" * 200 + "'")
    assert len(found) == 1 and found[0] == f"names the instructor's files ({('nde_grader/' + 'x' * 29)!r})"


def test_a_name_that_only_contains_a_package_name_is_not_flagged():
    assert suspicious("import coursework\nimport nde_student\nfrom nde_student import needs") == []
