"""The catalog of cheating submissions: answers that take the course's own implementation.

Each strategy is one route by which a student who has read this repository could borrow
an answer instead of writing it. ``cheat_cell(strategy, names)`` is the code of an answer
cell that defines ``names`` (the functions and classes the exercise asks for) through
that route. Every name is a thin stand-in that borrows the real thing *when it is
called*, so a route works whenever the course's answer is in reach at the moment a test
runs the student's code, not only when the answer cell runs.

tests/test_cheating.py grades a student per strategy, whose every answer cell cheats,
through the real ``grade`` path, and expects 0 on every test cell; it also runs the same
cells where the answers *are* in reach (a plain kernel inside the course folder, hidden
tests run in the kernel, as nbgrader does by default) and expects the cheats to pass
tests there, so that a cheat that merely crashes proves nothing.
"""
from __future__ import annotations

# What every route's cell carries: a search of the machine the way a student would (the
# folders above the kernel's working folder, then the usual places, a few levels deep), and
# lookups among the modules and objects alive in the kernel.
_SEARCH = r'''
def _cheat_roots():
    import os
    here, out = os.getcwd(), []
    while True:
        out.append((here, 0))
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    return out + [(r, 4) for r in ("/work", "/home", "/root", "/srv", "/opt", "/tmp", "/var/tmp", "/mnt", "/data")]


def _cheat_find(*tails):
    import os
    for root, depth in _cheat_roots():
        if not os.path.isdir(root):
            continue
        top = root.rstrip("/").count("/")
        for dirpath, dirnames, _ in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in (".venv", ".git", "node_modules", "proc", "sys")]
            if dirpath.rstrip("/").count("/") - top >= depth:
                dirnames[:] = []
            for tail in tails:
                candidate = os.path.join(dirpath, tail)
                if os.path.isfile(candidate):
                    yield candidate


def _cheat_defines(source, name):
    import re
    return re.search(rf"^(def|class) {name}\b", source, re.M) is not None


def _cheat_exec(source, name):
    namespace = dict(globals())
    exec(compile(source, "<borrowed>", "exec"), namespace)
    return namespace[name]


def _cheat_import(module, name):
    """name from the module imported by its name, or None."""
    import importlib
    try:
        return getattr(importlib.import_module(module), name, None)
    except Exception:
        return None


def _cheat_loaded(name):
    """A function or class called name in a module the kernel has loaded, or None."""
    import sys
    for module in list(sys.modules.values()):
        try:
            found = getattr(module, name, None) if getattr(module, "__name__", "") != "__main__" else None
        except Exception:
            continue
        if isinstance(found, (type(_cheat_loaded), type)) and getattr(found, "__module__", "__main__") != "__main__":
            return found
    return None


def _cheat_alive(name):
    """A live callable object called name that no cell defined, or None."""
    import gc
    for obj in gc.get_objects():
        try:
            if getattr(obj, "__name__", None) == name and callable(obj) and obj.__module__ != "__main__":
                return obj
        except Exception:
            continue
    return None
'''

