"""What a comparison over seeds shows, in one printed line chosen by its numbers.

A notebook that compares two methods, or a method with the truth, runs each over several
seeds and prints ``verdict(...)``: the mean difference with its standard error (SE), and
whether it is more than two SEs from 0. The sentences after such a cell describe how to
read that line; they never state the outcome themselves, so that they stay true whatever
the seeds give (tests/test_content.py checks it).
"""
from __future__ import annotations

import math

import numpy as np


def verdict(a, b, *, what: str, higher: str, lower: str, k: float = 2.0) -> str:
    """One line on the per-seed values ``a`` against ``b``: ``b`` a number (a target, such as the
    truth) or per-seed values of the same seeds (a paired difference). ``what`` names the
    difference, ``higher`` and ``lower`` say what a positive or a negative difference means."""
    a = np.asarray(a, dtype=np.float64).ravel()
    diff = a - np.asarray(b, dtype=np.float64).ravel() if np.ndim(b) else a - float(b)
    n = len(diff)
    if n < 2:
        raise ValueError("a verdict needs at least two seeds")
    mean, se = float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(n))
    side = higher if mean > 0 else lower
    if abs(mean) > k * se:
        call = f"{side}, decided at {k:g} SE"
    else:
        call = f"not decided: within {k:g} SE of 0"
    count = int(np.sum(diff > 0))
    return f"{what}: {mean:+.4f} (SE {se:.4f}, {n} seeds): {call}; positive in {count} of {n} seeds"
