"""The students' library of the course: helpers only.

Everything here is what a student's environment holds: choosing the device, seeding,
the one-line "needs your answer" messages, the printed verdict of a comparison over seeds, reading the answers of your earlier
notebooks (``from_notebook``), reading TensorBoard logs back (``read_scalars``) and the
self-check (``python -m nde_student validate``). It holds no answer, no hidden test and
no check: those stay with the instructor, in the grading library ``nde_grader``.

The names below are loaded on first use, so that importing one part (the grader imports
``nde_student.warnings_only`` and ``nde_student.cells``) does not import PyTorch and pandas.
"""
import importlib

_WHERE = {
    "AnswerMissing": "earlier", "from_notebook": "earlier", "read_scalars": "logs", "headless": "util",
    "needs": "util", "pick_device": "util", "seed_everything": "util", "verdict": "seeds",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'nde_student' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_WHERE])
