"""nde_student/cells.py: what the self-check and the grader read from a cell."""
from __future__ import annotations

import ast

import pytest

from nde_grader.syntax import parse as grader_parse
from nde_student.cells import docstring_rule, only_docstring, strip_colours


def test_strip_colours_drops_the_colour_codes_only():
    assert strip_colours("\x1b[0;31mAssertionError\x1b[0m: got \x1b[1m1\x1b[0m") == "AssertionError: got 1"
    assert strip_colours("clear \x1b[2J, bell \x07") == "clear \x1b[2J, bell \x07"  # not a colour: kept


@pytest.mark.parametrize("source, rule", [
    ('"""Each step descends.\n\nDetails."""\nassert True', "Each step descends"),
    ("'''  Padded rule.  '''", "Padded rule"),
    ("# a comment\nassert True", ""),
    ('""""""', ""),
    ("def broken(:\n", ""),
])
def test_the_rule_is_the_docstrings_first_line(source, rule):
    assert docstring_rule(source) == rule
    assert docstring_rule(source, grader_parse) == rule


@pytest.mark.parametrize("source, only", [
    ('"""Checked when graded."""', True),
    ('"""Doc."""\n"""Another string."""', True),
    ('# a comment\n\n"""Doc."""\n', True),
    ("", True),
    ('"""Doc."""\nassert True', False),
    ("def broken(:", False),
])
def test_only_docstring(source, only):
    assert only_docstring(source) is only
    assert only_docstring(source, grader_parse) is only


def test_the_given_parser_is_the_one_used():
    seen = []

    def parse(source):
        seen.append(source)
        return ast.parse(source)

    assert docstring_rule('"""Rule."""', parse) == "Rule" and only_docstring("x = 1", parse) is False
    assert seen == ['"""Rule."""', "x = 1"]
