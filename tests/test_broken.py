"""Broken submissions, graded in one batch with ordinary ones, get fair scores with reasons.

Also: warnings on stderr are not failures, other stderr output is (and is named), and a
notebook past its time budget is stopped.  The cases are in tests/broken/cases.py.
"""
from __future__ import annotations

import time

import pytest

from course import grade
from course.trial import run_trial

from .broken.cases import ALL, NOTEBOOK, cases, submission, write

pytestmark = pytest.mark.slow

CELL_TIMEOUT_S = "6"  # the per-cell limit while testing; an infinite loop costs 5 cells x 6 s


@pytest.fixture(scope="module")
def batch():
    mp = pytest.MonkeyPatch()
    mp.setenv("NDE_CELL_TIMEOUT", CELL_TIMEOUT_S)
    mp.setattr(grade, "NOTEBOOK_BUDGET_S", 150)
    start = time.perf_counter()
    try:
        trial = run_trial({name: case.writer for name, case in cases().items()}, notebooks=[NOTEBOOK])
    finally:
        mp.undo()
    print(f"\nbatch of {len(cases())} students graded in {time.perf_counter() - start:.0f} s")
    for name, outcome in sorted(trial.outcomes.items()):
        print(f"  {name:<11} {outcome.seconds:5.1f} s  {trial.cells.get(name)}  {outcome.problems}")
    return trial


@pytest.mark.parametrize("student", sorted(cases()))
def test_fair_score_with_a_reason(batch, student):
    case = cases()[student]
    cells = batch.cells.get(student, {})
    assert set(cells) == ALL, f"{student}: the gradebook lacks grades for {sorted(ALL - set(cells))}"
    lost = {gid for gid, (score, max_score) in cells.items() if score < max_score}
    assert lost == case.loses, f"{student}: lost {sorted(lost)}, expected {sorted(case.loses)}; {batch.outcomes[student].problems}"
    for gid in case.loses:
        assert cells[gid][0] == 0, f"{student}: {gid} kept part of its points"
    problems = " | ".join(batch.outcomes[student].problems)
    if case.reason:
        assert case.reason.lower() in problems.lower(), f"{student}: no reason naming {case.reason!r}: {problems}"
    elif not case.loses:
        assert not problems, f"{student}: nothing is wrong, yet the grader reports {problems}"


def test_ordinary_students_are_unaffected(batch):
    """The same marks as alone: full for the course's answers, the catalog's for the wrong one."""
    assert all(score == max_score for score, max_score in batch.cells["ok"].values())
    assert batch.cells["wrong"]["descent_step"] == (1.0, 1.0)
    assert batch.cells["wrong"]["descent_iterates"] == (0.0, 2.0)


def test_a_notebook_past_its_budget_is_stopped(monkeypatch):
    monkeypatch.setenv("NDE_CELL_TIMEOUT", "60")
    monkeypatch.setattr(grade, "NOTEBOOK_BUDGET_S", 8)
    from .broken.cases import answer

    hang = write(answer(submission(), "loss", before="import time\n", inside="time.sleep(3600)"))
    start = time.perf_counter()
    trial = run_trial({"hang": hang}, notebooks=[NOTEBOOK], workers=1)
    assert time.perf_counter() - start < 60
    assert all(score == 0 for score, _ in trial.cells["hang"].values())
    assert any("stopped after 8 s" in p for p in trial.outcomes["hang"].problems), trial.outcomes["hang"].problems
