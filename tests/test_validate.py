"""The self-check (`python -m nde_student validate`, also `python -m course validate`) fails
on a missing answer or a failing visible test, and warnings on stderr are not failures
(in grading and in validation)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from nbgrader.utils import is_grade

from course import ROOT
from nde_student.selfcheck import main, run, summarize
from nde_student.warnings_only import warnings_only

from .broken.cases import answer, cases, submission

pytestmark = pytest.mark.slow


def save(nb, path):
    import nbformat

    nbformat.write(nb, path)
    return path


def test_cli_passes_a_complete_notebook(tmp_path):
    path = save(submission(), tmp_path / "02_gradient_descent.ipynb")
    for command in (["-m", "nde_student", "validate"], ["-m", "course", "validate"]):
        done = subprocess.run([sys.executable, *command, str(path)], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "OK" in done.stdout


def test_missing_answers_and_failing_visible_tests_exit_1(tmp_path, capsys):
    untouched = tmp_path / "untouched" / "02_gradient_descent.ipynb"
    untouched.parent.mkdir()
    untouched.write_text((ROOT / "release" / "divergence" / "02_gradient_descent.ipynb").read_text())
    wrong = save(answer(submission(), "loss", inside="return torch.exp(w)  # forgets z"), tmp_path / "wrong.ipynb")
    assert main([str(untouched), str(wrong)]) == 1
    out = capsys.readouterr().out
    assert "MISSING  Exercise 2, `L`: not written yet" in out  # named as the notebook names it
    assert "MISSING  Exercise 1 (written): your answer is not given yet" in out
    # an unanswered exercise is one problem, missing, not also the failures of its tests
    assert "02_gradient_descent.ipynb: NOT YET: 0 visible tests passed, 0 failed, 4 answers missing" in out, out
    assert re.search(r"FAIL +Exercise 2, `L` \(L\(w\) = e\^\(w z\) elementwise and keeps the shape of w\): "
                     r"AssertionError: for z = -1", out), out
    assert "wrong.ipynb: NOT YET" in out


def test_warnings_on_stderr_are_not_failures(tmp_path):
    """The batch's `warns` student makes Python and PyTorch warn inside test cells; it
    keeps every point there (tests/test_broken.py) and validates here."""
    nb = run(save_writer(cases()["warns"].writer, tmp_path))
    warned = {c.metadata["nbgrader"]["grade_id"]: "".join(o.text for o in c.outputs if o.get("name") == "stderr")
              for c in nb.cells if c.cell_type == "code" and is_grade(c)}
    warned = {k: v for k, v in warned.items() if v}
    assert {"loss_values", "loss_gradient", "descent_step"} <= set(warned), warned  # the case is not vacuous
    assert "UserWarning" in warned["descent_step"] and "clone" in warned["descent_step"]  # PyTorch's own warning
    assert all(warnings_only(text) for text in warned.values()), warned
    assert summarize(nb) == (3, [])


def test_the_warning_filter_is_the_graders():
    from traitlets.config.loader import PyFileConfigLoader

    from nde_grader.preprocessors import DropWarnings

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert DropWarnings in config.Autograde.autograde_preprocessors
    assert not warnings_only("Traceback (most recent call last):\n")
    assert not warnings_only("/x.py:3: UserWarning: fine\n  warn()\nERROR: the data is gone\n")
    assert not warnings_only("computing L\n")


def save_writer(writer, folder):
    writer(folder)
    return folder / "02_gradient_descent.ipynb"


REAL_WARNINGS = {
    "torch": "import torch\nfloat(torch.ones(1, requires_grad=True) * 2)  # multi-line, 'Triggered internally at'",
    "numpy": "import numpy as np\nnp.array([1.0]) / 0",
    "matplotlib": "import matplotlib.pyplot as plt\nplt.figure()\nplt.legend()\nplt.close('all')",
    "pandas": "import pandas as pd\npd.to_datetime(['13/02/2020'])",
    "seaborn": "import matplotlib.pyplot as plt\nimport seaborn as sns\n"
               "sns.barplot(x=['a', 'b'], y=[1, 2], palette='deep')  # a message between blank lines\nplt.close('all')",
}


def _stderr_of_cells(cells: list[str], normalize: bool) -> list[str]:
    import nbformat
    from nbclient import NotebookClient

    from nde_student.warnings_only import NORMALIZE_WARNINGS

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    if normalize:
        nb.cells.insert(0, nbformat.v4.new_code_cell(NORMALIZE_WARNINGS))
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    texts = ["".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stderr") for c in nb.cells]
    return texts[1:] if normalize else texts


def test_real_library_warnings_are_not_failures():
    """Warnings that torch, numpy, matplotlib, pandas and seaborn really write, as the grading
    and self-check kernels write them (later lines indented), are warnings only; a warning
    followed by other stderr is not. Without that setup, the plain layout is still
    recognised where it can be told apart (not seaborn's message between blank lines)."""
    mixed = REAL_WARNINGS["numpy"] + "\nimport sys\nprint('the data is gone', file=sys.stderr)"
    cells = [*REAL_WARNINGS.values(), mixed]
    for normalize in (True, False):
        texts = _stderr_of_cells(cells, normalize)
        for (library, _), text in zip(REAL_WARNINGS.items(), texts):
            assert "Warning" in text, f"{library} did not warn: the test would prove nothing ({text!r})"
            if normalize or library != "seaborn":
                assert warnings_only(text), f"{library}'s warning counted as a failure ({normalize=}): {text!r}"
        assert not warnings_only(texts[-1]), f"other stderr after a warning passed as a warning: {texts[-1]!r}"
    assert "Triggered internally at" in _stderr_of_cells([REAL_WARNINGS["torch"]], True)[0]
