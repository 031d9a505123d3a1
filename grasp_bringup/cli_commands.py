"""Subcommands owned by grasp_bringup itself: ``info`` and ``demo``."""

from __future__ import annotations

import argparse


def _cmd_info(args: argparse.Namespace) -> int:
    import json

    from grasp_bringup.info import collect, format_info

    info = collect()
    print(json.dumps(info, indent=1) if args.json else format_info(info))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from grasp_bringup.demo import run_demo

    return run_demo(args)


def _cmd_launch(args: argparse.Namespace) -> int:
    from grasp_bringup.graph import load_graph, parse_cli_arguments

    graph = load_graph(args.graph, parse_cli_arguments(args.arguments))  # GraphError: main's
    from grasp_bringup import launcher  # rclpy: after the graph's arguments are checked

    return launcher.run_processes(graph) if args.processes else launcher.run_in_process(graph)


def register(sub: argparse._SubParsersAction) -> None:
    launch = sub.add_parser(
        "launch",
        help="start a graph's nodes in this process (or one process each)",
        description="Start the nodes of config/graphs/GRAPH.yaml, e.g. "
        "`grasp launch panda_grasp model:=ggcnn camera:=sim`.",
    )
    launch.add_argument("graph", help="graph name (panda_grasp, baxter_grasp) or a YAML path")
    launch.add_argument("arguments", nargs="*", help="launch arguments as name:=value")
    launch.add_argument("--processes", action="store_true", help="one process per node")
    launch.set_defaults(handler=_cmd_launch)
    info = sub.add_parser(
        "info",
        help="versions, grasp models and their shipped weights, robots, graphs, work cells",
    )
    info.add_argument("--json", action="store_true", help="the same as one JSON object")
    info.set_defaults(handler=_cmd_info)
    demo = sub.add_parser(
        "demo",
        help="closed-loop clutter clearing in MuJoCo, report under runs/",
        description="Clear held-out objects from the simulated table through the full ROS 2 "
        "graph (sim driver, perception, grasp detector, executor) and write a report.",
    )
    demo.add_argument("--model", default="ggcnn", help="grasp model")
    demo.add_argument("--objects", type=int, default=3, help="objects on the table")
    demo.add_argument(
        "--object-set",
        default="test",
        help="split name (train/val/test) or a folder of OBJ/STL meshes",
    )
    demo.add_argument("--seed", type=int, default=0, help="scene seed")
    demo.add_argument(
        "--max-grasp-width",
        type=float,
        default=None,
        help="only split objects whose narrowest top-down grasp is at most this wide [m], "
        "e.g. 0.07 for the Panda hand's 8 cm stroke less 5 mm each side (default: any)",
    )
    demo.add_argument(
        "--max-attempts",
        type=int,
        default=None,
        help="attempt budget (default: max(8, objects + 3))",
    )
    demo.add_argument(
        "--real-time-factor",
        type=float,
        default=1.0,
        help="simulation speed; 0 = as fast as possible",
    )
    demo.add_argument("--weights", default="", help="detector weights (default: the shipped ones)")
    demo.add_argument("--out", default="", help="parent folder of the run folder (default: runs/)")
    demo.add_argument("--no-record", action="store_true", help="skip images and the animation")
    demo.add_argument(
        "--processes",
        action="store_true",
        help="run each node of the graph as its own process (default: all in this one)",
    )
    demo.add_argument(
        "--headless",
        action="store_true",
        help="accepted for scripts; the demo never opens a window (watch it in the report or in rviz)",
    )
    demo.set_defaults(handler=_cmd_demo)
