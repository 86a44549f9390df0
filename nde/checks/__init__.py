"""Checks that the notebooks' test cells call, hidden tests included.

Every check draws its random inputs from generators it seeds itself with the grading
seed, whatever the student seeded, and puts the student's generator states back
afterwards.  ``NDE_GRADING_SEED`` changes the grading seed (scripts/flake_check.py
uses it to measure how often a correct answer would fail: it must be never).
"""
from __future__ import annotations

import os
import random
from contextlib import contextmanager

import numpy as np
import torch

DEFAULT_GRADING_SEED = 20261126


def grading_seed() -> int:
    return int(os.environ.get("NDE_GRADING_SEED", DEFAULT_GRADING_SEED))


@contextmanager
def seeded(offset: int = 0):
    """Seed Python, NumPy and PyTorch for a check; restore the student's states after.

    Yields a NumPy Generator seeded the same way, for the check's own draws.
    """
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    seed = grading_seed() + offset
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    try:
        yield np.random.default_rng(seed)
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def close(actual, expected, tol: float, what: str) -> None:
    """Assert |actual - expected| <= tol with a message a student can act on."""
    actual, expected = float(actual), float(expected)
    assert abs(actual - expected) <= tol, f"{what}: got {actual:.6g}, expected {expected:.6g} (tolerance {tol:.3g})"
