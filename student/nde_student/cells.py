"""What the self-check and the grader read from a cell: its error without terminal colours,
the rule a test cell checks (its docstring's first line), and whether it has code to run.

The self-check (``python -m nde_student validate``) and the grading library
(``nde_grader``) both use these, so that a student's check and the grader read a cell
alike. The grader parses in threads and passes its own ``parse``
(``nde_grader/syntax.py``); the default is ``ast.parse``.
"""
from __future__ import annotations

import ast
import re
from typing import Callable

__all__ = ["docstring_rule", "only_docstring", "strip_colours"]

_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def strip_colours(text: str) -> str:
    """``text`` without the terminal colour codes that IPython puts in errors and tracebacks."""
    return _COLOURS.sub("", text)


def docstring_rule(source: str, parse: Callable[[str], ast.Module] = ast.parse) -> str:
    """The first line of a cell's docstring without its final period (for a test cell, the
    rule it checks); "" when the cell has no docstring or does not parse."""
    try:
        doc = ast.get_docstring(parse(source)) or ""
    except SyntaxError:
        return ""
    return doc.strip().splitlines()[0].rstrip(".") if doc.strip() else ""


def only_docstring(source: str, parse: Callable[[str], ast.Module] = ast.parse) -> bool:
    """True for code made only of a docstring (or other lone constants), comments and blank
    lines: code that runs nothing. False when it does not parse."""
    try:
        body = parse(source).body
    except SyntaxError:
        return False
    return all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in body)
