"""The hidden checks, one module per notebook: each function checks one property.

A check takes a probe (``nde_grader/probe.py``), has the student's code run on inputs of
its own through ``probe.run``, and decides in this process, from what came back, whether
the answer is right; a wrong answer raises AssertionError with a message for the student.
Expected values are computed here, from the course's reference (``nde_grader.reference``)
and closed forms, never in the student's kernel.

Every check draws its inputs from generators seeded with the grading seed, and has the
kernel's generators seeded with it while the student's code runs (the student's own
generator states are put back afterwards). ``NDE_GRADING_SEED`` changes the grading
seed: scripts/flake_check.py uses it to measure how often a correct answer would fail
(it must be never).
"""
from __future__ import annotations

import os

import numpy as np

DEFAULT_GRADING_SEED = 20261126


def grading_seed() -> int:
    return int(os.environ.get("NDE_GRADING_SEED", DEFAULT_GRADING_SEED))


def seed(offset: int = 0) -> int:
    """The seed of one check: the grading seed plus the check's own offset."""
    return grading_seed() + offset


def rng(offset: int = 0) -> np.random.Generator:
    """The check's own generator for its inputs."""
    return np.random.default_rng(seed(offset))


def close(actual, expected, tol: float, what: str) -> None:
    """Assert |actual - expected| <= tol with a message a student can act on."""
    actual, expected = float(actual), float(expected)
    assert abs(actual - expected) <= tol, f"{what}: got {actual:.6g}, expected {expected:.6g} (tolerance {tol:.3g})"
