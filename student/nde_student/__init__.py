"""The students' library of the course: helpers only.

Everything here is what a student's environment holds: choosing the device, seeding,
the one-line "needs your answer" messages, reading the answers of your earlier
notebooks (``from_notebook``), reading TensorBoard logs back (``read_scalars``) and the
self-check (``python -m nde_student validate``). It holds no answer, no hidden test and
no check: those stay with the instructor, in the grading library ``nde_grader``.
"""
from .earlier import AnswerMissing, from_notebook
from .logs import read_scalars
from .util import headless, needs, pick_device, seed_everything

__all__ = ["AnswerMissing", "from_notebook", "headless", "needs", "pick_device", "read_scalars", "seed_everything"]
