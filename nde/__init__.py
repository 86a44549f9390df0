"""The course's library: what several notebooks share, written once.

``nde.reference`` is generated from the notebooks' own answer cells (see course/export.py).
"""
from .util import headless, needs, pick_device, seed_everything
