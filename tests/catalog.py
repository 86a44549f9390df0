"""The catalog of answers the grader is tested with: wrong ones it must catch, right ones it must accept.

Each variant changes one answer cell of the course's own solution (``edits`` are
(old, new) replacements in that cell, ``code`` replaces the whole cell) and names
the test cells that must lose their points (``catches``); a variant with no
``catches`` is a correct alternative that must keep every point.
tests/test_catalog.py autogrades all of them through nbgrader.
"""
from course.examples import Variant

V = Variant
VARIANTS = [
    # --- 02_gradient_descent ------------------------------------------------------
    V("descent_keeps_gradient", "02_gradient_descent", "descent",
      "never resets w.grad, so gradients of all earlier steps accumulate",
      frozenset({"descent_iterates", "descent_in_place"}),
      edits=(("        w.grad = None  # forget the previous step's gradient\n", ""),)),
]
