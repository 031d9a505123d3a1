"""Launch arguments of a graph file: an ``auto`` argument with ``true_when`` resolves from
the others; a malformed condition is an error naming the file and the argument."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from grasp_bringup.graph import GraphError, load_graph


def _graph(tmp_path, true_when) -> str:
    data = {
        "robot": "panda",
        "arguments": {
            "camera": {"default": "sim", "choices": ["sim", "realsense"]},
            "use_sim_time": {
                "default": "auto",
                "choices": ["auto", "true", "false"],
                "true_when": true_when,
            },
        },
        "nodes": [],
    }
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_auto_is_true_only_when_every_condition_matches(tmp_path) -> None:
    path = _graph(tmp_path, {"camera": "sim"})
    assert load_graph(path).arguments["use_sim_time"] == "true"
    assert load_graph(path).use_sim_time
    assert load_graph(path, {"camera": "realsense"}).arguments["use_sim_time"] == "false"
    given = load_graph(path, {"camera": "realsense", "use_sim_time": "true"})
    assert given.use_sim_time  # a value given explicitly is kept


def test_a_condition_that_is_not_a_mapping_names_the_file_and_argument(tmp_path) -> None:
    with pytest.raises(GraphError, match=r"g\.yaml: argument 'use_sim_time' true_when"):
        load_graph(_graph(tmp_path, ["camera", "sim"]))


def test_an_episode_graph_takes_the_cell_its_camera_and_detector_parameters() -> None:
    """``EpisodeOptions.cell`` / ``cell_camera`` become the graph's arguments (so every node
    and the simulator read that cell and camera), and ``detector_params`` reach the
    detector node over its YAML's (what pick_success.py --cell/--cell-camera/
    --detector-param run)."""
    from grasp_bringup.demo import EpisodeOptions, episode_graph

    opts = EpisodeOptions(
        cell="benchmarks/cells/panda_table_tilted.yaml",
        cell_camera="wrist",
        detector_params=(("planar_view", "camera"),),
    )
    nodes = {n.name: n.parameters for n in episode_graph(opts).nodes}
    assert nodes["sim_driver"]["layout_file"] == opts.cell
    assert nodes["sim_driver"]["camera"] == "wrist"
    for name in ("perception", "grasp_detector", "executor"):
        assert nodes[name]["cell_layout"] == opts.cell, name
    assert nodes["perception"]["cell_camera"] == nodes["grasp_detector"]["cell_camera"] == "wrist"
    assert nodes["grasp_detector"]["planar_view"] == "camera"
    default = {n.name: n.parameters for n in episode_graph(EpisodeOptions()).nodes}
    assert default["grasp_detector"]["cell_layout"] == "sim/panda_table.yaml"
    assert default["sim_driver"]["camera"] == "overhead"
    assert default["grasp_detector"]["planar_view"] == "auto"  # the YAML's value
    # options reach their node as given (an integer for a float parameter too: every
    # node takes it as that float, test/ros/test_node_utils.py)
    given = EpisodeOptions(
        perception_params=(("max_rate", 2), ("pixel_stride", 3)),
        executor_params=(("retry_memory", 4),),
    )
    nodes = {n.name: n.parameters for n in episode_graph(given).nodes}
    assert nodes["perception"]["max_rate"] == 2 and nodes["perception"]["pixel_stride"] == 3
    assert nodes["executor"]["retry_memory"] == 4


def test_the_recording_draws_on_the_nodes_camera_when_it_is_fixed() -> None:
    """A session records with the camera its nodes read: the default cell's overhead
    camera, the tilted cell's, none for the wrist camera (it moves); a missing name gives
    none instead of stopping the session."""
    from grasp_bringup.demo import drawing_mount
    from grasp_core.cell import load_layout

    default = load_layout()
    np.testing.assert_allclose(
        drawing_mount(default, "overhead"),
        default.cameras["overhead"].camera_model().T_base_camera,
    )
    wrist_cell = load_layout("benchmarks/cells/panda_table_wrist.yaml")
    assert drawing_mount(wrist_cell, "wrist") is None
    assert drawing_mount(default, "tripod") is None
