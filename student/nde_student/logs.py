"""Read back what a ``SummaryWriter`` logged, to plot it without TensorBoard.

TensorBoard shows the logs of ``runs/`` in its own page; in a plain notebook, in the
autograder or on a cluster without a browser, ``read_scalars`` gives the same numbers
as a table.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["run", "tag", "step", "value", "wall_time"]


def _run_dirs(logdir: Path) -> list[Path]:
    """Every folder under ``logdir`` (itself included) that holds TensorBoard event files."""
    dirs = {p.parent for p in logdir.rglob("events.out.tfevents.*") if p.is_file()}
    return sorted(dirs)


def read_scalars(logdir) -> pd.DataFrame:
    """All scalars logged under ``logdir``, one row per logged value.

    Columns: ``run`` (the folder of the event files, relative to ``logdir``; "." for
    ``logdir`` itself), ``tag`` (e.g. "Loss/train"), ``step`` (the ``global_step``),
    ``value`` and ``wall_time`` (seconds since the epoch).  Rows are sorted by run, tag
    and step.  A writer buffers its events: call its ``flush()`` first.
    """
    from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

    logdir = Path(logdir)
    rows = []
    for run in _run_dirs(logdir):
        events = EventAccumulator(str(run), size_guidance={SCALARS: 0})  # 0: keep every value
        events.Reload()
        name = run.relative_to(logdir).as_posix()
        for tag in events.Tags()["scalars"]:
            rows.extend((name, tag, e.step, e.value, e.wall_time) for e in events.Scalars(tag))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["run", "tag", "step"], kind="stable", ignore_index=True)
