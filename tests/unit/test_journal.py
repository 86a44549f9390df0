"""nde_grader/journal.py: what the executor reports of each notebook."""
from __future__ import annotations

import json

from nde_grader.journal import DONE, KERNEL_DIED, RUNNING, Journal, Verdict


def test_a_journal_reads_back_as_written(tmp_path):
    journal = Journal("02_gradient_descent", state=KERNEL_DIED, cell="cell-7", seconds=12.5,
                      verdicts={"loss_values": Verdict(True), "descent_step": Verdict(False, "AssertionError: got 1")})
    journal.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["02_gradient_descent.json"]  # no temporary file left
    back = Journal.read(tmp_path, "02_gradient_descent")
    assert back == journal
    failed = back.verdicts["descent_step"]
    assert isinstance(failed, Verdict) and failed.why == "AssertionError: got 1"


def test_a_notebook_never_started_has_no_journal(tmp_path):
    assert Journal.read(tmp_path, "03_network") is None


def test_a_new_journal_is_running_until_written_again(tmp_path):
    journal = Journal("01_problem")
    assert journal.state == RUNNING and journal.verdicts == {}
    journal.write(tmp_path)
    journal.state = DONE
    journal.verdicts["ground_truth_values"] = Verdict(True)
    journal.write(tmp_path)  # written again: replaced whole
    data = json.loads((tmp_path / "01_problem.json").read_text())
    assert data["state"] == DONE and data["verdicts"] == {"ground_truth_values": {"passed": True, "why": ""}}
