"""nde_student/earlier.py: a student's answers of the earlier notebooks, read from those notebooks."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nde_student import earlier
from nde_student.earlier import AnswerMissing, definitions_only, from_notebook

STUB = "def L(w):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"


@pytest.fixture(autouse=True)
def fresh_state():
    """from_notebook keeps what it read and what is missing for the kernel's life: start clean."""
    earlier.provide({})
    earlier._MISSING.clear()
    yield
    earlier.provide({})
    earlier._MISSING.clear()


def exported(source: str):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["export"]
    return cell


def write(folder, stem: str, *cells) -> None:
    nbformat.write(new_notebook(cells=list(cells)), folder / f"{stem}.ipynb")


def test_definitions_only_keeps_imports_functions_classes_and_loads():
    code = ("import torch\nx = 1\n\n@torch.no_grad()\ndef f():\n    return 2\n\nprint(f())\n"
            "class C:\n    pass\nNet = from_notebook('03_network', 'Net')\n")
    assert definitions_only(code) == ("import torch\n\n\n@torch.no_grad()\ndef f():\n    return 2\n\n\n"
                                      "class C:\n    pass\n\n\nNet = from_notebook('03_network', 'Net')")
    assert "from_notebook" not in definitions_only(code, keep_from_notebook=False)


def test_is_stub():
    import ast

    assert earlier._is_stub(ast.parse(STUB).body[0])
    assert earlier._is_stub(ast.parse("class N:\n    def f(self):\n        raise NotImplementedError\n").body[0])
    assert not earlier._is_stub(ast.parse("def L(w):\n    raise ValueError('no')\n").body[0])


def test_an_answered_notebook_gives_its_definitions_and_not_its_demonstrations(tmp_path, capsys):
    write(tmp_path, "02_gradient_descent", new_markdown_cell("**Exercise 2**"),
          exported("def L(w):\n    return 2 * w\n\n\nprint('demonstration ran')\n"), new_code_cell("def other(): pass"))
    L = from_notebook("02_gradient_descent.ipynb", "L", folder=tmp_path)
    assert L(3) == 6 and capsys.readouterr().out == ""
    with pytest.raises(TypeError, match="needs the names"):
        from_notebook("02_gradient_descent", folder=tmp_path)


def test_several_names_come_back_as_a_tuple(tmp_path):
    write(tmp_path, "04_dv_bound", exported("def DV(t):\n    return 1\n\n\ndef dv_sd():\n    return 2\n"))
    DV, dv_sd = from_notebook("04_dv_bound", "DV", "dv_sd", folder=tmp_path)
    assert (DV(0), dv_sd()) == (1, 2)


def test_an_unanswered_exercise_gives_a_stand_in_that_names_it(tmp_path, capsys):
    write(tmp_path, "02_gradient_descent", new_markdown_cell("**Exercise 1**"), new_markdown_cell("**Exercise 2** L"),
          exported(STUB), exported("def descend(w):\n    return w - L(w)\n"))
    L, descend = from_notebook("02_gradient_descent", "L", "descend", folder=tmp_path)
    out = capsys.readouterr().out
    assert out.startswith(f"{earlier.NOT_YET} L comes from Exercise 2 of 02_gradient_descent.ipynb, which is not answered "
                          "yet; descend needs L, and L comes from Exercise 2")
    assert "the cells that use them stop in one line" in out
    missing = f"Exercise 2 of 02_gradient_descent.ipynb, which is not answered yet: {earlier.RERUN}"
    with pytest.raises(AnswerMissing, match=missing):
        L(1)
    with pytest.raises(AnswerMissing):
        descend.anything  # noqa: B018
    assert isinstance(AnswerMissing("x"), NotImplementedError)
    assert AnswerMissing("m")._render_traceback_() == ["AnswerMissing: m"]
    assert "not available" in repr(L)


