"""The launch files of a system ROS 2 install use only the real launch API and name
executables and parameter files that exist (launch_ros itself has no wheel here)."""

from __future__ import annotations

import ast
from importlib.metadata import distribution
from pathlib import Path

from grasp_bringup.graph import load_graph

ROOT = Path(__file__).resolve().parents[2]


# The documented public API of launch / launch_ros that our launch files may use.
REAL_LAUNCH_API = {
    "launch": {"LaunchDescription"},
    "launch.actions": {
        "DeclareLaunchArgument",
        "OpaqueFunction",
        "IncludeLaunchDescription",
        "GroupAction",
    },
    "launch.substitutions": {"LaunchConfiguration", "PathJoinSubstitution"},
    "launch_ros.actions": {"Node"},
}


def test_launch_files_use_only_real_launch_api_and_existing_executables():

    sources = [
        ROOT / "grasp_bringup" / "launch_description.py",
        *sorted((ROOT / "launch").glob("*.launch.py")),
    ]
    assert len(sources) >= 3
    for src in sources:
        for node in ast.walk(ast.parse(src.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] in ("launch", "launch_ros")
            ):
                names = {a.name for a in node.names}
                assert names <= REAL_LAUNCH_API.get(node.module, set()), (
                    src.name,
                    node.module,
                    names,
                )
        if src.name.endswith(".launch.py"):
            assert "def generate_launch_description" in src.read_text()
    scripts = {
        ep.name
        for ep in distribution("grasp_bringup").entry_points
        if ep.group == "console_scripts"
    }
    for name in ("panda_grasp", "baxter_grasp"):
        for choice in (
            ("sim", "realsense", "topics") if name == "panda_grasp" else ("realsense", "topics")
        ):
            graph = load_graph(name, {"camera": choice})
            for spec in graph.nodes:
                if spec.package == "grasp_bringup":
                    assert spec.executable in scripts, (
                        f"{name}: {spec.executable} is not a console_script"
                    )
                for f in spec.parameter_files:
                    assert f.is_file(), f


class _Recorded:
    """A stand-in for a launch action: keeps its constructor arguments."""

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs


def _launch_nodes(monkeypatch, graph_name: str, given: dict[str, str]) -> list[_Recorded]:
    """Run ``launch_description.generate`` against stub launch modules (launch has no
    wheel here) and return the Node actions its OpaqueFunction creates for ``given``."""
    import sys
    import types

    from grasp_bringup import launch_description
    from grasp_bringup.graph import declared_arguments

    class LaunchConfiguration:
        def __init__(self, name: str) -> None:
            self.name = name

        def perform(self, context) -> str:
            return context[self.name]

    stubs = {
        "launch": {"LaunchDescription": lambda actions: list(actions)},
        "launch.actions": {"DeclareLaunchArgument": _Recorded, "OpaqueFunction": _Recorded},
        "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration},
        "launch_ros.actions": {"Node": _Recorded},
    }
    for name, attrs in stubs.items():
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(**attrs))
    monkeypatch.setitem(sys.modules, "launch_ros", types.SimpleNamespace())
    actions = launch_description.generate(graph_name)
    context = {k: str(v.get("default", "")) for k, v in declared_arguments(graph_name).items()}
    context.update(given)
    (opaque,) = [a for a in actions if "function" in a.kwargs]
    return opaque.kwargs["function"](context)


def test_rviz_fixed_frame_is_the_graphs_base_frame(monkeypatch):
    """grasp.rviz fixes panda_link0; Baxter publishes in ``base`` and nothing connects the
    two, so rviz is started with the graph's base frame (before: Baxter drew nothing)."""
    for graph, frame in (("panda_grasp", "panda_link0"), ("baxter_grasp", "base")):
        nodes = _launch_nodes(monkeypatch, graph, {"rviz": "true", "camera": "realsense"})
        (rviz,) = [n for n in nodes if n.kwargs["package"] == "rviz2"]
        args = rviz.kwargs["arguments"]
        assert args[args.index("-f") + 1] == frame
        assert args[args.index("-d") + 1].endswith("config/grasp.rviz")
        assert load_graph(graph, {"camera": "realsense"}).base_frame == frame
        launched = {n.kwargs["package"] for n in nodes}
        assert {"realsense2_camera", "grasp_bringup"} <= launched


def test_cell_argument_reaches_the_nodes_of_ros2_launch(monkeypatch, tmp_path):
    """``ros2 launch ... cell:=FILE``: the one file goes to perception, the detector (camera
    mount) and the executor (table, bin) as the graph says."""
    cell = tmp_path / "my_cell.yaml"
    for graph, camera in (("panda_grasp", "sim"), ("baxter_grasp", "realsense")):
        nodes = _launch_nodes(monkeypatch, graph, {"camera": camera, "cell": str(cell)})
        params = {n.kwargs["name"]: n.kwargs["parameters"][0] for n in nodes}
        for name in ("perception", "grasp_detector"):
            assert params[name]["cell_layout"] == str(cell), (graph, name)
            assert params[name]["cell_camera"] == "overhead"
            assert "camera_position" not in params[name], (graph, name)
        assert params["executor"]["cell_layout"] == str(cell)


def _publisher_qos() -> dict[str, str]:
    """topic -> name of the grasp_bringup.qos profile its node publishes it with."""
    out = {}
    for src in sorted(ROOT.glob("grasp_*/node.py")):
        for node in ast.walk(ast.parse(src.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "create_publisher"
                and len(node.args) >= 3
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[2], ast.Name)
            ):
                out[node.args[1].value] = node.args[2].id
    return out


def test_reliable_rviz_displays_face_reliable_publishers():
    """A Reliable subscriber never receives from a best-effort publisher (DDS drops the
    match): the quality image display asked for Reliable and showed nothing."""
    import yaml
    from rclpy.qos import ReliabilityPolicy

    from grasp_bringup import qos

    publishers = _publisher_qos()
    assert publishers["/grasp_detector/quality_image"] == "SENSOR_QOS"  # the scan works
    displays = yaml.safe_load((ROOT / "config" / "grasp.rviz").read_text())
    checked = 0
    for d in displays["Visualization Manager"]["Displays"]:
        topic = d.get("Topic") or {}
        if topic.get("Value") in publishers and topic.get("Reliability Policy") == "Reliable":
            profile = getattr(qos, publishers[topic["Value"]])
            assert profile.reliability == ReliabilityPolicy.RELIABLE, (d["Name"], topic)
            checked += 1
    assert checked >= 2  # grasp candidates and markers


def test_package_xml_declares_what_the_launch_starts_and_only_real_rosdep_keys():
    import xml.etree.ElementTree as ET

    deps = {e.text for e in ET.parse(ROOT / "package.xml").getroot().findall("exec_depend")}
    for name in ("panda_grasp", "baxter_grasp"):
        for spec in load_graph(name, {"camera": "realsense"}).nodes:
            assert spec.package in deps | {"grasp_bringup"}, (name, spec.package)
    assert "rviz2" in deps  # rviz:=true
    # keys rosdep does not have (rosdistro rosdep/python.yaml, checked 2026-12-07): with
    # them `rosdep install` stops; pip installs torch and mujoco (README, "On a robot")
    assert not deps & {"python3-torch", "python3-mujoco-pip", "python3-trimesh"}