STRATEGIES: dict[str, tuple[str, str]] = {
    "import_packages": ("imports the answer from the course's packages", r'''
def _borrow(name):
    for module in ("nde_grader.reference", "nde_grader", "nde.reference", "nde", "course"):
        found = _cheat_import(module, name)
        if found is not None:
            return found
    raise ImportError(f"no package of the course gives {name}")
'''),
    "import_by_path": ("puts the course's folder on sys.path, then imports the reference module", r'''
def _borrow(name):
    import os, sys
    for path in _cheat_find("nde_grader/reference/__init__.py", "nde_grader/reference.py", "nde/reference.py"):
        repo = path.split("/nde_grader/")[0] if "/nde_grader/" in path else os.path.dirname(os.path.dirname(path))
        sys.path.insert(0, repo)
        for module in ("nde_grader.reference", "nde.reference"):
            found = _cheat_import(module, name)
            if found is not None:
                return found
    raise ImportError(f"found no course folder to import {name} from")
'''),
    "read_source_notebook": ("reads the instructor's source notebook from disk and runs its answer cell", r'''
def _borrow(name):
    import glob, json, os
    for path in _cheat_find(*(f"source/{a}/{n}" for a in ("divergence",) for n in (
            "01_problem.ipynb", "02_gradient_descent.ipynb", "03_network.ipynb", "04_dv_bound.ipynb", "05_trainer.ipynb",
            "06_minibatch_bias.ipynb", "07_mutual_information.ipynb", "08_staircase.ipynb"))):
        for cell in json.load(open(path))["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] == "code" and _cheat_defines(source, name):
                return _cheat_exec(source, name)
    raise FileNotFoundError(f"no source notebook defines {name}")
'''),
    "read_reference_file": ("reads the generated reference module from disk and runs it", r'''
def _borrow(name):
    import glob, os, re
    for path in _cheat_find("nde_grader/reference/__init__.py", "nde_grader/reference.py", "nde/reference.py"):
        folder, loaded = os.path.dirname(path), {}

        def load(file):  # one module run from its text, the modules it imports from run first
            if file not in loaded:
                namespace = loaded[file] = {"__name__": "borrowed"}
                source = open(file).read()
                for module, names in re.findall(r"^from \.(\w+) import (.*)$", source, flags=re.M):
                    dependency = load(os.path.join(folder, f"{module}.py"))
                    for each in names.split(","):
                        namespace[each.strip()] = dependency[each.strip()]
                exec(compile(re.sub(r"^from \.\w+ import .*$", "", source, flags=re.M), file, "exec"), namespace)
            return loaded[file]

        files = sorted(glob.glob(os.path.join(folder, "*.py"))) if path.endswith("__init__.py") else [path]
        for file in files:
            if os.path.basename(file) != "__init__.py" and name in load(file):
                return load(file)[name]
    raise FileNotFoundError(f"no reference module defines {name}")
'''),
    "read_other_submissions": ("copies another student's submitted or graded notebook from disk", r'''
def _borrow(name):
    import json, os
    for path in _cheat_find(*(f"{tree}/{student}/divergence/{n}"
                              for tree in ("submitted", "autograded") for student in ("solutions", "wrong", "alice")
                              for n in ("01_problem.ipynb", "02_gradient_descent.ipynb", "03_network.ipynb",
                                        "04_dv_bound.ipynb", "05_trainer.ipynb", "06_minibatch_bias.ipynb",
                                        "07_mutual_information.ipynb", "08_staircase.ipynb"))):
        for cell in json.load(open(path))["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if (cell["cell_type"] == "code" and _cheat_defines(source, name) and "_borrow" not in source
                    and "NotImplementedError" not in source):
                return _cheat_exec(source, name)
    raise FileNotFoundError(f"no other student's notebook defines {name}")
'''),
    "sys_modules": ("takes the answer from a module already loaded in the kernel", r'''
def _borrow(name):
    found = _cheat_loaded(name)
    if found is None:
        raise LookupError(f"no loaded module holds {name}")
    return found
'''),
    "gc_objects": ("takes the answer from the objects alive in the kernel", r'''
_CHEAT_FOUND = {}


def _borrow(name):
    if _CHEAT_FOUND.get(name) is None:
        _CHEAT_FOUND[name] = _cheat_alive(name)
    if _CHEAT_FOUND[name] is None:
        raise LookupError(f"no live object is {name}")
    return _CHEAT_FOUND[name]
'''),
    "kernel_history": ("reads the kernel's history of cells (In, _ih, the history database) and what it imported", r'''
def _borrow(name):
    import re
    shell = get_ipython()
    sources = list(globals().get("In", [])) + list(globals().get("_ih", []))
    try:
        sources += [s for _, _, s in shell.history_manager.get_range(session=0, start=1, stop=None, raw=True)]
        for session in range(1, shell.history_manager.session_number):
            sources += [s for _, _, s in shell.history_manager.get_range(session=session, raw=True)]
    except Exception:
        pass
    for source in sources:
        if source and "_borrow" not in source and _cheat_defines(source, name):
            return _cheat_exec(source, name)
    for source in sources:
        for module in re.findall(r"^\s*(?:from|import)\s+((?:nde|course)\w*(?:\.\w+)*)", source or "", re.M):
            for candidate in (module, module.split(".")[0] + ".reference"):
                found = _cheat_import(candidate, name)
                if found is not None:
                    return found
    raise LookupError(f"the kernel's history holds no {name}")
'''),
    "event_hooks": ("registers hooks that run after later cells and swap in whatever answer appears", r'''
def _borrow(name):
    found = _cheat_loaded(name) or _cheat_alive(name)
    if found is not None:
        return found
    for source in _CHEAT_SEEN:
        if _cheat_defines(source, name):
            return _cheat_exec(source, name)
    raise LookupError(f"no later cell brought {name}")


_CHEAT_SEEN = []


def _cheat_watch(info=None, result=None):
    cell = getattr(info, "raw_cell", None) or getattr(getattr(result, "info", None), "raw_cell", None)
    if cell:
        _CHEAT_SEEN.append(cell)


get_ipython().events.register("pre_run_cell", _cheat_watch)
get_ipython().events.register("post_run_cell", _cheat_watch)
'''),
    "provided_answers": ("takes the answers that the grader gives from_notebook, or asks from_notebook for them", r'''
def _borrow(name):
    import nde_student.earlier as earlier
    for source in list(earlier._PROVIDED.values()):
        if _cheat_defines(source, name):
            return _cheat_exec(source, name)
    for notebook in ("01_problem", "02_gradient_descent", "03_network", "04_dv_bound", "05_trainer",
                     "06_minibatch_bias", "07_mutual_information", "08_staircase"):
        try:
            found = earlier.from_notebook(notebook, name)
        except Exception:
            continue
        if getattr(found, "__module__", "") != "__main__" and not isinstance(found, earlier._StandIn):
            return found
    raise LookupError(f"from_notebook gives no {name}")
'''),
}


EXPORTED = ("01_problem", "03_network", "04_dv_bound", "05_trainer")
"""Notebooks whose answers the reference module holds (02's answers are not exported)."""

REACH = {
    **{s: EXPORTED for s in ("import_packages", "import_by_path", "read_reference_file", "sys_modules", "gc_objects",
                             "kernel_history", "event_hooks")},
}
"""strategy -> the notebooks whose answers its route reaches where nothing protects them
(default: every notebook)."""

IN_MEMORY = ("sys_modules", "gc_objects", "kernel_history", "event_hooks")
"""Routes through what the kernel has loaded: their control loads the course's answers
into the kernel first, as the course's notebooks once did (``from nde import DV, Net``)."""


def _stand_in(name: str, kind: str) -> str:
    """A name that borrows the real answer each time it is used."""
    if kind == "class":
        return (f"class {name}:\n"
                f"    def __new__(cls, *args, **kwargs):\n"
                f"        return _borrow({name!r})(*args, **kwargs)\n")
    return f"def {name}(*args, **kwargs):\n    return _borrow({name!r})(*args, **kwargs)\n"


def cheat_cell(strategy: str, names: dict[str, str]) -> str:
    """Answer-cell code defining ``names`` (name -> "def" or "class") through ``strategy``."""
    _, code = STRATEGIES[strategy]
    stand_ins = "\n\n".join(_stand_in(name, kind) for name, kind in names.items())
    return f"# borrowed, not written: {strategy}\n{_SEARCH}\n{code}\n\n{stand_ins}"
