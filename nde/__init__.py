"""The course's library: what several notebooks share, written once.

``nde.Net``, ``nde.DV`` and the other reference implementations come from
``nde.reference``, which is generated from the notebooks' own answer cells
(course/export.py); they are loaded on first use.
"""
import importlib

from .util import headless, needs, pick_device, seed_everything


def __getattr__(name):
    if name.startswith("__") or name == "reference":
        raise AttributeError(name)
    reference = importlib.import_module(".reference", __name__)
    try:
        return getattr(reference, name)
    except AttributeError:
        raise AttributeError(f"module 'nde' has no attribute {name!r}") from None
