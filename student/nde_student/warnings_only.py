"""Tell stderr made only of warnings from stderr that reports a problem.

A plain nbgrader scores a test cell that writes to stderr as 0. The course's grader
scores each test cell from its own verdict, so stderr costs no points there; it still
drops stderr made only of warnings from what is shown (a library's warning is not a
failure, and a student should not read it as one), and names other stderr for a person
to look at. Two kinds of warning text reach stderr:

- Python's warnings (``warnings.warn``, and PyTorch's C++ warnings, which PyTorch turns
  into Python warnings), written by ``warnings.formatwarning`` as a header line
  ``<file>:<line>: <Category>: <message>``, the other lines of a multi-line message
  (not indented: PyTorch ends them with ``(Triggered internally at <file>:<line>.)``),
  and the indented line of source that warned;
- warnings that C++ code writes to the stream itself, bypassing Python:
  ``[W<date> <time> <pid> <file>:<line>] Warning: <message>``.

``NORMALIZE_WARNINGS`` is code that the grader and the self-check run in the kernel
first: it writes every Python warning with the lines after the header indented, so that
a warning can always be told from a line of other text after it. Without it (a plain
Jupyter kernel), unindented message lines are accepted only where PyTorch's
``(Triggered internally at ...)`` ends the message.
"""
from __future__ import annotations

import re

__all__ = ["NORMALIZE_WARNINGS", "warnings_only"]

_HEADER = re.compile(r"^.*\S:\d+: (?:[A-Za-z_][\w.]*\.)?\w*Warning: ")
_CPP = re.compile(r"^\[W\d{4} [\d:.]+ \d+ [^\]]*:\d+\] (?:Warning: )?\S")
_TRIGGERED = re.compile(r"\(Triggered internally at [^\n]*:\d+\.\)\s*$")
_INDENTED = re.compile(r"^[ \t]+\S")
MAX_SCAN = 200_000
"""Longer stderr is never called warnings only (the grader has cut outputs to 20 kB already)."""


def warnings_only(text: str) -> bool:
    """True when ``text`` (a cell's stderr) is one or more warnings and nothing else."""
    if not text.strip() or len(text) > MAX_SCAN:
        return False
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if _CPP.match(line):
            i += 1
            continue
        if not _HEADER.match(line):
            return False
        # a Python warning: the header, then lines up to the next header or C++ warning
        j = i + 1
        while j < len(lines) and not _HEADER.match(lines[j]) and not _CPP.match(lines[j]):
            j += 1
        body = [l for l in lines[i + 1 : j] if l.strip()]
        loose = [l for l in body if not _INDENTED.match(l)]
        if loose and not _TRIGGERED.search(loose[-1]):
            # unindented lines belong to the message only where PyTorch closes it with its
            # marker; after the marker only the indented source line may follow
            return False
        i = j
    return True


NORMALIZE_WARNINGS = '''
def __nde_normalize_warnings():
    import sys
    import warnings

    def showwarning(message, category, filename, lineno, file=None, line=None):
        text = warnings.formatwarning(message, category, filename, lineno, line).rstrip("\\n")
        head, *rest = text.split("\\n")
        rest = [r if r[:1] in (" ", "\\t") or not r else "    " + r for r in rest]
        try:
            (file or sys.stderr).write("\\n".join([head, *rest]) + "\\n")
        except (OSError, ValueError):
            pass

    warnings.showwarning = showwarning


__nde_normalize_warnings()
del __nde_normalize_warnings
'''
"""Run in a kernel before a notebook: Python warnings then have their later lines indented."""
