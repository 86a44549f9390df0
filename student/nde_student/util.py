"""Small helpers the notebooks share: the device, seeding, and cells that wait for an answer."""
from __future__ import annotations

import os
import random
import sys
from contextlib import contextmanager

import numpy as np
import torch

from . import earlier
from .earlier import AnswerMissing


def pick_device(verbose: bool = True) -> torch.device:
    """The GPU when PyTorch sees one, else the CPU; say which.

    On the CPU, PyTorch is limited to one thread: the course's tensors are so small
    that splitting each operation across threads costs more than it saves, and on a
    busy machine several threads wait for each other (benchmarks/README.md measures it).
    """
    if torch.cuda.is_available():
        device = torch.device("cuda")
        if verbose:
            print("Using the GPU:", torch.cuda.get_device_name(device))
    else:
        device = torch.device("cpu")
        torch.set_num_threads(1)
        if verbose:
            print("No GPU found: using the CPU (one thread, fastest for this small network).")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def headless() -> bool:
    """True when the notebook runs without a person watching (autograding, tests, CI).

    The course's tools set NDE_HEADLESS=1; nothing else changes it.
    """
    return os.environ.get("NDE_HEADLESS") == "1"


STOPS = "This cell stops here:"
NEEDS = "This cell needs your"
WAITING = (STOPS, NEEDS, earlier.NOT_YET)
"""How every line that stands in for a result while an answer is missing begins
(``needs`` and ``from_notebook``): the website leaves such outputs out (course/site.py)."""


@contextmanager
def needs(*names: str):
    """Run a cell's body only as far as the student's answers allow.

    ``names`` are the exercises the cell uses. A cell that uses one not answered yet
    stops at its ``NotImplementedError`` and says so in one line, instead of repeating
    the error: the exercise's own cell is the one that shows it. An answer of an earlier
    notebook that is missing stops the cell in one line too, naming that exercise: its
    stand-in raises ``AnswerMissing``, and a name that a cell above could not define for
    want of it raises ``NameError``. Without ``names`` (a cell that uses only answers of
    earlier notebooks, or the demonstration that ends an answer cell), only those stop
    quietly: the cell shows its own ``NotImplementedError``.
    """
    try:
        yield
    except (NotImplementedError, NameError) as exc:
        undefined = earlier.undefined(exc) if isinstance(exc, NameError) else None
        if isinstance(exc, AnswerMissing):  # an answer of an earlier notebook: it names the exercise
            message = f"{STOPS} {exc}."
        elif undefined:
            message = f"{STOPS} {undefined}."
        elif isinstance(exc, NotImplementedError) and names:
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            which = "that exercise" if len(names) == 1 else "those exercises"
            message = f"{NEEDS} {listed} from above: answer {which}, then run this cell again."
        else:
            raise
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")  # no half-drawn figure above the message
        print(message)
