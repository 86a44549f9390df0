"""nbgrader preprocessors of the course, named in nbgrader_config.py."""
from __future__ import annotations

import re

from nbgrader.preprocessors import LimitOutput, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import List

from nde_student.cells import docstring_rule
from nde_student.warnings_only import warnings_only

from .cells import grade_id
from .syntax import parse


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
                name = grade_id(cell) or f"number {cell_index + 1}"
                size = len(output.text)
                size = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
                self.log.warning("Output of cell %s cut: it printed %s", name, size)
                half, cut = self.MAX_CHARS // 2, len(output.text) - self.MAX_CHARS
                output.text = f"{output.text[:half]}\n... {cut} characters cut ...\n{output.text[-half:]}"
        return super().preprocess_cell(cell, resources, cell_index)


class DropWarnings(NbGraderPreprocessor):
    """Remove stderr outputs made only of warnings (``nde_student.warnings_only``) from what
    the feedback and formgrader show: a warning is not a failure, and a student should not
    read it as one. Other stderr stays, for a person to look at (grade.py names it); it
    costs no points either way (the cell's score is the grader's verdict)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.output_type == "stream" and o.name == "stderr" and warnings_only(o.text))]
        return cell, resources


_HIDDEN = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S)
"""Wider than ``nde_grader.hidden.BLOCK``, which grading reads (no line end needed after the
opening marker): the feedback hides whatever looks like a hidden block."""


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows each test cell's result but never its hidden tests: the code between
    the HIDDEN TESTS markers is removed from the source, and a failed test cell's traceback
    is cut to its last line, the error and its message, which the checks write for the
    student."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and is_grade(cell):
            if "### BEGIN HIDDEN TESTS" in cell.source:
                cell.source = _HIDDEN.sub("# (hidden tests ran here)\n", cell.source)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
        return cell, resources


MATHJAX_FONTS = {
    # jupyter-server-mathjax ships MathJax 2.7 with the STIX-Web fonts only (as Jupyter's own
    # pages use them): choose those, or MathJax asks for its TeX fonts, finds none, and
    # typesets with the browser's fonts (formulas with primes then fail to render)
    "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None},
    # no fast preview: it draws with the TeX fonts too
    "fast-preview": {"disabled": True},
}
"""MathJax settings of every offline page of the course: the feedback (templates/nde_feedback),
formgrader's view (templates/nde_formgrade) and the website (website/conf.py)."""

SERVER_MATHJAX = "/static/jupyter_server_mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
"""The MathJax that a Jupyter server of the course's environment serves (jupyter-server-mathjax),
below the server's base URL."""


class ServerMathJax(NbGraderPreprocessor):
    """Formgrader's view of a submission (templates/nde_formgrade, nbgrader_config.py): formulas
    typeset by the MathJax of the Jupyter server that shows it, with the fonts it ships
    (resources["nde"], as FeedbackMarks gives the feedback), never nbgrader's CDN."""

    def preprocess(self, nb, resources):
        base = str(resources.get("base_url") or "").rstrip("/")  # formgrader's handler gives it
        resources["nde"] = {"mathjax": [base + SERVER_MATHJAX], "mathjax_config": MATHJAX_FONTS}
        return nb, resources


class FeedbackMarks(NbGraderPreprocessor):
    """What the course's feedback page (templates/nde_feedback) shows beyond nbgrader's
    numbers: for each graded cell whether it waits to be graded by hand, whether a score
    set by hand replaced the autograder's (and what that gave), the rule a test checks
    (its docstring's first line); for the notebook the autograded total apart from the
    written answers still to grade, and where MathJax is."""

    mathjax = List(
        ["../../mathjax/" + SERVER_MATHJAX.rsplit("/", 1)[1], SERVER_MATHJAX],
        help="Where the feedback page looks for MathJax, in turn: the copy that `python -m course grade` puts "
             "in feedback/mathjax/, then a Jupyter server's (jupyter-server-mathjax).",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        from .gradebook_csv import awaits_hand

        info = resources["nbgrader"]
        totals = {"auto_score": 0.0, "auto_max": 0.0, "pending": 0, "pending_points": 0.0, "mathjax": list(self.mathjax),
                  "mathjax_config": MATHJAX_FONTS}
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                if not is_grade(cell):
                    continue
                meta = cell.metadata["nbgrader"]
                try:
                    grade = gb.find_grade(grade_id(cell), info["notebook"], info["assignment"], info["student"])
                except MissingEntry:
                    continue
                pending = awaits_hand(grade)
                meta["nde_pending"] = pending
                meta["nde_override"] = grade.auto_score if cell.cell_type == "code" and grade.manual_score is not None else None
                meta["nde_rule"] = docstring_rule(cell.source, parse) if cell.cell_type == "code" else ""
                if pending:
                    totals["pending"] += 1
                    totals["pending_points"] += grade.max_score
                elif cell.cell_type == "code":
                    totals["auto_score"] += grade.score
                    totals["auto_max"] += grade.max_score
        resources["nde"] = totals
        return nb, resources


from nbconvert.exporters import HTMLExporter  # noqa: E402


class FeedbackExporter(HTMLExporter):
    """The exporter of ``nbgrader generate_feedback`` for the course (its own class, so that
    its template settings never reach formgrader's exporter). nbgrader_config.py gives it no
    preprocessors of its own: the HTMLExporter's (SafeView, for formgrader) would run before
    GetGrades; GenerateFeedback runs SafeView after the grades instead."""
