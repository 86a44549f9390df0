"""nbgrader preprocessors of the course, named in nbgrader_config.py."""
from __future__ import annotations

import re

from nbgrader.preprocessors import LimitOutput, NbGraderPreprocessor

from nde_student.warnings_only import warnings_only


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


class DropWarnings(NbGraderPreprocessor):
    """Remove stderr outputs made only of warnings (``nde_student.warnings_only``): nbgrader
    scores a test cell with stderr 0, and a warning is not a failure. Other stderr stays,
    and costs the cell its points, for a person to look at (grade.py names it)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.output_type == "stream" and o.name == "stderr" and warnings_only(o.text))]
        return cell, resources


_HIDDEN = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S)


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows each test cell's result but never its hidden tests: the code between
    the HIDDEN TESTS markers is removed from the source, and a failed test cell's traceback
    is cut to its last line, the error and its message, which the checks write for the
    student."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            if "### BEGIN HIDDEN TESTS" in cell.source:
                cell.source = _HIDDEN.sub("# (hidden tests ran here)\n", cell.source)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
        return cell, resources
