"""nde_grader/preprocessors.py: each preprocessor on a notebook of a few cells."""
from __future__ import annotations

import logging

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from nde_grader import preprocessors as pp

from .fakes import Assignment, Grade, Gradebook, Notebook, Student

WARNING = "/x/torch/nn/init.py:12: UserWarning: the default changed\n  warnings.warn(msg)\n"
HIDDEN = ('"""The loss keeps the shape of w."""\nassert L(w).shape == w.shape\n'
          "### BEGIN HIDDEN TESTS\nfrom nde_grader.hidden import check\n\ncheck(\"gradient_descent.loss_values\")\n"
          "### END HIDDEN TESTS\n")


def stream(text: str, name: str = "stdout"):
    return new_output("stream", name=name, text=text)


def graded_cell(source: str = "assert True", gid: str = "t1", outputs=()):
    cell = new_code_cell(source, outputs=list(outputs))
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1, "grade_id": gid}
    return cell


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.WARNING, logger="unit")
    return logging.getLogger("unit")


# ---------------------------------------------------------------- LimitOutputSize


def test_a_long_line_is_cut_to_its_head_and_tail(log, caplog):
    text = "a" * 60_000 + "b" * 60_000
    cell = graded_cell(outputs=[stream(text)])
    cell, _ = pp.LimitOutputSize(log=log).preprocess_cell(cell, {}, 0)
    out = cell.outputs[0].text
    assert len(out) < pp.LimitOutputSize.MAX_CHARS + 100
    assert out.startswith("a" * 10_000) and out.endswith("b" * 10_000)
    assert f"... {len(text) - pp.LimitOutputSize.MAX_CHARS} characters cut ..." in out
    assert "Output of cell t1 cut: it printed 120 kB" in caplog.text


def test_chunks_of_one_print_are_merged_before_the_cut(log, caplog):
    """A kernel sends a long print in pieces, each under the limit: together they are cut."""
    cell = new_code_cell("print(s)", outputs=[stream("x" * 15_000), stream("y" * 15_000), stream("!", "stderr")])
    cell, _ = pp.LimitOutputSize(log=log).preprocess_cell(cell, {}, 4)
    assert [o.name for o in cell.outputs] == ["stdout", "stderr"]
    assert len(cell.outputs[0].text) < 21_000 and cell.outputs[0].text.endswith("y" * 10_000)
    assert "Output of cell number 5 cut" in caplog.text  # no grade id: its position


def test_streams_of_different_names_or_apart_stay_apart(log):
    cell = new_code_cell("", outputs=[stream("a"), stream("b", "stderr"), stream("c"),
                                      new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
                                      stream("d")])
    cell, _ = pp.LimitOutputSize(log=log).preprocess_cell(cell, {}, 0)
    assert [o.get("text") for o in cell.outputs] == ["a", "b", "c", None, "d"]


def test_a_megabyte_is_reported_in_mb_and_lines_are_still_limited(log, caplog):
    cell = graded_cell(outputs=[stream("z" * 2_500_000)])
    pp.LimitOutputSize(log=log).preprocess_cell(cell, {}, 0)
    assert "it printed 2.5 MB" in caplog.text
    many = graded_cell(outputs=[stream("line\n" * 500)])
    many, _ = pp.LimitOutputSize(log=log, max_lines=10).preprocess_cell(many, {}, 0)  # nbgrader's LimitOutput
    assert many.outputs[0].text.count("\n") == 9 and many.outputs[0].text.endswith("... Output truncated ...")


def test_short_outputs_are_left_as_they_are(log, caplog):
    cell = graded_cell(outputs=[stream("ok\n")])
    cell, _ = pp.LimitOutputSize(log=log).preprocess_cell(cell, {}, 0)
    assert cell.outputs[0].text == "ok\n" and not caplog.text


# ---------------------------------------------------------------- DropWarnings


def test_stderr_made_only_of_warnings_is_dropped():
    cell = new_code_cell("", outputs=[stream("result\n"), stream(WARNING, "stderr"),
                                      stream("[W1126 10:00:00.123 4242 init.cpp:10] Warning: slow path\n", "stderr")])
    cell, _ = pp.DropWarnings().preprocess_cell(cell, {}, 0)
    assert [(o.name, o.text) for o in cell.outputs] == [("stdout", "result\n")]


