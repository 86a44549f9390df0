"""The grading command's pure parts (course/grade.py, autograde.py, nbgrader_cli.py, submission.py, text.py):
the report's lines, what a student changed, why cells failed, the score table. Nothing here starts nbgrader."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course import autograde, grade, nbgrader_cli, submission, text
from nde_grader.gradebook_csv import NotebookGrade, Override
from nde_grader.journal import Journal, Verdict


def cell(source: str, gid: str | None = None, kind: str = "code", **meta):
    c = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if gid:
        c.metadata["nbgrader"] = {"grade_id": gid, **meta}
    return c


def answer(gid: str, source: str = "def f(): pass"):
    return cell(source, gid, solution=True, grade=False, locked=False)


def test_cell(gid: str, source: str = "assert f() == 1"):
    return cell(source, gid, grade=True, solution=False, locked=True, points=1)


test_cell.__test__ = False  # a helper, not a test


def release():
    return new_notebook(cells=[cell("# Run this cell.\nimport numpy"), answer("loss"), test_cell("loss_values"),
                               answer("descent"), test_cell("descent_step")])


# ---------------------------------------------------------------- the report's lines


def test_printable_keeps_a_short_line_and_cuts_a_long_one_after_a_word():
    assert text.printable("graded in 1.0 s") == "graded in 1.0 s"
    assert text.printable("two\nlines") == "two lines"
    words = " ".join(["word"] * 100)
    cut = text.printable(words, 50)
    assert cut.endswith("word…") and len(cut) <= 50 and not cut.endswith(" …")
    assert text.printable("x" * 100, 50) == "x" * 49 + "…"  # no word ends: cut anywhere
    assert text.printable("a " + "x" * 100, 50) == "a " + "x" * 47 + "…"  # nor late enough: never a stub of a line


def test_printable_shows_control_characters_escaped_and_drops_colours():
    assert text.printable("\x1b[31mred\x1b[0m \x1b[2J\r\x07") == "red \\x1b[2J\\r\\x07"


def test_report_lines_wrap_to_the_terminal_between_words(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    path = "/home/ada/" + "very-long-folder-name/" * 4 + "01_problem.ipynb"  # longer than a line
    line = "01_problem: samples_moments: AssertionError: " + " ".join(["mean"] * 30) + " " + path
    lines = text.report_line(line).splitlines()
    assert all(len(line) <= 60 for line in lines[:-1]) and len(lines) > 2
    assert lines[0].startswith("    01_problem") and all(line.startswith("      ") for line in lines[1:])
    assert lines[-1].strip() == path  # never broken inside a word


def test_problems_in_keeps_what_tells_what_went_wrong():
    log = "\n".join([
        "[AutogradeApp | INFO] Autograding divergence",
        "[AutogradeApp | WARNING] Attribute 'checksum' for cell loss_values does not match",
        "[AutogradeApp | ERROR] Notebook 03_network could not be converted",
        "[AutogradeApp | ERROR] Notebook 03_network could not be converted",
        "[AutogradeApp | WARNING] Traceback (most recent call last):",
        "[AutogradeApp | WARNING] Late submission: 2 hours",
        "[OtherApp | ERROR] not ours",
    ] + [f"[AutogradeApp | ERROR] problem {i}" for i in range(20)])
    assert autograde.problems_in(log) == ["Notebook 03_network could not be converted", "Late submission: 2 hours"] + [
        f"problem {i}" for i in range(6)]


def test_files_report_names_at_most_six_things():
    assert submission.Files().report() == []
    files = submission.Files(left_out=[f"f{i}.py" for i in range(8)])
    assert files.report() == ["left out, never given to a grading kernel: f0.py, f1.py, f2.py, f3.py, f4.py, f5.py "
                              "and 2 more"]


def test_students_are_the_folders_of_the_assignment(tmp_path):
    assert nbgrader_cli.students(tmp_path) == []
    for who in ("zoe", "ada"):
        (tmp_path / "submitted" / who / "divergence").mkdir(parents=True)
    (tmp_path / "submitted" / "bob" / "other").mkdir(parents=True)
    assert nbgrader_cli.students(tmp_path) == ["ada", "zoe"]


# ---------------------------------------------------------------- before grading


def test_read_says_why_a_file_cannot_be_graded(tmp_path):
    path = tmp_path / "01_problem.ipynb"
    path.write_text("  \n")
    assert submission._read(path) == (None, "01_problem.ipynb is an empty file: not graded, 0 points")
    path.write_text("{not json")
    assert "is not valid JSON" in submission._read(path)[1]
    path.write_text('{"cells": 3}')
    assert "is not a Jupyter notebook" in submission._read(path)[1]
    nbformat.write(release(), path)
    nb, why = submission._read(path)
    assert why == "" and [c.source for c in nb.cells] == [c.source for c in release().cells]


def test_ids_are_the_graded_and_locked_cells_in_order():
    nb = release()
    nb.cells.insert(0, cell("x", "stray"))  # grade_id but neither graded nor locked
    assert submission._ids(nb) == ["loss", "loss_values", "descent", "descent_step"]


def test_an_untouched_submission_raises_no_problem():
    problems = []
    submission._sanitize(release(), release(), "02.ipynb", problems)
    assert problems == []


def test_settings_changed_or_made_up_are_put_back_and_reported():
    nb = release()
    nb.cells[2].metadata["nbgrader"]["points"] = 100
    nb.cells[1].metadata["nbgrader"] = {"grade_id": "made_up", "grade": True, "points": 5}
    nb.cells.append(cell("", "also_made_up", grade=True))
    problems = []
    submission._sanitize(nb, release(), "02.ipynb", problems)
    assert nb.cells[2].metadata["nbgrader"]["points"] == 1
    assert "nbgrader" not in nb.cells[1].metadata and "nbgrader" not in nb.cells[-1].metadata
    assert problems[0] == ("02.ipynb: cells 'made_up', 'also_made_up' are not graded cells of the assignment: "
                           "run as ordinary cells")
    assert problems[1] == "02.ipynb: the grading settings of cells 'loss_values' were changed: put back as released"
    # the answer cell's grade id went with its settings: it counts as deleted
    assert problems[2] == "02.ipynb: cells 'loss' were deleted: test cells are put back and graded"


def test_a_copied_cell_is_graded_once():
    nb = release()
    copy = nbformat.from_dict(nb.cells[2])
    nb.cells.insert(3, copy)  # loss_values again, right below, with the same cell id
    problems = []
    submission._sanitize(nb, release(), "02.ipynb", problems)
    assert problems == ["02.ipynb: cell 'loss_values' appears 2 times (copied?): only the last copy is graded"]
    assert "nbgrader" not in nb.cells[2].metadata and nb.cells[3].metadata["nbgrader"]["grade_id"] == "loss_values"


def test_repeated_cell_ids_are_made_unique():
    nb = release()
    nb.cells.insert(1, nbformat.from_dict(nb.cells[0]))  # a teaching cell copied, with its id
    submission._sanitize(nb, release(), "02.ipynb", [])
    assert len({c.id for c in nb.cells}) == len(nb.cells)


def test_deleted_reordered_and_edited_cells_are_reported():
    nb = release()
    nb.cells[4].source = "assert True  # edited"
    nb.cells = [nb.cells[0], nb.cells[3], nb.cells[4], nb.cells[1]]  # loss_values deleted, descent moved up
    problems = []
    submission._sanitize(nb, release(), "02.ipynb", problems)
    assert problems == [
        "02.ipynb: cells 'loss_values' were deleted: test cells are put back and graded",
        "02.ipynb: cells out of order: 'descent' comes before 'loss'; graded as submitted",
        "02.ipynb: locked cells 'descent_step' were edited: graded with the originals",
    ]


# ---------------------------------------------------------------- after grading


@pytest.mark.parametrize("ename, value, line", [
    ("AssertionError", "dv_value: got 1, expected 2\nmore", "AssertionError: dv_value: got 1, expected 2"),
    ("CellTimeoutError", "", "CellTimeoutError -- ran past the per-cell time limit (an infinite loop?)"),
    ("RuntimeError", "CUDA: tried to allocate 2 GB, out of memory", "RuntimeError: CUDA: tried to allocate 2 GB, out of "
                                                                    "memory -- ran out of memory"),
    ("StdinNotImplementedError", "raw_input", "StdinNotImplementedError: raw_input -- asks for input(), which nobody "
                                              "can answer while grading"),
], ids=["assertion", "timeout", "memory", "input"])
def test_a_reason_names_the_error_and_what_it_means(ename, value, line):
    assert autograde._reason(ename, value) == line


def test_cell_errors_come_from_the_verdicts_and_the_answers_errors(tmp_path):
    nb = release()
    nb.cells[1].outputs = [new_output("error", ename="NotImplementedError", evalue="", traceback=[])]
    nb.cells[3].outputs = [new_output("stream", name="stderr", text="ValueError: oops\nsecond line\n")]
    nb.cells[3].metadata["nbgrader"]["grade"] = True  # a graded answer that wrote to stderr
    path = tmp_path / "02_gradient_descent.ipynb"
    nbformat.write(nb, path)
    journal = Journal("02_gradient_descent", verdicts={"loss_values": Verdict(False, "AssertionError: loss: got 1")})
    assert autograde._cell_errors(path, journal) == [
        "02_gradient_descent: loss: NotImplementedError",
        "02_gradient_descent: loss_values: AssertionError: loss: got 1",
        "02_gradient_descent: descent: wrote to stderr, not a warning (no points lost; shown in the feedback): "
        "ValueError: oops",
        "02_gradient_descent: descent_step: NoVerdict: the grader did not decide it",
    ]
    journal.verdicts["descent_step"] = Verdict(False, "AssertionError: loss: got 1")
    assert "02_gradient_descent: loss_values, descent_step: AssertionError: loss: got 1" in autograde._cell_errors(path, journal)
    assert autograde._cell_errors(tmp_path / "missing.ipynb", journal) == []


def test_review_names_answer_cells_that_reach_for_the_answers(tmp_path):
    nb = release()
    nb.cells[3].source = "from nde_grader.reference import descend"
    nb.cells[2].source = "import gc"  # a test cell: not the student's
    path = tmp_path / "02_gradient_descent.ipynb"
    nbformat.write(nb, path)
    assert autograde._review(path) == ["02_gradient_descent: review descent: the answer imports the instructor's package "
                                   "nde_grader.reference"]


def test_a_cell_that_killed_the_kernel_is_taken_out():
    nb = release()
    ids = [c.id for c in nb.cells]
    assert autograde._take_out(nb, ids[1]) == "loss"  # an answer cell: replaced by an error
    assert nb.cells[1].source.startswith("raise RuntimeError(") and len(nb.cells) == 5
    assert autograde._take_out(nb, ids[2]) == "loss_values"  # a test cell: removed (it scores 0)
    assert [c.id for c in nb.cells] == [ids[0], ids[1], ids[3], ids[4]]
    assert autograde._take_out(nb, ids[0]) == "cell 1"
    graded_answer = answer("autograded")
    graded_answer.metadata["nbgrader"]["grade"] = True  # an answer cell with points of its own: removed too
    nb.cells.append(graded_answer)
    assert autograde._take_out(nb, graded_answer.id) == "autograded" and graded_answer not in nb.cells
    assert autograde._take_out(nb, "no-such-cell") is None


# ---------------------------------------------------------------- the score table


def test_the_score_table():
    table = {
        "ada": {"01_problem": NotebookGrade(graded_score=5, graded_max=5),
                "02_gradient_descent": NotebookGrade(graded_score=2.5, graded_max=4, to_grade=2, overrides=[
                    Override("02_gradient_descent", "descent_step", 1.5, 0)])},
        "bob": {"01_problem": None, "02_gradient_descent": NotebookGrade(graded_score=0, graded_max=4)},
    }
    lines = grade.format_table(table, review={"bob"}).splitlines()
    assert lines[0].split() == ["student", "01_problem", "02_gradient_descen", "total"]
    assert lines[1] == "-" * len(lines[0])
    assert lines[2].split() == ["ada", "5/5", "2.5/4", "h", "+2w", "7.5/9"]
    assert lines[3].split() == ["bob", "not", "graded", "0/4", "0/4", "NEEDS", "REVIEW"]
    assert lines[-2:] == ["scores set by hand:",
                          "  ada: 02_gradient_descent/descent_step: 1.5 set by hand (the autograder gave 0)"]
    assert "NEEDS REVIEW" not in lines[2]
    assert "scores set by hand" not in grade.format_table({"bob": table["bob"]})
