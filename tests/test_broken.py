"""Broken submissions, graded in one batch with ordinary ones, get fair scores with reasons.

Also: nothing on stderr costs a point (warnings or not; other stderr is named for a person
to look at), and a notebook past its time budget is stopped by the executor.  The cases are in tests/broken/cases.py.
"""
from __future__ import annotations

import re
import time

import pytest

from course import autograde
from course.trial import run_trial

from .broken.cases import ALL, NOTEBOOK, cases, submission, write

pytestmark = pytest.mark.slow

CELL_TIMEOUT_S = "6"  # the per-cell limit while testing; an infinite loop costs 5 cells x 6 s


def test_broken_submissions_in_one_batch(monkeypatch):
    """One batch (one test, so that pytest-xdist grades it once): every case loses exactly
    its points, with a reason; ordinary students get the marks they get alone; every
    student has a grade for every test cell in the gradebook."""
    monkeypatch.setenv("NDE_CELL_TIMEOUT", CELL_TIMEOUT_S)
    monkeypatch.setattr(autograde, "NOTEBOOK_BUDGET_S", 150)
    start = time.perf_counter()
    trial = run_trial({name: case.writer for name, case in cases().items()}, notebooks=[NOTEBOOK])
    print(f"\nbatch of {len(cases())} students graded in {time.perf_counter() - start:.0f} s")
    errors = []
    for student, case in sorted(cases().items()):
        cells, problems = trial.cells.get(student, {}), trial.outcomes[student].problems
        print(f"  {student:<11} {trial.outcomes[student].seconds:5.1f} s  {cells}  {problems}")
        if set(cells) != ALL:
            errors.append(f"{student}: the gradebook lacks grades for {sorted(ALL - set(cells))}")
            continue
        lost = {gid for gid, (score, top) in cells.items() if score < top}
        if lost != case.loses or any(cells[gid][0] != 0 for gid in case.loses):
            errors.append(f"{student}: scores {cells}, expected to lose exactly {sorted(case.loses)}; {problems}")
        text = " | ".join(problems).lower()
        if case.reason and case.reason.lower() not in text:
            errors.append(f"{student}: no reason naming {case.reason!r}: {problems}")
        # a note that long output was cut (a warning raised on every call can fill 300 kB) is not a fault
        faults = [p for p in problems if not re.match(r"Output of cell .* cut: it printed", p)]
        if not case.reason and not case.loses and faults:
            errors.append(f"{student}: nothing is wrong, yet the grader reports {faults}")
    # the ordinary students: full marks for the course's answers, the catalog's marks for the wrong one
    assert all(score == top for score, top in trial.cells["ok"].values())
    assert trial.cells["wrong"]["descent_step"] == (1.0, 1.0) and trial.cells["wrong"]["descent_iterates"] == (0.0, 2.0)
    assert not errors, "\n".join(errors)


def test_a_notebook_past_its_budget_is_stopped(monkeypatch):
    monkeypatch.setenv("NDE_CELL_TIMEOUT", "60")
    monkeypatch.setattr(autograde, "NOTEBOOK_BUDGET_S", 8)
    from .broken.cases import answer

    hang = write(answer(submission(), "loss", before="import time\n", inside="time.sleep(3600)"))
    start = time.perf_counter()
    trial = run_trial({"hang": hang}, notebooks=[NOTEBOOK], workers=1)
    assert time.perf_counter() - start < 60
    assert all(score == 0 for score, _ in trial.cells["hang"].values())
    assert any("stopped after 8 s" in p for p in trial.outcomes["hang"].problems), trial.outcomes["hang"].problems
