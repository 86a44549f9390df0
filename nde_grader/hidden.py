"""The hidden tests of the source notebooks: ``check("<key>.<function>")``.

A test cell of a source notebook ends with::

    ### BEGIN HIDDEN TESTS
    from nde_grader.hidden import check

    check("problem.samples_moments")
    ### END HIDDEN TESTS

Run by an instructor in the source notebook, ``check`` runs the check here, on the
notebook's own namespace (``LocalProbe``). While grading, the kernel never runs this
block: the grader reads the names of the checks from it (``checks_in``), runs the cell
without it, then runs each check from outside the kernel (``nde_grader/execute.py``).
"""
from __future__ import annotations

import re

from .probe import LocalProbe, run_check

BLOCK = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS\n(?P<body>.*?)### END HIDDEN TESTS[ \t]*\n?", re.S)
IMPORT = "from nde_grader.hidden import check"
CALL = re.compile(r'^check\("(?P<name>[a-z_]+\.[a-z_0-9]+)"\)$')


def checks_in(source: str) -> list[str] | None:
    """The checks named by a cell's hidden block, or None when it has none.

    A hidden block holds only the import line and ``check("...")`` lines (the course's
    build refuses anything else), so that what runs in grading is exactly what a source
    notebook runs.
    """
    found = BLOCK.search(source)
    if not found:
        return None
    names = []
    for line in found.group("body").splitlines():
        line = line.strip()
        if not line or line == IMPORT:
            continue
        call = CALL.match(line)
        if not call:
            raise ValueError(f"a hidden-test block may hold only `{IMPORT}` and check(\"module.name\") lines, not {line!r}")
        names.append(call.group("name"))
    return names


def visible_part(source: str) -> str:
    """The cell without its hidden block: what the kernel runs while grading."""
    return BLOCK.sub("", source)


def check(name: str) -> None:
    """Run the hidden check ``name`` on the calling notebook's namespace."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("check() runs inside a notebook")
    run_check(name, LocalProbe(shell.user_ns))
