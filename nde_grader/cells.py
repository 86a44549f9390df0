"""A cell's grade id: the one reading of nbgrader's metadata that ``nbgrader.utils`` has no helper for.

Whether a cell is graded, an answer or locked, ask nbgrader's own ``is_grade``,
``is_solution`` and ``is_locked``; its grade id, ask ``grade_id``. Submitted notebooks
carry metadata the student could edit: a value that is not a mapping, or a grade id that
is not a non-empty string, reads as no grade id.
"""
from __future__ import annotations


def grade_id(cell) -> str | None:
    """The cell's nbgrader grade id, or None."""
    meta = cell.get("metadata", {}).get("nbgrader")
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) and gid else None
