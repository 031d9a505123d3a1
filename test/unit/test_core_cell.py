"""grasp_core.cell: a cell layout names its frame; callers may require one."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_core.cell import (
    RESTING_ABOVE_RIM,
    CellConfigError,
    layout_path,
    load_layout,
    shipped_layouts,
)
from grasp_core.paths import config_path

BAXTER_CELL = "cells/baxter_table.yaml"


def test_default_cell_is_the_panda_table_in_panda_link0() -> None:
    layout = load_layout(frame="panda_link0")
    assert layout.frame == "panda_link0"
    assert layout.source == str(config_path("sim", "panda_table.yaml"))
    assert layout.cameras["overhead"].fixed and not layout.cameras["wrist"].fixed
    assert layout.cameras["overhead"].camera_model().base_frame == "panda_link0"
    assert layout.robot_urdf is not None and layout.home_q is not None


def test_baxter_cell_loads_in_base_with_table_bin_and_camera() -> None:
    layout = load_layout(BAXTER_CELL, frame="base")
    assert layout.frame == "base"
    assert layout.table_top_z == pytest.approx(-0.18)
    assert layout.robot_urdf is None and layout.home_q is None  # not simulated
    cam = layout.cameras["overhead"]
    assert cam.fixed and cam.parent == "base"
    model = cam.camera_model()
    assert model.base_frame == "base" and model.frame_id == "camera_color_optical_frame"
    # straight down at the workspace centre, 0.8 m above the table top
    np.testing.assert_allclose(model.T_base_camera[:3, 2], [0.0, 0.0, -1.0], atol=1e-12)
    centre = [np.mean(layout.workspace_x), np.mean(layout.workspace_y)]
    np.testing.assert_allclose(model.T_base_camera[:2, 3], centre)
    assert model.T_base_camera[2, 3] - layout.table_top_z == pytest.approx(0.8)
    # workspace and bin (walls included) lie on the table; the bin floor is on its top
    lo = layout.table_center[:2] - layout.table_size[:2] / 2
    hi = layout.table_center[:2] + layout.table_size[:2] / 2
    assert lo[0] <= layout.workspace_x[0] < layout.workspace_x[1] <= hi[0]
    assert lo[1] <= layout.workspace_y[0] < layout.workspace_y[1] <= hi[1]
    for c, h in layout.bin_boxes():
        assert np.all(c[:2] - h[:2] >= lo) and np.all(c[:2] + h[:2] <= hi)
    assert layout.bin_center[2] == pytest.approx(layout.table_top_z)
    # ... and the bin is beside the workspace, not on it
    bin_lo = min(c[1] - h[1] for c, h in layout.bin_boxes())
    assert bin_lo > layout.workspace_y[1]


@pytest.mark.parametrize(
    ("path", "found", "wanted"),
    [(None, "panda_link0", "base"), (BAXTER_CELL, "base", "panda_link0")],
)
def test_required_frame_mismatch_names_the_file_and_both_frames(path, found, wanted) -> None:
    with pytest.raises(CellConfigError) as err:
        load_layout(path, frame=wanted, user="robot xyz")
    text = str(err.value)
    assert str(layout_path(path)) in text
    assert f"frame {found!r}" in text and f"needs frame {wanted!r}" in text
    assert "robot xyz" in text


def test_layout_require_frame_accepts_its_own_frame() -> None:
    layout = load_layout(BAXTER_CELL)
    layout.require_frame("base")
    with pytest.raises(CellConfigError, match="baxter_table.yaml.*'base'.*'panda_link0'"):
        layout.require_frame("panda_link0")


def test_a_cell_without_a_frame_is_refused(tmp_path) -> None:
    text = config_path("sim", "panda_table.yaml").read_text()
    assert "frame: panda_link0\n" in text
    bad = tmp_path / "cell.yaml"
    bad.write_text(text.replace("frame: panda_link0\n", ""))
    with pytest.raises(CellConfigError, match=r"cell\.yaml: missing key 'frame'"):
        load_layout(bad)


def test_relative_paths_resolve_from_the_working_directory_then_config(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text(config_path("cells", "baxter_table.yaml").read_text())
    assert load_layout("mine.yaml").source == "mine.yaml"
    assert load_layout(BAXTER_CELL).source == str(config_path("cells", "baxter_table.yaml"))
    assert {"sim/panda_table.yaml", BAXTER_CELL} <= set(shipped_layouts())
    with pytest.raises(CellConfigError, match="cells/nowhere.yaml.*not found.*baxter_table"):
        load_layout("cells/nowhere.yaml")


def test_an_object_standing_up_in_the_bin_counts_as_in_it() -> None:
    layout = load_layout(frame="panda_link0")
    floor = layout.bin_center
    wall = layout.bin_size[2]
    # a 22 cm bottle standing on the bin floor: origin 11 cm up, over the 10 cm wall
    standing = floor + np.array([0.0, 0.0, 0.11])
    assert wall < 0.11
    assert not layout.in_bin(standing)  # the point is above the inner volume
    assert layout.object_in_bin(standing)  # the object at rest is in the bin
    # higher than that, or outside the footprint, or under the floor: not in the bin
    assert not layout.object_in_bin(floor + np.array([0.0, 0.0, wall + RESTING_ABOVE_RIM + 0.01]))
    beside = floor + np.array([layout.bin_size[0] / 2 + 0.02, 0.0, 0.05])
    assert not layout.object_in_bin(beside)
    assert not layout.object_in_bin(floor - np.array([0.0, 0.0, 0.02]))
