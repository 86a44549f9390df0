"""Your own answers from the earlier notebooks, read from those notebooks.

A later notebook builds on what you wrote before: notebook 05 trains *your* ``Net`` with
*your* ``DV``. Its first cell asks for them by name::

    Net = from_notebook("03_network", "Net")

``from_notebook`` reads ``03_network.ipynb`` from the folder of the notebook that asks
(keep the notebooks of the course together in one folder), runs the code cells tagged
``export`` there in a module of their own, and returns the names asked for. Only
imports, functions, classes and ``from_notebook`` lines of those cells run: the lines
that print or plot stay in their notebook. Save the earlier notebook after changing an
answer; the next call of ``from_notebook`` reads it again.

When an answer is missing (the cell still says ``raise NotImplementedError()``), does
not run, or the notebook is not there, ``from_notebook`` says so in one line, naming the
exercise to finish, and gives a stand-in in its place: the cell goes on, so that the
names after it (``SEED``, ``DEVICE``) are defined. Using the stand-in raises
``AnswerMissing``, shown as that one line instead of a traceback; a cell that waits with
``needs`` prints it and stops quietly.

While the course is graded, the grader gives this function the course's own answers of
the earlier notebooks instead of yours, so that a mistake there costs no points here.
"""
from __future__ import annotations

import ast
import json
import os
import re
import types
from pathlib import Path

__all__ = ["AnswerMissing", "definitions_only", "from_notebook"]

EXPORT_TAG = "export"
NOT_YET = "Not available yet:"  # how from_notebook's line about a missing answer begins
_EXERCISE = re.compile(r"\*\*Exercise (\d+)")


class AnswerMissing(NotImplementedError):
    """An answer of an earlier notebook that is not there yet; its message says which."""

    def _render_traceback_(self):  # IPython shows this one line instead of a traceback
        return [f"AnswerMissing: {self}"]


RERUN = "finish it there, save, and run this notebook again from its first cell"


class _StandIn:
    """Given in place of an answer that is not there (by ``from_notebook``, or in a loaded
    module in place of an unanswered function or class): using it raises."""

    def __init__(self, name: str, why: str):
        self._name, self._why = name, why
        self._message = f"{why}: {RERUN}"

    def __call__(self, *args, **kwargs):
        raise AnswerMissing(self._message)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise AnswerMissing(self._message)

    def __repr__(self):
        return f"<{self._name}: not available ({self._message})>"


def definitions_only(code: str, keep_from_notebook: bool = True) -> str:
    """The imports, functions and classes of a cell's code (and its ``X = from_notebook(...)``
    lines, unless ``keep_from_notebook`` is false); every other top-level statement, such
    as the demonstration that ends an answer cell, is dropped."""
    keep_types = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    lines = code.splitlines()
    kept = []
    for node in ast.parse(code).body:
        loads = (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                 and isinstance(node.value.func, ast.Name) and node.value.func.id == "from_notebook")
        if isinstance(node, keep_types) or (loads and keep_from_notebook):
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            kept.append("\n".join(lines[start - 1 : node.end_lineno]))
    return "\n\n\n".join(kept)


def _is_stub(node: ast.AST) -> bool:
    """A function or class whose body still raises NotImplementedError (an unanswered exercise)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Raise) and sub.exc is not None:
            exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


# --- what the grader provides ------------------------------------------------------------

_PROVIDED: dict[str, str] = {}


def provide(sources: dict[str, str]) -> None:
    """Used by the grader: notebook stem -> the course's code of that notebook's cells
    tagged export. ``from_notebook`` then returns the course's answers for those notebooks."""
    _PROVIDED.clear()
    _PROVIDED.update(sources)
    _CACHE.clear()


# --- reading a notebook -------------------------------------------------------------------

