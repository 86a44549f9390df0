"""The catalog of attacks on the grader: submissions that write no answer and try to score anyway.

A cheat (tests/cheats.py) borrows the course's answer; an attack writes none and works on
the grader instead: it steers what the kernel outputs (nbgrader's own scoring reads a test
cell's outputs), configures the kernel with files placed beside the notebooks, forges the
replies of the hidden tests, shadows what the visible asserts use, writes into the
grader's log, reads the grader's environment, stretches a notebook past its time budget,
hands in files too large to read, or plants HTML and links for the feedback pages. Each
attack assumes a student who has read this repository, the grader included.

``ATTACKS`` maps a name to an ``Attack``; ``attacked_submission(attack)`` writes its
submission (every notebook of the release, its answers left as they are or replaced by
stand-ins that do no work, the attack's code at the top of each notebook's first answer
cell, its files beside the notebooks). tests/test_attacks.py grades one student per
attack through the real ``grade`` path and expects 0 points and the attack's evidence
that it reached nothing; for the attacks on nbgrader's own scoring, a control shows that
the same submission earns points where a cell's outputs decide (a plain kernel in the
student's folder, scored by nbgrader's ``determine_grade``), so that an attack that merely
crashes proves nothing.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

from course import ASSIGNMENT, ROOT

CANARY = "nde-canary-7f3a9c"
"""A value the tests put in the grader's environment and in another student's file: no kernel
and no feedback page of the attacker may ever hold it."""
XSS = "nde-xss-5e1d"
"""What the attacks' scripts and event handlers would run: no page may carry it in a script."""
VICTIM = "victim"
"""A student of the same class, whose files an attack tries to reach."""
FAKE_LOG = ("[AutogradeApp | WARNING] INJECTED-BY-KERNEL: this line was written by a student's kernel\n"
            "[AutogradeApp | INFO] Sanitizing /course/submitted/x/divergence/99_fake.ipynb\n[nde-cell] 0 fake\n")


@dataclass(frozen=True)
class Attack:
    route: str
    """What the attack does, in words (the threat model of docs/grader.md has a row for each)."""
    cell: str = ""
    """Code put at the top of each notebook's first answer cell."""
    files: dict = field(default_factory=dict)
    """Files beside the notebooks: path -> text, or bytes, or an int (a sparse file of that size)."""
    answers: str = "stub"
    """"stub": the answers left as the release has them (raise NotImplementedError); "idle":
    stand-ins that do no work (NaN, in the shape of their first array argument): never a
    right value, whatever a check asks."""
    notebooks: tuple = ()
    """The notebooks that carry the attack's code (default: all)."""
    markdown: str = ""
    """A markdown cell added after each notebook's first answer cell."""
    control: bool = False
    """True: the same submission earns points where outputs decide (the control test)."""


_IDLE = r'''
def _idle_result(*args, **kwargs):
    import numpy, torch
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, torch.Tensor):
            return torch.full(a.shape, float("nan"), device=a.device)
        if isinstance(a, numpy.ndarray):
            return numpy.full(a.shape, numpy.nan)
    return float("nan")
'''

_HOOK = "get_ipython().events.register('pre_run_cell', lambda *a, **k: get_ipython().displayhook('ok'))\n"

_PROFILE = "c.InteractiveShell.ast_node_interactivity = 'all'\nc.InteractiveShellApp.exec_lines = [%r]\n" % _HOOK

