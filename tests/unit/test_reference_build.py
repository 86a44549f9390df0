"""nde_grader/reference_build.py: the course's answers as code, from the cells tagged export."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nde_grader import reference_build as exports

ANSWER = ("def L(w):\n    ### BEGIN SOLUTION\n    return torch.exp(w * z)\n    ### END SOLUTION\n\n\n"
          "print(L(torch.zeros(2)))\n")


def exported(source: str):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["export"]
    return cell


def notebook(*cells):
    return new_notebook(cells=list(cells))


def test_answer_code_drops_the_markers_and_keeps_the_answer():
    assert exports.answer_code(ANSWER) == (
        "def L(w):\n    return torch.exp(w * z)\n\n\nprint(L(torch.zeros(2)))")
    # only whole marker lines go
    assert exports.answer_code("s = '### BEGIN SOLUTION here'") == "s = '### BEGIN SOLUTION here'"


def test_only_code_cells_tagged_export_are_exported():
    untagged = new_code_cell("def hidden_helper(): pass")
    tagged_markdown = new_markdown_cell("def prose(): pass")
    tagged_markdown.metadata["tags"] = ["export"]
    nb = notebook(untagged, tagged_markdown, exported("import torch"), exported(ANSWER))
    assert [c.source for c in exports.export_cells(nb, "02")] == ["import torch", ANSWER]
    assert exports.notebook_exports(nb, "02") == "import torch\n\n\ndef L(w):\n    return torch.exp(w * z)"


@pytest.mark.parametrize("source", [
    "%matplotlib inline\ndef f(): pass",
    "  !ls\n",
    "def f(): pass\n### BEGIN HIDDEN TESTS\ncheck('a.b')\n### END HIDDEN TESTS\n",
])
def test_a_cell_tagged_export_must_be_plain_python(source):
    cell = exported(source)
    cell.id = "bad-cell"
    with pytest.raises(exports.ExportError, match="02_gradient_descent, cell bad-cell"):
        exports.export_cells(notebook(cell), "02_gradient_descent")


def test_loads_of_earlier_notebooks_are_kept_or_dropped():
    nb = notebook(exported('Net = from_notebook("03_network", "Net")\n\nclass Trainer:\n    pass\n\nTrainer()\n'))
    assert exports.notebook_exports(nb, "05") == 'Net = from_notebook("03_network", "Net")\n\n\nclass Trainer:\n    pass'
    assert exports.notebook_exports(nb, "05", keep_from_notebook=False) == "class Trainer:\n    pass"


def test_earlier_exports_are_the_notebooks_before_the_one_graded(tmp_path):
    for stem, body in (("01_problem", "def a(): pass"), ("02_gradient_descent", "def b(): pass"),
                       ("03_network", "def c(): pass")):
        nbformat.write(notebook(exported(body)), tmp_path / f"{stem}.ipynb")
    assert exports.earlier_exports(tmp_path, "03_network") == {"01_problem": "def a(): pass",
                                                              "02_gradient_descent": "def b(): pass"}
    assert exports.earlier_exports(tmp_path, "01_problem") == {}


def test_loads_become_imports_of_the_sibling_module():
    code = ("from nde_student import from_notebook\nimport torch\n"
            'Net = from_notebook("03_network", "Net")\n'
            'DV, dv_sd = from_notebook("04_dv_bound", "DV", "dv_sd")\n'
            'Critic = from_notebook("04_dv_bound", "t_star_net")\n'
            "x = 1")
    assert exports._imports_for_loads(code) == (
        "import torch\nfrom .network import Net\nfrom .dv_bound import DV, dv_sd\n"
        "from .dv_bound import t_star_net as Critic\nx = 1")
    assert exports.notebook_key("01_problem") == "problem"
    assert exports.notebook_key("07_mutual_information") == "mutual_information"


def test_the_reference_package_has_a_module_per_notebook_and_a_lazy_index(tmp_path):
    notebooks = {
        "01_problem": notebook(exported("import numpy as np\n\n\ndef ground_truth(rho):\n    ### BEGIN SOLUTION\n"
                                        "    return -0.5 * np.log(1 - rho**2)\n    ### END SOLUTION\n\n\n"
                                        "ground_truth(0.5)\n")),
        "02_gradient_descent": notebook(new_code_cell("def not_exported(): pass")),
        "03_network": notebook(exported('ground_truth = from_notebook("01_problem", "ground_truth")\n\n\n'
                                        "class Net:\n    def d(self):\n        return ground_truth(0.5)\n")),
    }
    files = exports.reference_package(notebooks)
    assert sorted(files) == ["__init__.py", "network.py", "problem.py"]
    assert "\nground_truth(0.5)" not in files["problem.py"]  # the demonstration stays in the notebook
    assert "from .problem import ground_truth" in files["network.py"]
    assert "SOLUTION" not in "".join(files.values()) and "from_notebook" not in files["network.py"]
    assert "# --- notebooks/divergence/01_problem.md, cell" in files["problem.py"]
    # the package works, and loads a notebook's module only when one of its names is used
    package = tmp_path / "unit_reference"
    package.mkdir()
    for name, text in files.items():
        (package / name).write_text(text)
    import importlib
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        ref = importlib.import_module("unit_reference")
        assert ref.WHERE == {"Net": "network", "ground_truth": "problem"}
        assert "unit_reference.network" not in sys.modules
        assert abs(ref.ground_truth(0.6) - 0.2231435513) < 1e-9
        assert abs(ref.Net().d() - ref.ground_truth(0.5)) < 1e-12
        with pytest.raises(AttributeError, match="no attribute 'secret'"):
            ref.secret  # noqa: B018
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("unit_reference")]:
            del sys.modules[name]
