"""nde_student/warnings_only.py: stderr made only of warnings, told from stderr that reports a problem."""
from __future__ import annotations

import subprocess
import sys

import pytest

from nde_student.warnings_only import MAX_SCAN, NORMALIZE_WARNINGS, warnings_only

PY = "/x/lib/python3.11/site-packages/torch/nn/init.py:12: UserWarning: the default changed\n  warnings.warn(msg)\n"
TORCH = ("/x/torch/autograd/graph.py:744: UserWarning: Attempting to run cuBLAS, but there was no current CUDA context!\n"
         "Attempting to force-create one. (Triggered internally at ../aten/src/ATen/cuda/CublasHandlePool.cpp:135.)\n"
         "  return Variable._execution_engine.run_backward(\n")
CPP = "[W1126 10:00:00.123456 4242 init.cpp:10] Warning: nested tensors are in prototype stage\n"


@pytest.mark.parametrize("text", [
    PY,
    TORCH,
    CPP,
    "[W1126 10:00:00.1 7 x.cpp:3] slow path taken\n",
    PY + "\n" + CPP + TORCH,
    "<ipython-input-3>:2: DeprecationWarning: use x\n",
    "/home/a student/course/x.py:7: FutureWarning: a path with spaces\n",
    "/x/y.py:3: numpy.exceptions.RankWarning: Polyfit may be poorly conditioned\n",
    "/x/y.py:3: UserWarning: line one\n    line two, indented (NORMALIZE_WARNINGS writes it so)\n",
], ids=lambda text: repr(text[:24]))
def test_warnings_alone(text):
    assert warnings_only(text)


@pytest.mark.parametrize("text", [
    "",
    "   \n",
    "Traceback (most recent call last):\n  File x, line 1\nValueError: bad\n",
    PY + "ValueError: after a warning\n",
    "/x/y.py:3: UserWarning: line one\nline two, not indented and no PyTorch marker\n",
    TORCH + "something else after the marker\n",
    "/x/y.py:3: Error: not a warning\n",
    PY * (MAX_SCAN // len(PY) + 1),  # longer than the grader keeps: never called warnings alone
], ids=lambda text: repr(text[:24]))
def test_anything_else(text):
    assert not warnings_only(text)


def test_normalize_warnings_indents_the_lines_after_the_header():
    code = NORMALIZE_WARNINGS + "import warnings\nwarnings.warn('first line\\nsecond line\\nthird')\n"
    stderr = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stderr
    lines = stderr.splitlines()
    assert "UserWarning: first line" in lines[0] and lines[1] == "    second line" and lines[2] == "    third"
    assert warnings_only(stderr)
