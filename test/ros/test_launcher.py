"""The graph file resolves the same way for ros2 launch and the in-process launcher, and
the in-process launcher runs its nodes on one executor with their parameters."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import rclpy
import yaml

from grasp_bringup.graph import GraphError, load_graph, parse_cli_arguments
from grasp_bringup.launcher import InProcessGraph, node_command

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[2]


def write_graph(tmp_path: Path) -> Path:
    params = tmp_path / "talker.yaml"
    params.write_text(
        yaml.safe_dump({"talker": {"ros__parameters": {"text": "from-file", "rate": 50.0}}})
    )
    graph = {
        "robot": "panda",
        "arguments": {
            "word": {"default": "hi", "description": "what to say"},
            "camera": {"default": "sim", "choices": ["sim", "realsense"]},
        },
        "nodes": [
            {"name": "talker", "executable": "talker", "plugin": "graph_test_nodes:Talker",
             "parameter_files": [str(params)], "parameters": {"text": "$(arg word)"}},
            {"name": "listener", "executable": "listener", "plugin": "graph_test_nodes:Listener"},
            {"name": "only_real", "executable": "driver", "package": "other", "external": True,
             "when": {"camera": "realsense"}},
        ],
    }  # fmt: skip
    path = tmp_path / "test_graph.yaml"
    path.write_text(yaml.safe_dump(graph))
    return path


def test_graph_resolves_arguments_files_and_conditions(tmp_path):
    path = write_graph(tmp_path)
    g = load_graph(str(path), {"word": "ahoy"})
    assert [n.name for n in g.nodes] == ["talker", "listener"]
    assert g.nodes[0].parameters == {"text": "ahoy", "rate": 50.0}
    g = load_graph(str(path), {"camera": "realsense"})
    assert g.nodes[-1].external and g.nodes[-1].package == "other"
    with pytest.raises(GraphError, match="not one of"):
        load_graph(str(path), {"camera": "kinect"})
    with pytest.raises(GraphError, match="unknown launch arguments"):
        load_graph(str(path), {"modle": "x"})
    with pytest.raises(GraphError, match="available: .*panda_grasp"):
        load_graph("no_such_graph")
    assert parse_cli_arguments(["model:=ggcnn", "camera:=sim"]) == {
        "model": "ggcnn",
        "camera": "sim",
    }
    with pytest.raises(GraphError, match="name:=value"):
        parse_cli_arguments(["model=ggcnn"])


def test_in_process_graph_runs_nodes_with_their_parameters(tmp_path, ros_domain):
    graph = load_graph(str(write_graph(tmp_path)), {"word": "over-ros"})
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        with InProcessGraph(graph, context=context, log=lambda _: None) as running:
            running.start()
            listener = running.nodes["listener"]
            deadline = time.monotonic() + 20
            while len(listener.heard) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert listener.heard[:3] == ["over-ros"] * 3
            assert running.nodes["talker"].get_parameter("rate").value == 50.0
    finally:
        rclpy.shutdown(context=context)


def test_node_command_passes_name_and_params(tmp_path):
    graph = load_graph(str(write_graph(tmp_path)))
    cmd = node_command(graph.nodes[0], tmp_path / "p.yaml")
    assert "from graph_test_nodes import main" in cmd[2]
    assert cmd[3:] == [
        "--ros-args",
        "-r",
        "__node:=talker",
        "--params-file",
        str(tmp_path / "p.yaml"),
    ]
