"""nde_student/selfcheck.py: the students' self-check, read from an executed notebook (no kernel here)."""
from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nde_student import selfcheck
from nde_student.selfcheck import Problem, summarize, verdict

WARNING = "/x/y.py:3: UserWarning: slow\n  warnings.warn('slow')\n"


def error(ename: str, evalue: str = ""):
    return new_output("error", ename=ename, evalue=evalue, traceback=[])


def answer(source: str, gid: str, *outputs):
    cell = new_code_cell(source, outputs=list(outputs))
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": gid}
    return cell


def test(source: str, gid: str, *outputs):
    cell = new_code_cell(source, outputs=list(outputs))
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": gid, "points": 1}
    return cell


test.__test__ = False  # a helper, not a test


def written(source: str, gid: str):
    cell = new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": gid, "points": 2}
    return cell


def test_a_complete_notebook_passes():
    nb = new_notebook(cells=[
        new_markdown_cell("**Exercise 1** Write `L`."),
        answer("def L(w):\n    return w", "loss"),
        test('"""L keeps the shape."""\nassert L(1) == 1', "loss_values"),
        test('"""Checked when graded."""', "loss_hidden"),  # nothing visible: not counted
        test('"""Warnings are fine."""\nL(1)', "loss_warns", new_output("stream", name="stderr", text=WARNING)),
        written("Because the loss is convex.", "why"),
    ])
    passed, problems = summarize(nb)
    assert (passed, problems) == (2, [])
    assert verdict("02.ipynb", passed, problems) == "02.ipynb: OK: 2 visible tests passed, 0 failed, 0 answers missing"


def test_an_unanswered_exercise_is_one_problem_and_its_tests_are_not_counted_again():
    nb = new_notebook(cells=[
        new_markdown_cell("**Exercise 2**"),
        answer("def L(w):\n    raise NotImplementedError()", "loss", error("NotImplementedError")),
        test('"""L keeps the shape."""\nassert L(1) == 1', "loss_values", error("NotImplementedError")),
        new_markdown_cell("**Exercise 3** Write `descend`."),
        answer("def descend(w):\n    return w - L(w)", "descent"),
        test('"""Each step descends."""\nassert descend(1) < 1', "descent_step", error("NotImplementedError")),
        new_code_cell("descend(1)", outputs=[error("NotImplementedError")]),  # stops on the exercise above
        written("YOUR ANSWER HERE", "why"),
    ])
    passed, problems = summarize(nb)
    assert passed == 0
    assert problems == [
        Problem("MISSING", "Exercise 2, `L`", "not written yet (the cell raises NotImplementedError)"),
        Problem("MISSING", "Exercise 3 (written)", "your answer is not given yet"),
    ]
    assert verdict("02.ipynb", passed, problems) == "02.ipynb: NOT YET: 0 visible tests passed, 0 failed, 2 answers missing"


def test_failures_are_named_by_exercise_and_rule():
    nb = new_notebook(cells=[
        new_markdown_cell("**Exercise 4**"),
        answer("def DV(t, t_ref):\n    return t.mean()\n\nclass Helper:\n    pass", "dv"),
        test('"""The value is the DV bound."""\nassert DV(1, 2) == 3', "dv_value",
             error("AssertionError", "\x1b[31mexpected 3\x1b[0m\nsecond line")),
        test('"""Stable."""\nDV(1, 2)', "dv_stability", new_output("stream", name="stderr", text="Traceback: bad\n")),
        new_code_cell("plot(DV)", outputs=[error("NameError", "name 'plot' is not defined")]),
        answer("def broken(:", "other", error("SyntaxError", "invalid syntax")),
    ])
    passed, problems = summarize(nb)
    assert passed == 1  # the test that only writes to stderr passes: the grader scores its result, not its output
    assert [str(p) for p in problems] == [
        "FAIL     Exercise 4, `DV`, `Helper` (The value is the DV bound): AssertionError: expected 3",
        "ERROR    the cell \"plot(DV)\": NameError: name 'plot' is not defined",
        "ERROR    Exercise 4: the answer cell fails: SyntaxError: invalid syntax",
    ]
    assert verdict("04.ipynb", passed, problems).endswith("1 visible tests passed, 3 failed, 0 answers missing")


def test_the_helpers_that_name_things():
    assert selfcheck._first_line("\n\n   x = 1\ny = 2") == "x = 1"
    assert selfcheck._first_line("a" * 80) == "a" * 57 + "..."
    assert selfcheck._names("import x\ndef f(): pass\nclass C: pass\ny = 1") == ["f", "C"]
    assert selfcheck._names("def (") == []
    cell = new_code_cell("", outputs=[new_output("stream", name="stderr", text="")])
    assert selfcheck._error(cell) is None


def test_main_without_notebooks_prints_its_usage(capsys):
    assert selfcheck.main([]) == 2
    assert "usage: python -m nde_student validate" in capsys.readouterr().out


def test_main_reports_a_notebook_it_cannot_run(tmp_path, capsys):
    assert selfcheck.main([str(tmp_path / "missing.ipynb")]) == 1
    assert capsys.readouterr().out.startswith("missing.ipynb: could not run it: FileNotFoundError")
