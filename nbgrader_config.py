"""nbgrader settings for the course.  Every value here is chosen on purpose; see README "Grading"."""
import os
import sys

from nbgrader.preprocessors import LimitOutput

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "neural-divergence"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# What students find where an answer was removed.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Timeouts while autograding.
#
# Per cell (Execute.timeout, env NDE_CELL_TIMEOUT, default 60 s): the slowest legitimate
# cell that runs a student's code (training the student's trainer in a hidden test) takes
# a few seconds on a 2-core laptop, so 60 s leaves a wide margin yet stops an infinite
# loop within a minute.  After a timeout the kernel is interrupted, the cell shows a
# CellTimeoutError (0 points if it is a test cell) and the remaining cells still run.
# The course's own teaching cells ("# Run this cell", no answer used: imports, data)
# are trusted and get at least 60 s, so that the tests can lower NDE_CELL_TIMEOUT to a
# few seconds (cheap infinite-loop cases) without a loaded CI machine timing out on
# `import torch`.
#
# Per notebook (env NDE_NOTEBOOK_BUDGET_S, default 300 s, enforced by course/grade.py):
# an answer that loops forever and is called by many cells costs 60 s per cell; past
# this budget grade.py stops the notebook, scores its tests 0 with the reason, and goes
# on with the student's other notebooks and the other students.
CELL_TIMEOUT = int(os.environ.get("NDE_CELL_TIMEOUT", 60))
COURSE_CELL_TIMEOUT = max(CELL_TIMEOUT, 60)


def cell_timeout(cell) -> int:
    source = cell.get("source", "")
    course_cell = source.startswith("# Run this cell") and "needs(" not in source
    return COURSE_CELL_TIMEOUT if course_cell and not cell.get("metadata", {}).get("nbgrader") else CELL_TIMEOUT


def trace_cell(cell, cell_index, **_):
    """course/grade.py sets NDE_TRACE_CELLS=1 to learn which cell a dead kernel died in."""
    if os.environ.get("NDE_TRACE_CELLS") == "1":
        print(f"[nde-cell] {cell_index} {cell.get('id', '')}", file=sys.stderr, flush=True)


c.Execute.timeout = CELL_TIMEOUT
c.Execute.timeout_func = cell_timeout
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
c.Execute.on_cell_execute = trace_cell

# A test cell that a student deleted is put back (from the gradebook) and graded.
c.OverwriteCells.add_missing_cells = True


class LimitOutputSize(LimitOutput):
    """LimitOutput, and also at most MAX_CHARS characters per stream output: a 100 MB
    print is one line, which max_lines does not cut."""

    MAX_CHARS = 20_000

    def preprocess_cell(self, cell, resources, cell_index):
        merged = []  # consecutive pieces of one stream (a kernel sends a long print in chunks)
        for output in cell.get("outputs", []):
            if (output.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                    and merged[-1].name == output.name):
                merged[-1].text += output.text
            else:
                merged.append(output)
        if cell.get("cell_type") == "code":
            cell.outputs = merged
        for output in merged:
            if output.get("output_type") == "stream" and len(output.text) > self.MAX_CHARS:
                name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"number {cell_index + 1}"
                size = len(output.text)
                size = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
                self.log.warning("Output of cell %s cut: it printed %s", name, size)
                half, cut = self.MAX_CHARS // 2, len(output.text) - self.MAX_CHARS
                output.text = f"{output.text[:half]}\n... {cut} characters cut ...\n{output.text[-half:]}"
        return super().preprocess_cell(cell, resources, cell_index)


# A submission that prints without end must not swamp the gradebook or the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

# nbgrader scores a test cell that writes to stderr as 0 points.  A Python warning is
# not a failure: drop stderr outputs made only of warnings ("<file>:<line>: <Name>Warning:
# <message>" lines, each followed by its indented source lines) before grades are read.
# Anything else on stderr (an error message, a log line) is kept, and the cell still
# scores 0, as nbgrader intends: grade.py names it among the problems, for a person to
# look at.  The regex is anchored and has no nested unbounded repeats, so a huge stderr
# cannot make it slow.
c.IgnorePattern.enabled = True
from course.validate import WARNINGS_ONLY  # noqa: E402 (one pattern for grading and self-checks)

c.IgnorePattern.pattern = WARNINGS_ONLY.pattern

# Outputs are cut to size first, so that IgnorePattern never scans 100 MB.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern, SaveAutoGrades,
)

c.Autograde.autograde_preprocessors = [
    Execute, LimitOutputSize, IgnorePattern, ClearMetadataPreprocessor, SaveAutoGrades, AssignLatePenalties,
    CheckCellMetadata,
]


# Feedback shows each test cell's result but never its hidden tests: the code between
# the HIDDEN TESTS markers is removed from the source, and a failed test cell's
# traceback (whose context lines would quote that code and the checks' source) is cut to
# its last line, the error and its message, which the checks write for the student.
import re as _re  # noqa: E402

from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor  # noqa: E402
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402

_HIDDEN = _re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", _re.S)


class HideHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            if "### BEGIN HIDDEN TESTS" in cell.source:
                cell.source = _HIDDEN.sub("# (hidden tests ran here)\n", cell.source)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
        return cell, resources


c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