ATTACKS: dict[str, Attack] = {
    "interactivity_magic": Attack(
        "one line of %config makes every expression of later cells display its value: a result before any error",
        cell="%config InteractiveShell.ast_node_interactivity = 'all'\n", control=True),
    "interactivity_attribute": Attack(
        "the same display setting set through get_ipython()",
        cell="get_ipython().ast_node_interactivity = 'all'\n", control=True),
    "result_before_each_cell": Attack(
        "an event hook that displays a result before every later cell runs",
        cell=_HOOK, control=True),
    "silenced_errors": Attack(
        "a custom exception handler and a silent showtraceback: errors leave no error output",
        cell="get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
             "get_ipython().showtraceback = lambda *a, **k: None\n", control=True),
    "swallowing_transformer": Attack(
        "an input transformer that wraps every later cell in try/except: nothing ever fails",
        cell=r'''
def _swallow(lines):
    body = "".join(lines)
    if not body.strip():
        return lines
    indented = "".join("    " + line for line in body.splitlines(True))
    return ["try:\n", indented.rstrip("\n") + "\n", "except BaseException:\n", "    pass\n"]
get_ipython().input_transformers_post.append(_swallow)
''', control=True),
    "shadowed_builtins": Attack(
        "answers that do no work, with the names the visible asserts use (abs, all, any, round, isclose, "
        "allclose) shadowed or patched to agree with anything",
        answers="idle", control=True, cell=r'''
import math as _m, numpy as _np, torch as _t
abs = lambda *a, **k: 0.0
all = any = callable = lambda *a, **k: True
round = lambda x, *a: x
_m.isclose = _np.isclose = _np.allclose = _t.isclose = _t.allclose = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
'''),
    "profile_files": Attack(
        "no change to the notebooks: IPython profiles and config files in the student's folder (the kernel's home "
        "and working folder under a plain nbgrader) that change the display and run code in every kernel",
        files={".ipython/profile_default/ipython_kernel_config.py": _PROFILE,
               ".ipython/profile_default/ipython_config.py": _PROFILE,
               ".config/ipython/profile_default/ipython_kernel_config.py": _PROFILE,
               "ipython_kernel_config.py": _PROFILE, "ipython_config.py": _PROFILE,
               ".jupyter/jupyter_config.py": "c.InteractiveShell.ast_node_interactivity = 'all'\n",
               "matplotlibrc": "backend: agg\n"},
        control=True),
    "startup_files": Attack(
        "no change to the notebooks: IPython startup files in the student's folder that register a hook before "
        "each cell",
        files={".ipython/profile_default/startup/00-hook.py": _HOOK,
               "profile_default/startup/00-hook.py": _HOOK,
               ".config/ipython/profile_default/startup/00-hook.py": _HOOK},
        control=True),
    "python_startup_files": Attack(
        "no change to the notebooks: Python's user site in the student's folder (a .pth line and usercustomize "
        "that point IPython at a profile of theirs), and modules named like the grader's harness (no control: a "
        "virtual environment, as the course's, ignores the user site; a system Python reads it)",
        files={".local/lib/python3.11/site-packages/zz-course.pth":
               "import os; os.environ['IPYTHONDIR'] = os.path.expanduser('~/.hidden-ipython')\n",
               ".local/lib/python3.11/site-packages/usercustomize.py":
               "import os\nos.environ['IPYTHONDIR'] = os.path.expanduser('~/.hidden-ipython')\n",
               ".hidden-ipython/profile_default/startup/00-hook.py": _HOOK,
               "_nde_harness.py": "def serve(*args):\n    pass\n", "sitecustomize.py": "import os\n"}),
    "forged_reply_display": Attack(
        "answers that do no work and, when the hidden tests call them, display a message shaped like the "
        "harness's reply (with and without a token) before the harness answers",
        answers="idle", cell=r'''
def _forge():
    from IPython.display import display
    mime = "application/vnd.nde.result+json"
    display({mime: []}, raw=True)
    display({mime: {"token": "0" * 32, "result": []}}, raw=True)
'''),
    "forged_harness": Attack(
        "answers that do no work and an import hook that hands the grader's request to a harness of the "
        "student's, which echoes the request's token with results of its own making",
        answers="idle", cell=r'''
import builtins as _b, types as _ty
_real_import = _b.__import__
def _fake_serve(routine, payload, token):
    from IPython.display import display
    import json
    params = json.loads(payload)
    asked = next((v for v in params.values() if isinstance(v, list)), [])
    display({"application/vnd.nde.result+json": {"token": token, "result": [{} for _ in asked]}}, raw=True)
_fake = _ty.ModuleType("_nde_harness")
_fake.serve = _fake_serve
def _import(name, *args, **kwargs):
    if name == "_nde_harness":
        return _fake
    return _real_import(name, *args, **kwargs)
_b.__import__ = _import
'''),
    "kernel_log_writes": Attack(
        "writes lines shaped like nbgrader's log (warnings, progress that restarts a time budget) to every file "
        "or pipe it holds open, and truncates them",
        cell=r'''
import os as _os
_written = []
for _fd in range(0, 512):
    try:
        _kind = _os.readlink(f"/proc/self/fd/{_fd}")
    except OSError:
        continue
    if _kind.startswith(("socket:", "anon_inode:")):
        continue
    try:
        _os.write(_fd, %r.encode())
        _written.append(_fd)
    except OSError:
        pass
    if _fd > 2:
        try:
            _os.ftruncate(_fd, 0)
        except OSError:
            pass
print("the kernel wrote to descriptors", _written)
''' % FAKE_LOG),
    "grader_environment": Attack(
        "reads the grader's environment, descriptors, home and processes from inside the kernel, and prints them "
        "into the notebook (which reaches the feedback)",
        cell=r'''
import os as _os, json as _json
_seen = {"environ": dict(_os.environ), "home": [], "fds": {}, "proc": {}}
for _root, _dirs, _files in _os.walk(_os.path.expanduser("~")):
    _seen["home"] += [_os.path.join(_root, _f) for _f in _files]
for _fd in _os.listdir("/proc/self/fd"):
    try:
        _seen["fds"][_fd] = _os.readlink(f"/proc/self/fd/{_fd}")
    except OSError:
        pass
for _pid in [p for p in _os.listdir("/proc") if p.isdigit()] + ["self", str(_os.getppid()), "1"]:
    for _what in ("environ", "cmdline"):
        try:
            with open(f"/proc/{_pid}/{_what}", "rb") as _f:
                _seen["proc"][f"{_pid}/{_what}"] = _f.read().decode("utf-8", "replace")
        except OSError:
            pass
print("GRADER-ENVIRONMENT " + _json.dumps(_seen))
'''),
    "budget_stretch": Attack(
        "answers that never return, survive interrupts and write nbgrader's progress lines, to hold a worker "
        "past the notebook's time budget",
        answers="idle", notebooks=("02_gradient_descent",), cell=r'''
import os as _os, time as _time
def _idle_result(*args, **kwargs):
    while True:
        try:
            for _fd in (1, 2):
                _os.write(_fd, b"[AutogradeApp | INFO] Sanitizing /x/02_gradient_descent.ipynb\n")
            _time.sleep(0.5)
        except BaseException:
            pass
'''),
    "oversized_files": Attack(
        "files too large to read: a 3 GB file beside the notebooks, a 3 GB file in place of a notebook, a 10 MB image",
        files={"weights.bin": 3 * 2**30, "03_network.ipynb": 3 * 2**30, "sketch.png": 10 * 2**20}),
    "feedback_links_and_html": Attack(
        "markdown and outputs for the feedback page and formgrader: images linked from another student's folder, "
        "from the grader's files and from the network, raw HTML with scripts and event handlers",
        markdown=("![a](../../%(v)s/%(a)s/canary.png) ![b](../../../submitted/%(v)s/%(a)s/canary.png) "
                  "![c](../../../../submitted/%(v)s/%(a)s/canary.png) ![d](/etc/hostname) ![e](file:///etc/hostname) "
                  "![f](https://example.org/track.png) <img src=\"../../%(v)s/%(a)s/canary.png\"> "
                  "<img src=x onerror=\"alert('%(c)s')\"> <script>alert('%(c)s')</script> "
                  "<a href=\"javascript:alert('%(c)s')\">link</a> <iframe src=\"https://example.org\"></iframe>"
                  % {"v": VICTIM, "a": ASSIGNMENT, "c": XSS}),
        cell=r'''
from IPython.display import display, HTML, SVG, Javascript
display(HTML("<img src=x onerror=\"alert('%(c)s')\"><script>alert('%(c)s')</script>"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>alert("%(c)s")</script></svg>'))
display(Javascript("alert('%(c)s')"))
display({"image/png": "x\" onerror=\"alert('%(c)s')"}, raw=True)
''' % {"c": XSS}),
    "forged_metadata": Attack(
        "metadata that claims points: another kernel, a copied test cell marked as worth 100 points, verdicts and "
        "results written into the notebook, outputs left in the test cells",
        cell="# nothing runs here: the attack is in the notebook's metadata\n"),
}


