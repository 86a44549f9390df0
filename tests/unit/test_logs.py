"""nde_student/logs.py: TensorBoard's scalars read back as a table."""
from __future__ import annotations

import pytest

from nde_student.logs import COLUMNS, read_scalars


def test_an_empty_folder_gives_an_empty_table(tmp_path):
    frame = read_scalars(tmp_path)
    assert list(frame.columns) == COLUMNS and len(frame) == 0


def test_every_run_and_tag_sorted_by_step(tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    for run, values in (("b", [3.0, 2.0]), ("a", [1.0])):
        writer = SummaryWriter(tmp_path / run)
        for step in reversed(range(len(values))):
            writer.add_scalar("Loss/train", values[step], global_step=step + 1)
        writer.add_scalar("Estimate", 0.5, global_step=1)
        writer.close()
    frame = read_scalars(tmp_path)
    assert frame[["run", "tag", "step", "value"]].values.tolist() == [
        ["a", "Estimate", 1, 0.5], ["a", "Loss/train", 1, 1.0],
        ["b", "Estimate", 1, 0.5], ["b", "Loss/train", 1, 3.0], ["b", "Loss/train", 2, 2.0],
    ]
    assert (frame["wall_time"] > 1e9).all()
    assert read_scalars(tmp_path / "a")["run"].tolist() == [".", "."]
