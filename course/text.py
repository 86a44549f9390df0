"""Text for the instructor's terminal and report: a line that is safe to print, and wrapped."""
from __future__ import annotations

import re
import shutil
import textwrap

from nde_student.cells import strip_colours

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, limit: int = 300) -> str:
    """One line of ``text`` safe to print in the instructor's terminal and report: control
    characters (escape sequences, carriage returns) shown escaped, at most ``limit`` characters,
    cut after a word where one ends in the last quarter (a limit meant to be rarely reached)."""
    text = strip_colours(str(text)).replace("\n", " ")
    text = _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return (text[:cut] if cut >= limit * 3 // 4 else text[: limit - 1]) + "…"


def report_line(text: str, indent: int = 4) -> str:
    """A line of the report as the terminal shows it: wrapped between words to the terminal's
    width (100 columns in a file), its continuation lines indented further."""
    width = max(shutil.get_terminal_size((100, 24)).columns, 60)
    return textwrap.fill(text, width, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2),
                         break_long_words=False, break_on_hyphens=False)
