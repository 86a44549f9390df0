"""nde_grader/hidden.py: reading the hidden block of a test cell."""
from __future__ import annotations

import pytest

from nde_grader.hidden import check, checks_in, visible_part

CELL = ('"""Each step descends."""\nassert descend(w0, 0.1, 1) < w0\n'
        "### BEGIN HIDDEN TESTS\nfrom nde_grader.hidden import check\n\n"
        'check("gradient_descent.descent_step")\n  check("gradient_descent.descent_iterates")  \n'
        "### END HIDDEN TESTS\n")


def test_the_checks_are_named_in_order():
    assert checks_in(CELL) == ["gradient_descent.descent_step", "gradient_descent.descent_iterates"]


def test_a_cell_without_a_block_names_none_and_an_empty_block_names_no_check():
    assert checks_in("assert True\n") is None
    assert checks_in("### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n") == []


@pytest.mark.parametrize("line", [
    "assert secret() == 1",
    'check("gradient_descent.descent_step"); import os',
    "check('gradient_descent.descent_step')",  # the build writes double quotes only
    'check("Descent.step")',
    'check("descent")',
    "from nde_grader.reference import descend",
])
def test_anything_else_in_the_block_is_refused(line):
    source = f"### BEGIN HIDDEN TESTS\nfrom nde_grader.hidden import check\n{line}\n### END HIDDEN TESTS\n"
    with pytest.raises(ValueError, match="may hold only"):
        checks_in(source)


def test_the_kernel_runs_the_cell_without_its_block():
    assert visible_part(CELL) == '"""Each step descends."""\nassert descend(w0, 0.1, 1) < w0\n'
    indented = "x = 1\n    ### BEGIN HIDDEN TESTS\ncheck(\"a.b\")\n### END HIDDEN TESTS   \ny = 2\n"
    assert visible_part(indented) == "x = 1\ny = 2\n"
    assert visible_part("assert True\n") == "assert True\n"


def test_check_outside_a_notebook_says_where_it_runs():
    with pytest.raises(RuntimeError, match="inside a notebook"):
        check("gradient_descent.descent_step")
