"""Each robot graph (config/graphs/*_grasp.yaml) agrees with itself: every node's base
frame is the robot's base frame and the frame of the executor's cell; the camera mount,
the perception crop box and the detector's workspace centre the nodes resolve are the
cell's camera and the box and centre around its workspace and table (with the place bin
outside the box), not restated in the graph; the ``cell:=FILE`` argument gives that one
file to every node that needs the cell."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from grasp_bringup.graph import Graph, NodeSpec, load_graph
from grasp_core.cell import (
    CROP_KEYS,
    CellLayout,
    camera_mount,
    layout_path,
    load_layout,
    resolve_crop_box,
    resolve_workspace_center,
)
from grasp_planning.robot import load_robot

#: graph -> the camera choices whose nodes are checked
GRAPHS = {
    "panda_grasp": ("sim", "realsense", "topics"),
    "baxter_grasp": ("realsense", "topics"),
}
CASES = [(g, c) for g, choices in GRAPHS.items() for c in choices]


def _node(graph: Graph, name: str) -> NodeSpec:
    for spec in graph.nodes:
        if spec.name == name:
            return spec
    raise AssertionError(f"{graph.name}: no node {name!r} in {[n.name for n in graph.nodes]}")


def _cell(graph: Graph) -> CellLayout:
    executor = _node(graph, "executor")
    assert executor.parameters["robot"] == graph.robot
    base = load_robot(graph.robot).base_frame
    return load_layout(executor.parameters.get("cell_layout") or None, frame=base)


@pytest.mark.parametrize(("name", "camera"), CASES)
def test_every_base_frame_is_the_robots_and_the_cells(name: str, camera: str) -> None:
    graph = load_graph(name, {"camera": camera})
    base = load_robot(graph.robot).base_frame
    cell = _cell(graph)
    assert cell.frame == base
    framed = [s for s in graph.nodes if "base_frame" in s.parameters]
    assert {s.name for s in framed} >= {"perception", "grasp_detector"}
    for spec in framed:
        assert spec.parameters["base_frame"] == base, spec.name
    sim = [s for s in graph.nodes if s.name == "sim_driver"]
    for spec in sim:  # the simulated world is built from the executor's cell
        assert layout_path(spec.parameters.get("layout_file") or None) == layout_path(cell.source)


def _mount(spec: NodeSpec) -> np.ndarray:
    """The camera mount a perception / detector node resolves from these parameters (the
    nodes' declared defaults where the graph leaves one out)."""
    p = spec.parameters
    T, _ = camera_mount(
        p.get("cell_layout", ""),
        p.get("cell_camera", "overhead"),
        p.get("camera_position"),
        p.get("camera_orientation"),
        p["base_frame"],
        spec.name,
    )
    return T


def _crop(spec: NodeSpec) -> dict[str, float]:
    """The crop box the perception node resolves from these parameters."""
    p = spec.parameters
    values, _, _ = resolve_crop_box(
        p.get("cell_layout", ""), {k: p.get(k) for k in CROP_KEYS}, p["base_frame"], spec.name
    )
    return values


def _centre(spec: NodeSpec) -> np.ndarray:
    """The workspace centre the grasp detector node resolves from these parameters."""
    p = spec.parameters
    centre, _ = resolve_workspace_center(
        p.get("cell_layout", ""), p.get("workspace_center"), p["base_frame"], spec.name
    )
    return centre


@pytest.mark.parametrize(("name", "camera"), CASES)
def test_node_camera_mounts_are_the_cells_camera(name: str, camera: str) -> None:
    graph = load_graph(name, {"camera": camera})
    T_cell = _cell(graph).cameras["overhead"].camera_model().T_base_camera
    for node in ("perception", "grasp_detector"):
        T = _mount(_node(graph, node))
        np.testing.assert_allclose(T, T_cell, atol=1e-5, err_msg=f"{name}: {node}")


@pytest.mark.parametrize(("name", "camera"), CASES)
def test_cell_argument_gives_one_file_to_every_node(name: str, camera: str, tmp_path) -> None:
    """``cell:=FILE`` (``cell_camera:=NAME``): perception and the detector take the camera
    mount from that file's camera, the executor (and the simulator) its table and bin."""
    default = load_graph(name, {"camera": camera})
    data = yaml.safe_load(layout_path(_cell(default).source).read_text())
    mount = dict(data["cameras"]["overhead"])
    shift = np.array([0.02, -0.03, 0.0])
    mount["eye"] = (np.array(mount["eye"]) + shift + [0.0, 0.0, 0.1]).tolist()
    mount["target"] = (np.array(mount["target"]) + shift).tolist()
    data["cameras"] = {"d435": mount}
    data["bin"]["center"][1] -= 0.05
    # the workspace moves too (away from the bin, which stays outside the crop box)
    data["workspace"]["x"] = [v + 0.04 for v in data["workspace"]["x"]]
    data["workspace"]["y"] = [v - 0.06 for v in data["workspace"]["y"]]
    path = tmp_path / "my_cell.yaml"
    path.write_text(yaml.safe_dump(data))
    graph = load_graph(name, {"camera": camera, "cell": str(path), "cell_camera": "d435"})
    cell = _cell(graph)
    assert cell.source == str(path)
    assert cell.bin_center[1] == pytest.approx(data["bin"]["center"][1])
    T_cell = cell.cameras["d435"].camera_model().T_base_camera
    for node in ("perception", "grasp_detector"):
        spec = _node(graph, node)
        assert spec.parameters["cell_layout"] == str(path), node
        np.testing.assert_allclose(_mount(spec), T_cell, atol=1e-9, err_msg=node)
        assert not np.allclose(_mount(_node(default, node)), T_cell, atol=1e-3)
    # the crop box and the workspace centre follow the cell's workspace
    lo, hi = cell.crop_box()
    crop = _crop(_node(graph, "perception"))
    box = [crop[k] for k in CROP_KEYS]
    np.testing.assert_allclose(box, np.column_stack([lo, hi]).ravel(), atol=1e-9)
    before = _crop(_node(default, "perception"))
    assert crop["crop_y_max"] == pytest.approx(before["crop_y_max"] - 0.06)
    centre = _centre(_node(graph, "grasp_detector"))
    np.testing.assert_allclose(centre, cell.workspace_center, atol=1e-9)
    np.testing.assert_allclose(
        centre - _centre(_node(default, "grasp_detector")), [0.04, -0.06, 0.0], atol=1e-9
    )
    for spec in graph.nodes:
        if spec.name == "sim_driver":
            assert spec.parameters["layout_file"] == str(path)
            assert spec.parameters["camera"] == "d435"


@pytest.mark.parametrize("name", list(GRAPHS))
def test_crop_box_and_workspace_centre_sit_on_the_cells_workspace(name: str) -> None:
    graph = load_graph(name, {"camera": GRAPHS[name][-1]})
    cell = _cell(graph)
    # one source: the cell file, not a second copy of its numbers in the graph
    assert not set(CROP_KEYS) & set(_node(graph, "perception").parameters)
    assert "workspace_center" not in _node(graph, "grasp_detector").parameters
    p = _crop(_node(graph, "perception"))
    x0, x1, y0, y1 = (p[f"crop_{k}"] for k in ("x_min", "x_max", "y_min", "y_max"))
    assert x0 <= cell.workspace_x[0] and cell.workspace_x[1] <= x1
    assert y0 <= cell.workspace_y[0] and cell.workspace_y[1] <= y1
    assert p["crop_z_min"] < cell.table_top_z < p["crop_z_max"]  # the table plane is seen
    assert p["crop_z_max"] - cell.table_top_z >= 0.2  # room for objects
    for c, h in cell.bin_boxes():  # the bin would be segmented as objects
        outside = c[0] + h[0] < x0 or c[0] - h[0] > x1 or c[1] + h[1] < y0 or c[1] - h[1] > y1
        assert outside, f"{name}: bin part at {c} overlaps the crop box"
    centre = _centre(_node(graph, "grasp_detector"))
    expected = [np.mean(cell.workspace_x), np.mean(cell.workspace_y), cell.table_top_z]
    np.testing.assert_allclose(centre, expected, atol=1e-9)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_weights_argument_reaches_the_detector(name: str) -> None:
    """``weights:=FILE`` (e.g. a fine-tuned model) sets the detector's weights; the default
    leaves them empty, which the node reads as the model's shipped weights."""
    camera = GRAPHS[name][0]
    default = _node(load_graph(name, {"camera": camera}), "grasp_detector")
    assert default.parameters["weights"] == ""
    given = load_graph(name, {"camera": camera, "weights": "/data/my_ggcnn.pt"})
    assert _node(given, "grasp_detector").parameters["weights"] == "/data/my_ggcnn.pt"


@pytest.mark.parametrize(("name", "camera"), CASES)
def test_only_the_simulator_makes_the_nodes_follow_clock(name: str, camera: str) -> None:
    """By default the nodes follow /clock only when the sim driver publishes it: on a robot
    (camera:=realsense) a default of true would leave every timer waiting for a /clock
    that never comes. ``use_sim_time:=true`` still forces it (e.g. Gazebo via topics)."""
    graph = load_graph(name, {"camera": camera})
    want = camera == "sim"
    assert graph.use_sim_time is want and graph.arguments["use_sim_time"] == str(want).lower()
    ours = [spec for spec in graph.nodes if not spec.external]
    assert ours and all(spec.parameters["use_sim_time"] is want for spec in ours)
    forced = load_graph(name, {"camera": camera, "use_sim_time": "true"})
    assert all(
        spec.parameters["use_sim_time"] is True for spec in forced.nodes if not spec.external
    )
