"""nde_grader/cells.py: a cell's grade id, from metadata a student may have edited."""
from __future__ import annotations

import nbformat
import pytest

from nde_grader.cells import grade_id


def _cell(meta):
    cell = nbformat.v4.new_code_cell("x = 1")
    if meta is not ...:
        cell.metadata["nbgrader"] = meta
    return cell


@pytest.mark.parametrize("meta, expected", [
    ({"grade_id": "dv_value", "grade": True}, "dv_value"),
    (..., None),  # no nbgrader metadata
    ({"grade": True}, None),  # no grade id
    ({"grade_id": ""}, None),
    ({"grade_id": ["dv_value"]}, None),  # not a string
    ({"grade_id": 7}, None),
    (["grade_id", "dv_value"], None),  # not a mapping
    ("dv_value", None),
    (None, None),
])
def test_grade_id_reads_only_a_string_in_a_mapping(meta, expected):
    assert grade_id(_cell(meta)) == expected


def test_a_cell_without_metadata_at_all():
    assert grade_id({"cell_type": "code", "source": ""}) is None
