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
        load_graph(str(path), {"mdl": "x"})
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
    assert "from graph_test_nodes import Talker; run_node(Talker)" in cmd[2]
    assert cmd[3:] == [
        "--ros-args",
        "-r",
        "__node:=talker",
        "--params-file",
        str(tmp_path / "p.yaml"),
    ]


def test_launch_processes_mode_runs_each_node_and_stops_on_ctrl_c(tmp_path, ros_domain):
    import os
    import signal
    import subprocess
    import sys

    from std_msgs.msg import String

    graph = tmp_path / "test_graph.yaml"
    write_graph(tmp_path)
    env = dict(
        os.environ,
        PYTHONPATH=str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grasp_bringup.cli",
            "launch",
            str(graph),
            "word:=separate",
            "--processes",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    context = rclpy.Context()
    rclpy.init(context=context)
    heard: list[str] = []
    try:
        node = rclpy.create_node("probe", context=context)
        node.create_subscription(String, "/chatter", lambda m: heard.append(m.data), 10)
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + 30
        while not heard and time.monotonic() < deadline and proc.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        assert heard and heard[0] == "separate", (
            proc.stdout.read() if proc.poll() is not None else heard
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=40) == 0
        out = proc.stdout.read()
        assert "[launch] talker:" in out and "[launch] listener:" in out
        executor.shutdown()
        node.destroy_node()
    finally:
        if proc.poll() is None:
            proc.kill()
        rclpy.shutdown(context=context)