def test_a_missing_or_broken_notebook_is_said_in_one_line(tmp_path, capsys):
    Net = from_notebook("03_network", "Net", folder=tmp_path)
    assert "Net comes from 03_network.ipynb, but 03_network.ipynb is not in" in capsys.readouterr().out
    with pytest.raises(AnswerMissing):
        Net()
    (tmp_path / "03_network.ipynb").write_text("{ not json")
    from_notebook("03_network", "Net", folder=tmp_path)
    assert "cannot be read as a notebook (JSONDecodeError" in capsys.readouterr().out
    write(tmp_path, "03_network", exported("def Net(:\n    pass\n"))
    from_notebook("03_network", "Net", folder=tmp_path)
    assert "has a syntax error (line 1" in capsys.readouterr().out
    write(tmp_path, "03_network", exported("class Net(Missing):\n    pass\n"))
    from_notebook("03_network", "Net", folder=tmp_path)
    assert "stop with NameError: name 'Missing' is not defined" in capsys.readouterr().out
    write(tmp_path, "03_network", exported("def other(): pass"))
    from_notebook("03_network", "Net", folder=tmp_path)
    assert "Net is not defined by the cells tagged export in 03_network.ipynb" in capsys.readouterr().out


def test_a_later_answer_replaces_the_stand_in(tmp_path):
    write(tmp_path, "02_gradient_descent", exported(STUB))
    from_notebook("02_gradient_descent", "L", folder=tmp_path)
    assert earlier.undefined(NameError("x", name="x")).startswith("x is not defined, as a cell above stopped: L comes")
    import os
    import time

    write(tmp_path, "02_gradient_descent", exported("def L(w):\n    return w\n"))
    path = tmp_path / "02_gradient_descent.ipynb"
    os.utime(path, ns=(time.time_ns() + 10**9,) * 2)  # saved later: read again
    assert from_notebook("02_gradient_descent", "L", folder=tmp_path)(5) == 5
    assert earlier.undefined(NameError("x", name="x")) is None


def test_a_notebook_built_on_a_missing_answer_is_read_again_once_that_is_answered(tmp_path, capsys):
    import os
    import time

    write(tmp_path, "02_gradient_descent", exported(STUB))
    write(tmp_path, "05_trainer", exported("from nde_student import from_notebook\n"
                                           f'L = from_notebook("02_gradient_descent", "L", folder={str(tmp_path)!r})\n'
                                           "def train(w):\n    return L(w)\n"))
    with pytest.raises(AnswerMissing):
        from_notebook("05_trainer", "train", folder=tmp_path)(1)
    assert "train needs L, and L comes from 02_gradient_descent.ipynb" in capsys.readouterr().out
    write(tmp_path, "02_gradient_descent", exported("def L(w):\n    return w + 1\n"))
    path = tmp_path / "02_gradient_descent.ipynb"
    os.utime(path, ns=(time.time_ns() + 10**9,) * 2)  # 05_trainer itself is unchanged
    assert from_notebook("05_trainer", "train", folder=tmp_path)(1) == 2


def test_a_notebook_that_asks_for_itself_is_a_loop(tmp_path, capsys):
    write(tmp_path, "03_network", exported("from nde_student import from_notebook\n"
                                           f'Net = from_notebook("03_network", "Net", folder={str(tmp_path)!r})\n'))
    from_notebook("03_network", "Net", folder=tmp_path)
    assert "asks for itself through from_notebook (a loop)" in capsys.readouterr().out


def test_while_graded_the_course_answers_are_given_instead_of_the_students(tmp_path):
    write(tmp_path, "02_gradient_descent", exported(STUB))  # the student's: unanswered
    earlier.provide({"02_gradient_descent": "def L(w):\n    return 'course'\n"})
    assert from_notebook("02_gradient_descent", "L", folder=tmp_path)(0) == "course"
    earlier.provide({})
    with pytest.raises(AnswerMissing):
        from_notebook("02_gradient_descent", "L", folder=tmp_path)(0)
