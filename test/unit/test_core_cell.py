"""grasp_core.cell: a cell layout names its frame; callers may require one."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from grasp_core.cell import (
    CROP_KEYS,
    RESTING_ABOVE_RIM,
    CellConfigError,
    camera_mount,
    layout_path,
    load_layout,
    resolve_crop_box,
    resolve_workspace_center,
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


def test_an_object_is_in_reach_only_inside_the_crop_box_and_out_of_the_bin() -> None:
    layout = load_layout(frame="panda_link0")
    lo, hi = layout.crop_box()  # x 0.2..0.8, y -0.3..0.3 on a table of x -0.2..1.1
    z = layout.table_top_z + 0.03
    assert layout.object_in_reach(np.array([0.5, 0.0, z]))
    assert layout.object_in_reach(np.array([hi[0] - 0.001, lo[1] + 0.001, z]))
    # still on the table (its top spans y -0.6..0.6), but beyond the crop box: out of reach
    c, h = layout.table_box()
    beyond = np.array([0.5, hi[1] + 0.05, z])
    assert abs(beyond[1] - c[1]) < h[1] and not layout.object_in_reach(beyond)
    assert not layout.object_in_reach(np.array([hi[0] + 0.05, 0.0, z]))
    assert not layout.object_in_reach(np.array([0.5, 0.0, lo[2] - 0.2]))  # on the floor
    assert not layout.object_in_reach(layout.bin_center + np.array([0.0, 0.0, 0.03]))
    # the box perception is given (crop_* parameters) rules when passed
    wider = (lo, hi + np.array([0.0, 0.1, 0.0]))
    assert layout.object_in_reach(beyond, wider)
    assert not layout.object_in_reach(np.array([0.5, 0.0, z]), (lo, hi - [0.0, 0.4, 0.0]))
    assert not layout.object_in_reach(
        layout.bin_center + np.array([0.0, 0.0, 0.03]), (lo - 5, hi + 5)
    )


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


def _cell_with(tmp_path, name: str = "my_cell.yaml", **moves) -> str:
    """A copy of the sim cell; ``moves``: ``workspace=(dx, dy)``, ``table_z=dz`` (the bin
    moves with the table), ``bin_y=y`` (the bin's centre y)."""
    data = yaml.safe_load(config_path("sim", "panda_table.yaml").read_text())
    dx, dy = moves.get("workspace", (0.0, 0.0))
    data["workspace"]["x"] = [v + dx for v in data["workspace"]["x"]]
    data["workspace"]["y"] = [v + dy for v in data["workspace"]["y"]]
    dz = moves.get("table_z", 0.0)
    data["table"]["center"][2] += dz
    data["bin"]["center"][2] += dz
    if "bin_y" in moves:
        data["bin"]["center"][1] = moves["bin_y"]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_the_sim_cell_gives_the_crop_box_and_workspace_centre_the_sim_always_used() -> None:
    """Bit for bit the numbers config/perception.yaml and grasp_detector.yaml held."""
    layout = load_layout()
    lo, hi = layout.crop_box()
    assert lo.tolist() == [0.2, -0.3, -0.05] and hi.tolist() == [0.8, 0.3, 0.3]
    assert layout.workspace_center.tolist() == [0.5, 0.0, 0.0]
    values, source, warning = resolve_crop_box("", {k: None for k in CROP_KEYS}, "panda_link0")
    assert values == dict(zip(CROP_KEYS, [0.2, 0.8, -0.3, 0.3, -0.05, 0.3], strict=True))
    assert source.endswith("sim/panda_table.yaml") and warning is None
    # Baxter: the hand-written box of the baxter_grasp graph; x stops at the table's edge
    baxter = load_layout(BAXTER_CELL, frame="base")
    lo, hi = baxter.crop_box()
    assert lo.tolist() == [0.35, -0.05, -0.23] and hi.tolist() == [0.85, 0.55, 0.12]
    assert baxter.workspace_center.tolist() == [0.575, 0.25, -0.18]


def test_a_moved_workspace_or_table_moves_the_crop_box_and_the_centre(tmp_path) -> None:
    cell = _cell_with(tmp_path, workspace=(0.05, -0.04), table_z=0.02)
    layout = load_layout(cell)
    lo, hi = layout.crop_box()
    np.testing.assert_allclose(lo, [0.25, -0.34, -0.03], atol=1e-12)
    np.testing.assert_allclose(hi, [0.85, 0.26, 0.32], atol=1e-12)
    np.testing.assert_allclose(layout.workspace_center, [0.55, -0.04, 0.02], atol=1e-12)
    values, source, _ = resolve_crop_box(cell, {}, "panda_link0", "perception")
    assert [values[k] for k in CROP_KEYS] == pytest.approx([0.25, 0.85, -0.34, 0.26, -0.03, 0.32])
    assert cell in source
    centre, source = resolve_workspace_center(cell, None, "panda_link0", "grasp_detector")
    np.testing.assert_allclose(centre, [0.55, -0.04, 0.02], atol=1e-12)
    assert cell in source


def test_explicit_crop_values_and_centre_win_over_the_cells_and_say_so(tmp_path) -> None:
    """A crop box / workspace centre set by hand is a choice about the cell, not a second
    measurement of it: each key given wins, the rest come from the cell, the note says."""
    cell = _cell_with(tmp_path, workspace=(0.05, 0.0))
    values, source, warning = resolve_crop_box(
        cell, {"crop_z_max": 0.2, "crop_x_min": None}, "panda_link0", "perception"
    )
    assert values["crop_z_max"] == 0.2 and values["crop_x_min"] == pytest.approx(0.25)
    assert "crop_z_max" in source and "0.3" in source and cell in source and warning is None
    given = dict(zip(CROP_KEYS, [0.1, 0.5, -0.1, 0.1, -0.1, 0.2], strict=True))
    values, source, _ = resolve_crop_box("", given, "base", "perception")  # no cell read
    assert values == given and "crop_x_min" in source
    centre, source = resolve_workspace_center(cell, [0.6, 0.1, 0.0], "panda_link0", "det")
    assert centre.tolist() == [0.6, 0.1, 0.0]
    assert "workspace_center" in source and "0.55" in source and cell in source
    centre, _ = resolve_workspace_center("", [0.6, 0.1, 0.0], "base", "det")
    assert centre.tolist() == [0.6, 0.1, 0.0]
    with pytest.raises(CellConfigError, match=r"det: workspace_center.*3 numbers"):
        resolve_workspace_center("", [0.6, 0.1], "panda_link0", "det")
    with pytest.raises(CellConfigError, match=r"baxter_table\.yaml.*'base'.*perception"):
        resolve_crop_box(BAXTER_CELL, {}, "panda_link0", "perception")


def test_a_bin_inside_the_cells_crop_box_is_refused_naming_the_file(tmp_path) -> None:
    """The bin's walls inside the crop box would be segmented as objects (and grasped):
    a cell whose bin reaches into the box derived from it stops the node at start."""
    cell = _cell_with(tmp_path, "bin_in_view.yaml", bin_y=0.35)  # walls from y 0.25
    with pytest.raises(CellConfigError) as err:
        load_layout(cell).crop_box()
    text = str(err.value)
    assert "bin_in_view.yaml" in text and "bin" in text and "crop" in text
    with pytest.raises(CellConfigError, match=r"perception.*bin_in_view\.yaml.*bin"):
        resolve_crop_box(cell, {"crop_z_max": 0.2}, "panda_link0", "perception")
    # a box the user gave in full is theirs: a warning, not a refusal
    given = dict(zip(CROP_KEYS, [0.2, 0.8, -0.3, 0.3, -0.05, 0.3], strict=True))
    values, _, warning = resolve_crop_box(cell, given, "panda_link0", "perception")
    assert values == given and "bin" in warning and "bin_in_view.yaml" in warning
    # y_max moved clear of the bin: fine again
    values, _, warning = resolve_crop_box(cell, {"crop_y_max": 0.2}, "panda_link0", "p")
    assert warning is None and values["crop_y_max"] == 0.2