def _names(source: str) -> dict[str, str]:
    return {n.name: "class" if isinstance(n, ast.ClassDef) else "def"
            for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def _idle_cell(names: dict[str, str]) -> str:
    """Answer-cell code defining ``names`` as stand-ins that do no work."""
    parts = ["# no answer written: stand-ins that do no work", _IDLE]
    for name, kind in names.items():
        if kind == "class":
            parts.append(f"class {name}(torch.nn.Module):\n    def __init__(self, *args, **kwargs):\n"
                         f"        super().__init__()\n    def forward(self, *args, **kwargs):\n"
                         f"        return _idle_result(*args, **kwargs)\n    def __getattr__(self, attr):\n"
                         f"        return _idle_result\n")
        else:
            parts.append(f"def {name}(*args, **kwargs):\n    _forge() if '_forge' in globals() else None\n"
                         f"    return _idle_result(*args, **kwargs)\n")
    return "\n\n".join(parts) + "\n"


def attacked_notebook(attack: Attack, notebook: str) -> nbformat.NotebookNode:
    """The release notebook carrying ``attack``."""
    source = {c.id: c for c in nbformat.read(ROOT / "source" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4).cells}
    nb = nbformat.read(ROOT / "release" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
    carries = not attack.notebooks or notebook in attack.notebooks
    first = True
    for index, cell in enumerate(list(nb.cells)):
        if not (cell.cell_type == "code" and is_solution(cell)):
            continue
        if attack.answers == "idle" and carries:
            cell.source = _idle_cell(_names(source[cell.id].source.replace("### BEGIN SOLUTION", "")))
        if first and carries:  # before a stub (which raises at its end), after stand-ins (so that it can replace them)
            cell.source = (cell.source + "\n" + attack.cell) if attack.answers == "idle" else (attack.cell + "\n" + cell.source)
            if attack.markdown:
                nb.cells.insert(index + 1, nbformat.v4.new_markdown_cell(attack.markdown))
            first = False
    if attack is ATTACKS["forged_metadata"] and carries:
        _forge_metadata(nb)
    return nb


def _forge_metadata(nb) -> None:
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "x", "language": "python"}
    nb.metadata["nde_verdicts"] = {"*": {"passed": True}}
    tests = [c for c in nb.cells if is_grade(c) and c.cell_type == "code"]
    for cell in tests:
        cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "'all tests passed'"},
                                               execution_count=1)]
        cell.execution_count = 1
        cell.metadata["nde_verdict"] = {"passed": True}
    if tests:
        claim = nbformat.v4.new_code_cell("pass\n")
        claim.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 100,
                                      "grade_id": "bonus_points", "schema_version": 3}
        nb.cells.append(claim)
        copy = nbformat.v4.new_code_cell("pass\n")
        copy.metadata["nbgrader"] = dict(tests[0].metadata["nbgrader"], solution=True, points=100)
        nb.cells.append(copy)


def write_attack(attack: Attack, folder: Path, notebooks: list[str]) -> None:
    """Write the submission of ``attack`` into a student's assignment folder."""
    for notebook in notebooks:
        path = folder / f"{notebook}.ipynb"
        if f"{notebook}.ipynb" not in attack.files:
            nbformat.write(attacked_notebook(attack, notebook), path)
    for rel, content in attack.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, int):
            with open(path, "wb") as f:
                f.truncate(content)  # sparse: costs no disk
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def canary_png() -> bytes:
    """A small PNG that holds the canary (in a text chunk), for the victim's folder."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\x00\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\x00" + CANARY.encode()) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True)
