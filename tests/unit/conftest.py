"""The unit tier (``make test-fast``): every test under tests/unit is marked ``fast``.

These tests build tiny notebooks and gradebooks in memory and call one function or
preprocessor of the grading library or the students' library at a time: no kernel, no
nbgrader command, no browser. The whole tier runs in seconds.
"""
from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.fast)
