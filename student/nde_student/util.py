"""Small helpers the notebooks share: the device, seeding, and cells that wait for an answer."""
from __future__ import annotations

import os
import random
import sys
from contextlib import contextmanager

import numpy as np
import torch

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


@contextmanager
def needs(*names: str):
    """Run a cell's body only as far as the student's answers allow.

    A cell that uses an exercise not answered yet stops at the
    ``NotImplementedError`` of that exercise and says so, instead of repeating the
    error: the exercise's own cell is the one that shows it.
    """
    try:
        yield
    except NotImplementedError as exc:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")  # no half-drawn figure above the message
        if isinstance(exc, AnswerMissing):  # an answer of an earlier notebook: it names the exercise
            print(f"This cell stops here: {exc}.")
        else:
            print(f"This cell needs your {' and '.join(names)} from above: answer that exercise, then run this cell again.")