_CACHE: dict[tuple, types.ModuleType] = {}
_LOADING: list[str] = []


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _read_cells(path: Path) -> tuple[list[str], dict[str, str]]:
    """(the code of the cells tagged export, in order; name -> exercise label) of a notebook."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code, labels, exercise = [], {}, None
    for cell in cells:
        source = _source(cell)
        if cell.get("cell_type") == "markdown":
            found = _EXERCISE.findall(source)
            exercise = f"Exercise {found[-1]}" if found else exercise
            continue
        if cell.get("cell_type") != "code" or EXPORT_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        code.append(source)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and exercise:
                labels.setdefault(node.name, exercise)
    return code, labels


def _load(notebook: str, folder: Path) -> tuple[types.ModuleType | None, dict[str, str], set[str], str]:
    """(module, name -> exercise label, unanswered names, why it failed) for a notebook."""
    provided = notebook in _PROVIDED
    path = folder / f"{notebook}.ipynb"
    if provided:
        key, code, labels = ("provided", notebook), [_PROVIDED[notebook]], {}
    else:
        if not path.exists():
            return None, {}, set(), f"{path.name} is not in {folder} (keep the notebooks of the course in one folder)"
        key = (str(path.resolve()), path.stat().st_mtime_ns)
        try:
            code, labels = _read_cells(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return None, {}, set(), f"{path.name} cannot be read as a notebook ({type(exc).__name__}: {exc})"
    if key in _CACHE:
        module = _CACHE[key]
        return module, labels, module.__dict__.get("__unanswered__", set()), ""
    if notebook in _LOADING:
        return None, labels, set(), f"{path.name} asks for itself through from_notebook (a loop)"
    parts, unanswered, uses = [], set(), {}
    for source in code:
        try:
            kept = definitions_only(source)
            tree = ast.parse(kept)
        except SyntaxError as exc:
            return None, labels, set(), f"a cell tagged export in {path.name} has a syntax error (line {exc.lineno}: {exc.msg})"
        parts.append(kept)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                uses[node.name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                if _is_stub(node):
                    unanswered.add(node.name)
    module = types.ModuleType(f"from_notebook_{notebook}")
    module.__file__ = str(path)
    _LOADING.append(notebook)
    try:
        exec(compile("\n\n\n".join(parts), f"{path.name} (cells tagged export)", "exec"), module.__dict__)
    except AnswerMissing as exc:  # a class built on an answer of a notebook before it
        return None, labels, set(), str(exc).removesuffix(f": {RERUN}")
    except Exception as exc:  # noqa: BLE001 (whatever the student's cells raise is reported in one line)
        return None, labels, set(), f"the cells tagged export in {path.name} stop with {type(exc).__name__}: {exc}"
    finally:
        _LOADING.remove(notebook)
    # stand-ins of the notebooks before it: read again next time, they may be answered by then
    borrowed = any(isinstance(value, _StandIn) for value in module.__dict__.values())
    for name in unanswered:  # so that the notebook's own functions that call it say so too
        module.__dict__[name] = _StandIn(name, _missing(notebook, name, labels))
    module.__dict__["__unanswered__"] = unanswered
    module.__dict__["__uses__"] = uses
    if not borrowed:
        _CACHE[key] = module
    return module, labels, unanswered, ""


def _missing(notebook: str, name: str, labels: dict[str, str]) -> str:
    where = f"{labels[name]} of {notebook}.ipynb" if name in labels else f"{notebook}.ipynb"
    return f"{name} comes from {where}, which is not answered yet"


# name -> why it is missing, for the names that from_notebook gave stand-ins for in this
# kernel (in the order asked); a later call that gives the real one takes it off.
_MISSING: dict[str, str] = {}


def undefined(exc: NameError) -> str | None:
    """One line for a name that is not defined while this kernel lacks an answer of an
    earlier notebook (a cell above stopped for want of it, and did not define the name),
    naming the first such answer; None when none is missing."""
    if not _MISSING:
        return None
    return f"{exc.name} is not defined, as a cell above stopped: {next(iter(_MISSING.values()))}: {RERUN}"


def _one_line_name_error(shell, etype, value, tb, tb_offset=None):
    """IPython's display of a NameError in a cell that does not wait with ``needs`` (a test
    cell): one line while an earlier answer is missing, the usual traceback otherwise."""
    line = undefined(value)
    if line is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    else:
        shell._showtraceback(etype, value, [f"NameError: {line}"])  # what showtraceback ends with


def _note_missing(name: str, why: str) -> None:
    _MISSING[name] = why
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and NameError not in shell.custom_exceptions:
        shell.set_custom_exc((NameError,), _one_line_name_error)


def _needs(module: types.ModuleType, name: str) -> set[str]:
    """The names of the module's own functions and classes that ``name`` uses, itself included."""
    graph = module.__dict__.get("__uses__", {})
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(graph.get(current, ()))
    return seen


def from_notebook(notebook: str, *names: str, folder: str | os.PathLike | None = None):
    """The objects ``names`` defined by the cells tagged export of ``notebook`` (a file
    name without ``.ipynb``, next to this notebook): one object for one name, else a tuple.

    When one of them cannot be given (its exercise, or one it uses, is not answered; the
    cells fail; the notebook is missing), prints one line that names the exercise to
    finish and gives a stand-in for it, which raises ``AnswerMissing`` when used.
    """
    if not names:
        raise TypeError("from_notebook needs the names to take, e.g. from_notebook('03_network', 'Net')")
    notebook = notebook[: -len(".ipynb")] if notebook.endswith(".ipynb") else notebook
    module, labels, unanswered, why = _load(notebook, Path(folder) if folder is not None else Path.cwd())
    out, said = [], []
    for name in names:
        if module is None:
            missing = f"{name} comes from {notebook}.ipynb, but {why}"
        elif name not in module.__dict__:
            missing = f"{name} is not defined by the cells tagged export in {notebook}.ipynb"
        else:
            missing = _why_missing(module, notebook, name, labels, unanswered)
        if missing is None:
            _MISSING.pop(name, None)
            out.append(module.__dict__[name])
            continue
        if not _LOADING:  # asked by a notebook's own cell, not by the cells of another notebook
            _note_missing(name, missing)
            said.append(missing)
        out.append(_StandIn(name, missing))
    if said:
        print(f"{NOT_YET} {'; '.join(said)}: {RERUN}. Until then, the cells that use "
              f"{'it' if len(said) == 1 else 'them'} stop in one line.")
    return out[0] if len(names) == 1 else tuple(out)


def _why_missing(module: types.ModuleType, notebook: str, name: str, labels: dict[str, str],
                 unanswered: set[str]) -> str | None:
    """Why the module's ``name`` cannot be used (an unanswered exercise that it is or uses,
    or a stand-in that the notebook got from an earlier one), or None."""
    for used in [name, *sorted(_needs(module, name) - {name})]:
        found = module.__dict__.get(used)
        if used in unanswered:
            why = _missing(notebook, used, labels)
        elif isinstance(found, _StandIn):
            why = found._why
        else:
            continue
        return why if used == name else f"{name} needs {used}, and {why}"
    return None
