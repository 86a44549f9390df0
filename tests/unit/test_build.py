"""course/build.py, read_myst: what the build refuses in a notebook's test cells."""
from __future__ import annotations

import pytest

from course import CourseError, build

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---

"""

TEST_CELL = '''```{code-cell} ipython3
---
nbgrader:
  grade: true
  grade_id: dv_value
  locked: true
  points: 2
  schema_version: 3
  solution: false
  task: false
---
"""DV is close to the divergence."""
### BEGIN HIDDEN TESTS
from nde_grader.hidden import check
%s
### END HIDDEN TESTS
```
'''


def _myst(tmp_path, monkeypatch, stem: str, line: str):
    monkeypatch.setattr(build, "ROOT", tmp_path)
    md = tmp_path / "notebooks" / "divergence" / f"{stem}.md"
    md.parent.mkdir(parents=True)
    md.write_text(HEADER + TEST_CELL % line)
    return md


def test_a_test_cell_calls_the_checks_of_its_own_notebook(tmp_path, monkeypatch):
    nb = build.read_myst(_myst(tmp_path, monkeypatch, "04_dv_bound", 'check("dv_bound.dv_value")'))
    assert nb.cells[0].id == "dv_value"


@pytest.mark.parametrize("line, said", [
    ('check("gradient_descent.loss_values")', 'its checks are check("dv_bound.<function>")'),
    ('check("dv.dv_value")', 'its checks are check("dv_bound.<function>")'),  # a key of before
    ('check("dv_bound.no_such_check")', "defines no function 'no_such_check'"),
])
def test_the_build_refuses_a_check_of_another_notebook_or_none(tmp_path, monkeypatch, line, said):
    with pytest.raises(CourseError, match=None) as caught:
        build.read_myst(_myst(tmp_path, monkeypatch, "04_dv_bound", line))
    assert said in str(caught.value) and "dv_value" in str(caught.value)
