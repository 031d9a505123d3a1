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
