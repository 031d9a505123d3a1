"""Jacquard-format loader on fixtures written here."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from grasp_models.datasets import JacquardDataset, parse_jacquard_grasps
from grasp_models.errors import DatasetError


def test_grasp_lines_become_rectangles(tmp_path: Path) -> None:
    path = tmp_path / "0_abc_grasps.txt"
    path.write_text("100.5;200;30;40;20\n\n50;60;-90;10;5\n")
    a, b = parse_jacquard_grasps(path)
    assert a.center == (100.5, 200.0)
    assert a.angle == pytest.approx(math.radians(30))
    assert (a.width, a.length) == (40.0, 20.0)
    assert b.angle == pytest.approx(-math.pi / 2)  # wrapped into [-pi/2, pi/2)


@pytest.mark.parametrize(
    ("text", "line"),
    [("1;2;3;4;5\n1;2;3;4\n", 2), ("1;2;x;4;5\n", 1), ("1;2;3;-4;5\n", 1), ("1;2;3;nan;5\n", 1)],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "0_abc_grasps.txt"
    path.write_text(text)
    with pytest.raises(DatasetError, match=rf"0_abc_grasps\.txt:{line}"):
        parse_jacquard_grasps(path)


def test_dataset_reads_objects_and_depth(tmp_path: Path) -> None:
    for obj in ("obj_a", "obj_b"):
        folder = tmp_path / obj
        folder.mkdir()
        stem = folder / f"0_{obj}"
        Path(f"{stem}_grasps.txt").write_text("10;20;0;30;10\n")
        cv2.imwrite(f"{stem}_perfect_depth.tiff", np.full((32, 32), 1.5, np.float32))
        cv2.imwrite(f"{stem}_RGB.png", np.zeros((32, 32, 3), np.uint8))
    ds = JacquardDataset(tmp_path, load_rgb=True)
    assert len(ds) == 2
    assert ds.object_ids() == ["obj_a", "obj_b"]
    s = ds[1]
    assert s.object_id == "obj_b" and s.rgb.shape == (32, 32, 3)
    np.testing.assert_allclose(s.depth, 1.5)
    assert len(s.positives) == 1


def test_missing_depth_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "0_x_grasps.txt").write_text("10;20;0;30;10\n")
    with pytest.raises(DatasetError, match="perfect_depth"):
        JacquardDataset(tmp_path)[0]