def test_other_stderr_stays_and_so_do_warnings_on_stdout():
    mixed = WARNING + "Traceback: something broke\n"
    cell = new_code_cell("", outputs=[stream(WARNING), stream(mixed, "stderr"), stream("oops\n", "stderr")])
    cell, _ = pp.DropWarnings().preprocess_cell(cell, {}, 0)
    assert [o.text for o in cell.outputs] == [WARNING, mixed, "oops\n"]


def test_markdown_cells_pass_through_drop_warnings():
    cell = new_markdown_cell("text: UserWarning")
    before = dict(cell)
    assert pp.DropWarnings().preprocess_cell(cell, {}, 0)[0] == before


# ---------------------------------------------------------------- HideHiddenTests


def test_the_hidden_block_is_removed_and_the_visible_asserts_stay():
    cell, _ = pp.HideHiddenTests().preprocess_cell(graded_cell(HIDDEN), {}, 0)
    assert "check(" not in cell.source and "nde_grader" not in cell.source and "HIDDEN" not in cell.source
    assert cell.source == ('"""The loss keeps the shape of w."""\nassert L(w).shape == w.shape\n'
                           "# (hidden tests ran here)\n")


def test_every_hidden_block_of_a_cell_is_removed():
    source = "a = 1\n" + HIDDEN.split("assert L(w).shape == w.shape\n")[1] + "b = 2\n" + \
        "    ### BEGIN HIDDEN TESTS\n    secret()\n    ### END HIDDEN TESTS\n"
    cell, _ = pp.HideHiddenTests().preprocess_cell(graded_cell(source), {}, 0)
    assert cell.source == "a = 1\n# (hidden tests ran here)\nb = 2\n# (hidden tests ran here)\n"


def test_the_feedback_hides_a_block_that_grading_would_not_read_as_one():
    from nde_grader.hidden import visible_part

    source = "a = 1\n### BEGIN HIDDEN TESTS  \nsecret()\n### END HIDDEN TESTS\n"  # spaces after the marker
    assert "secret" in visible_part(source)  # grading's BLOCK needs the line to end at the marker
    cell, _ = pp.HideHiddenTests().preprocess_cell(graded_cell(source), {}, 0)
    assert cell.source == "a = 1\n# (hidden tests ran here)\n"


def test_a_failed_test_shows_only_its_error_line():
    error = new_output("error", ename="AssertionError", evalue="descend: got 1, expected 2",
                       traceback=["Traceback ...", "  File hidden.py, line 3", 'check("gradient_descent.loss_values")'])
    cell, _ = pp.HideHiddenTests().preprocess_cell(graded_cell(HIDDEN, outputs=[error]), {}, 0)
    assert cell.outputs[0].traceback == ["\x1b[0;31mAssertionError\x1b[0m: descend: got 1, expected 2"]


def test_answer_cells_and_markdown_are_not_touched():
    answer = new_code_cell("### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS\n", outputs=[
        new_output("error", ename="NameError", evalue="x", traceback=["line 1", "line 2"])])
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "a1"}
    before = answer.source
    answer, _ = pp.HideHiddenTests().preprocess_cell(answer, {}, 0)
    assert answer.source == before and answer.outputs[0].traceback == ["line 1", "line 2"]
    written = new_markdown_cell("### BEGIN HIDDEN TESTS\nprose\n### END HIDDEN TESTS")
    written.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": "w1"}
    assert pp.HideHiddenTests().preprocess_cell(written, {}, 0)[0].source.startswith("### BEGIN")


# ---------------------------------------------------------------- ServerMathJax


@pytest.mark.parametrize("base, expected", [
    ("/user/ada/", "/user/ada" + pp.SERVER_MATHJAX),
    ("/", pp.SERVER_MATHJAX),
    (None, pp.SERVER_MATHJAX),
])
def test_formgrader_takes_mathjax_from_its_server(base, expected):
    nb, resources = pp.ServerMathJax().preprocess(new_notebook(), {"base_url": base})
    assert resources["nde"] == {"mathjax": [expected], "mathjax_config": pp.MATHJAX_FONTS}
    assert "cdn" not in expected.lower() and not expected.startswith("http")


# ---------------------------------------------------------------- FeedbackMarks


