"""Variants of the answers of 02_gradient_descent (see tests/catalog/README.md)."""
from course.examples import Variant

V = Variant
VARIANTS = [
    # --- 02_gradient_descent ------------------------------------------------------
    V("descent_keeps_gradient", "02_gradient_descent", "descent",
      "never resets w.grad, so gradients of all earlier steps accumulate",
      frozenset({"descent_iterates", "descent_in_place"}),
      edits=(("        w.grad = None  # forget the previous step's gradient\n", ""),)),
]
