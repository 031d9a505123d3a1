"""Build a ``launch`` description of a graph for a system ROS 2 install.

Used by ``launch/*.launch.py``; imports ``launch``/``launch_ros`` lazily so the rest of
the package works where they are absent (the pip-only default).
"""

from __future__ import annotations

from typing import Any

from grasp_bringup.graph import declared_arguments, load_graph
from grasp_core.paths import share_dir


def generate(graph_name: str) -> Any:
    """A ``LaunchDescription`` with one ``DeclareLaunchArgument`` per graph argument and
    the graph's nodes (plus rviz2 when ``rviz:=true``), resolved at launch time."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration

    declared = declared_arguments(graph_name)
    actions: list[Any] = [
        DeclareLaunchArgument(
            name,
            default_value=str(decl.get("default", "")),
            description=str(decl.get("description", "")),
            choices=[str(c) for c in decl["choices"]] if decl.get("choices") else None,
        )
        for name, decl in declared.items()
    ]

    def nodes(context: Any) -> list[Any]:
        from launch_ros.actions import Node

        args = {name: LaunchConfiguration(name).perform(context) for name in declared}
        graph = load_graph(graph_name, args)
        out: list[Any] = [
            Node(
                package=spec.package,
                executable=spec.executable,
                name=spec.name,
                namespace=spec.namespace or None,
                parameters=[spec.parameters],
                output="screen",
                emulate_tty=True,
            )
            for spec in graph.nodes
        ]
        if args.get("rviz") == "true":
            out.append(
                Node(
                    package="rviz2",
                    executable="rviz2",
                    # the graph's base frame as the fixed frame (Baxter: base)
                    arguments=[
                        "-d",
                        str(share_dir() / "config" / "grasp.rviz"),
                        "-f",
                        graph.base_frame,
                    ],
                    parameters=[{"use_sim_time": graph.use_sim_time}],
                    output="screen",
                )
            )
        return out

    actions.append(OpaqueFunction(function=nodes))
    return LaunchDescription(actions)
