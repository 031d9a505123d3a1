"""grasp_core.cell: a cell layout names its frame; callers may require one."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from grasp_core.cell import (
    RESTING_ABOVE_RIM,
    CellConfigError,
    camera_mount,
    layout_path,
    load_layout,
    shipped_layouts,
)
from grasp_core.paths import config_path
from grasp_core.se3 import pose_from_pq, pose_to_pq

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


# --- the camera mount of the perception and detector nodes, from a cell file ----------

#: The mount config/perception.yaml and config/grasp_detector.yaml gave before the nodes
#: read it from the cell: 0.8 m above (0.5, 0, 0), looking straight down.
SIM_MOUNT = pose_from_pq(np.array([0.5, 0.0, 0.8]), np.array([0.7071068, -0.7071068, 0.0, 0.0]))


def _moved_cell(tmp_path, dy: float = 0.05):
    """A copy of the sim cell with the overhead camera (eye and target) moved ``dy`` in y."""
    data = yaml.safe_load(config_path("sim", "panda_table.yaml").read_text())
    cam = data["cameras"]["overhead"]
    cam["eye"][1] += dy
    cam["target"][1] += dy
    path = tmp_path / "my_cell.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_sim_cells_camera_is_the_mount_the_node_yamls_gave() -> None:
    for cell in ("", "sim/panda_table.yaml"):
        T, source = camera_mount(cell, "overhead", None, None, "panda_link0", "perception")
        np.testing.assert_allclose(T, SIM_MOUNT, atol=1e-7)
        assert source.endswith("sim/panda_table.yaml")


def test_a_mount_from_a_cell_file_or_from_parameters(tmp_path) -> None:
    cell = _moved_cell(tmp_path)
    T, source = camera_mount(str(cell), "overhead", None, None, "panda_link0", "perception")
    np.testing.assert_allclose(T[:3, 3], [0.5, 0.05, 0.8])
    assert str(cell) in source and "overhead" in source
    # explicit parameters alone (no cell file): those
    pos, quat = [0.1, 0.2, 0.9], [0.0, 0.0, 0.0, 1.0]
    T, source = camera_mount("", "overhead", pos, quat, "panda_link0", "perception")
    np.testing.assert_allclose(T, pose_from_pq(np.array(pos), np.array(quat)))
    assert "camera_position" in source
    # both, agreeing (the YAML's 7-digit quaternion): fine, the cell's pose
    p, q = pose_to_pq(load_layout(cell).cameras["overhead"].T_parent_optical)
    T, _ = camera_mount(str(cell), "overhead", p.round(7), q.round(7), "panda_link0", "x")
    np.testing.assert_allclose(T[:3, 3], [0.5, 0.05, 0.8])


def test_a_mount_given_twice_that_disagrees_names_both_sources(tmp_path) -> None:
    cell = _moved_cell(tmp_path)
    with pytest.raises(CellConfigError) as err:
        camera_mount(
            str(cell), "overhead", [0.5, 0.0, 0.8], [0.7071068, -0.7071068, 0.0, 0.0],
            "panda_link0", "grasp_detector",
        )  # fmt: skip
    text = str(err.value)
    assert "grasp_detector" in text and str(cell) in text and "cameras.overhead" in text
    assert "camera_position" in text and "camera_orientation" in text and "50.0 mm" in text


def test_a_bad_cell_file_or_camera_names_the_file_and_the_key(tmp_path) -> None:
    with pytest.raises(CellConfigError, match=r"nowhere\.yaml.*not found"):
        camera_mount("cells/nowhere.yaml", "overhead", None, None, "panda_link0", "perception")
    cell = _moved_cell(tmp_path)
    with pytest.raises(CellConfigError, match=r"my_cell\.yaml: cameras\.d435: no such camera"):
        camera_mount(str(cell), "d435", None, None, "panda_link0", "perception")
    data = yaml.safe_load(cell.read_text())
    del data["cameras"]["overhead"]["target"]
    cell.write_text(yaml.safe_dump(data))
    with pytest.raises(CellConfigError, match=r"my_cell\.yaml: cameras\.overhead: missing key"):
        camera_mount(str(cell), "overhead", None, None, "panda_link0", "perception")
    # a camera on the robot has no static mount; a cell in another frame is refused
    with pytest.raises(CellConfigError, match=r"panda_table\.yaml: cameras\.wrist.*panda_hand"):
        camera_mount("", "wrist", None, None, "panda_link0", "perception")
    with pytest.raises(CellConfigError, match=r"baxter_table\.yaml.*'base'.*perception"):
        camera_mount(BAXTER_CELL, "overhead", None, None, "panda_link0", "perception")
    with pytest.raises(CellConfigError, match="camera_orientation"):
        camera_mount("", "overhead", [0.5, 0.0, 0.8], None, "panda_link0", "perception")
