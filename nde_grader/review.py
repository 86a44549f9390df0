"""Answer cells that reach for the course's answers instead of computing them: flagged for a person.

The grading sandbox makes such answers fail (nothing of the course's answers is in reach
of a grading kernel), so they score 0 by themselves. This scan adds the reason to the
instructor's report: an answer cell that imports the instructor's packages, reads files,
walks the interpreter's modules or objects, reads the kernel's history or hooks into
later cells is named, with what it does, for a person to look at. It never changes a
score: code that merely looks like this and computes a right answer keeps its points.
"""
from __future__ import annotations

import ast

from .syntax import parse
COURSE_PACKAGES = {"nde", "nde_grader", "course", "_nde_harness"}
MODULES = {
    "gc": "the interpreter's objects (gc)",
    "inspect": "other code's source (inspect)",
    "importlib": "imports by name (importlib)",
    "sqlite3": "databases (sqlite3)",
    "subprocess": "other programs (subprocess)",
    "ctypes": "raw memory (ctypes)",
    "glob": "file searches (glob)",
}
NAMES = {
    "In": "the kernel's history of cells (In)", "Out": "the kernel's history of results (Out)",
    "_ih": "the kernel's history of cells (_ih)", "_oh": "the kernel's history of results (_oh)",
    "_i": "the kernel's history (_i)", "_ii": "the kernel's history (_ii)", "_iii": "the kernel's history (_iii)",
    "get_ipython": "the kernel itself (get_ipython: history, events, hooks)",
    "__import__": "imports by name (__import__)", "open": "files (open)", "exec": "code from text (exec)",
    "eval": "code from text (eval)", "globals": "the notebook's namespace (globals)",
}
ATTRIBUTES = {
    "modules": "loaded modules (sys.modules)", "read_text": "files (read_text)", "read_bytes": "files (read_bytes)",
    "events": "the kernel's events (hooks run after later cells)", "history_manager": "the kernel's history",
    "walk": "the file system (os.walk)", "listdir": "the file system (os.listdir)", "scandir": "the file system",
    "rglob": "file searches (rglob)", "system": "other programs (os.system)", "popen": "other programs",
    "input_transformers_post": "rewriting later cells", "input_transformers_cleanup": "rewriting later cells",
    "__subclasses__": "every class of the interpreter", "f_back": "the caller's frame", "_getframe": "stack frames",
}


def suspicious(source: str) -> list[str]:
    """What an answer cell reaches for, in words; empty for ordinary code."""
    try:
        tree = parse(source)
    except SyntaxError:
        return []
    found: list[str] = []

    def note(what: str) -> None:
        if what not in found:
            found.append(what)

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top in COURSE_PACKAGES:
                    note(f"imports the instructor's package {name}")
                elif top in MODULES:
                    note(f"uses {MODULES[top]}")
        elif isinstance(node, ast.Name) and node.id in NAMES:
            note(f"uses {NAMES[node.id]}")
        elif isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
            note(f"uses {ATTRIBUTES[node.attr]}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if any(p in node.value for p in ("source/", "nde_grader", "gradebook", "reference/", "autograded")):
                note(f"names the instructor's files ({node.value[:40]!r})")
    return found