def _graded_notebook():
    visible = graded_cell('"""The loss keeps the shape of w.\n\nMore words."""\nassert True', "loss_values")
    overridden = graded_cell('"""Each step descends."""', "descent_step")
    no_doc = graded_cell("assert True", "descent_in_place")
    unknown = graded_cell('"""Not in the gradebook."""', "not_recorded")
    pending = new_markdown_cell("YOUR ANSWER HERE")
    pending.metadata["nbgrader"] = {"grade": True, "solution": True, "points": 3, "grade_id": "why"}
    marked = new_markdown_cell("Because.")
    marked.metadata["nbgrader"] = {"grade": True, "solution": True, "points": 2, "grade_id": "how"}
    answer = new_code_cell("def L(w): ...")
    answer.metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "loss"}
    return new_notebook(cells=[new_markdown_cell("# Title"), answer, visible, overridden, no_doc, unknown,
                               pending, marked])


def _gradebook():
    gb = Gradebook([Assignment("divergence", [Notebook("02_gradient_descent", 12)])], [Student("ada")])
    gb.submit("divergence", "ada", "02_gradient_descent", [
        Grade("loss_values", "code", 2, auto_score=2),
        Grade("descent_step", "code", 3, auto_score=0, manual_score=1.5),
        Grade("descent_in_place", "code", 2, auto_score=0),
        Grade("why", "markdown", 3),  # not graded yet
        Grade("how", "markdown", 2, auto_score=0),  # left blank: nbgrader scored it 0 itself
    ])
    return gb


@pytest.fixture
def feedback(monkeypatch):
    gb = _gradebook()
    urls = []
    monkeypatch.setattr("nbgrader.api.Gradebook", lambda url: urls.append(url) or gb)
    resources = {"nbgrader": {"db_url": "sqlite:///gradebook.db", "notebook": "02_gradient_descent",
                              "assignment": "divergence", "student": "ada"}}
    nb, resources = pp.FeedbackMarks().preprocess(_graded_notebook(), resources)
    assert urls == ["sqlite:///gradebook.db"]
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in nb.cells
            if "nbgrader" in c.metadata}, resources["nde"]


def test_feedback_marks_each_graded_cell(feedback):
    meta, _ = feedback
    assert meta["loss_values"]["nde_rule"] == "The loss keeps the shape of w"
    assert meta["loss_values"]["nde_override"] is None and meta["loss_values"]["nde_pending"] is False
    assert meta["descent_step"]["nde_override"] == 0 and meta["descent_step"]["nde_rule"] == "Each step descends"
    assert meta["descent_in_place"]["nde_rule"] == ""
    assert meta["why"]["nde_pending"] is True and meta["why"]["nde_rule"] == ""
    assert meta["how"]["nde_pending"] is False and meta["how"]["nde_override"] is None
    assert "nde_pending" not in meta["not_recorded"] and "nde_pending" not in meta["loss"]


def test_feedback_totals_leave_written_answers_to_grade_apart(feedback):
    _, totals = feedback
    assert (totals["auto_score"], totals["auto_max"]) == (2 + 1.5 + 0, 2 + 3 + 2)
    assert (totals["pending"], totals["pending_points"]) == (1, 3)
    assert totals["mathjax"] == list(pp.FeedbackMarks().mathjax) and totals["mathjax_config"] is pp.MATHJAX_FONTS
    assert totals["mathjax"][0].startswith("../../mathjax/") and totals["mathjax"][1] == pp.SERVER_MATHJAX


# ---------------------------------------------------------------- FeedbackExporter


def test_the_feedback_exporters_settings_stay_its_own():
    """The course's configuration gives formgrader's HTMLExporter its settings and SafeView; the
    feedback's exporter has settings of its own and runs no preprocessor of its own (the
    HTMLExporter's would run SafeView before the grades are read)."""
    from nbconvert.exporters import HTMLExporter

    config = Config()
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.preprocessors = [pp.ServerMathJax]
    assert pp.FeedbackExporter(config=config).preprocessors == [pp.ServerMathJax]  # why the course clears it
    config.FeedbackExporter.preprocessors = []
    config.FeedbackExporter.exclude_input_prompt = False
    assert pp.FeedbackExporter(config=config).preprocessors == []
    assert HTMLExporter(config=config).preprocessors == [pp.ServerMathJax]
    assert HTMLExporter(config=config).exclude_input_prompt and not pp.FeedbackExporter(config=config).exclude_input_prompt
