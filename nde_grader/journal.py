"""What the grader's executor reports about each notebook it ran: the journal.

``GradingExecute`` (``execute.py``) decides every test cell itself and writes, for each
notebook, one JSON file into the folder that ``course/autograde.py`` names
(``--GradingExecute.journal_dir``): the verdict of every test cell, whether the notebook
ran to its end, ran past its time budget, or lost its kernel (and in which cell). The
score of a test cell comes from its verdict (``SaveVerdicts`` in ``execute.py``);
grade.py reads the journal after nbgrader exits, never nbgrader's log, to learn what
happened. Only the grader writes it: the folder lies outside every sandbox, and no
kernel holds a descriptor of it.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_NOTEBOOK_BUDGET_S = 300
NOTEBOOK_BUDGET_S = int(os.environ.get("NDE_NOTEBOOK_BUDGET_S", DEFAULT_NOTEBOOK_BUDGET_S))
"""Seconds one notebook may run while graded, kernel start and hidden checks included;
past it the executor stops the notebook and its test cells score 0."""

RUNNING, DONE, STOPPED, KERNEL_DIED = "running", "done", "stopped", "kernel died"
"""How a notebook's grading ended: still running (nbgrader was killed), done, stopped early
(``Journal.why``: its time budget ran out, or its kernel would not stop at a time limit),
or its kernel died (in ``Journal.cell``)."""


@dataclass
class Verdict:
    passed: bool
    why: str = ""
    """Why the test failed, one line for the student and the instructor ("" when it passed)."""


@dataclass
class Journal:
    notebook: str
    state: str = RUNNING
    cell: str = ""
    """The id of the cell that was running when the kernel died (state KERNEL_DIED)."""
    why: str = ""
    """Why the notebook stopped early (state STOPPED), in words for the report."""
    seconds: float = 0.0
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    """grade id of each test cell -> its verdict."""

    def write(self, folder: str | Path) -> None:
        path = Path(folder) / f"{self.notebook}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def read(cls, folder: str | Path, notebook: str) -> "Journal | None":
        """The journal of ``notebook`` in ``folder``; None when the executor never started it."""
        path = Path(folder) / f"{notebook}.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        data["verdicts"] = {gid: Verdict(**v) for gid, v in data.get("verdicts", {}).items()}
        return cls(**data)
