"""Subcommands owned by grasp_bringup itself: ``info`` and ``demo``."""

from __future__ import annotations

import argparse


def _cmd_info(args: argparse.Namespace) -> int:
    import grasp_core
    from grasp_core.paths import share_dir

    print(f"grasp_bringup share directory: {share_dir()}")
    print(f"grasp_core exports: {', '.join(grasp_core.__all__)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("grasp_bringup.demo") is None:
        print("grasp demo: the closed-loop simulated pick-and-place has not landed yet.")
        return _cmd_info(args)
    from grasp_bringup.demo import run_demo

    return run_demo(args)


def _cmd_launch(args: argparse.Namespace) -> int:
    from grasp_bringup.graph import GraphError, load_graph, parse_cli_arguments

    try:
        graph = load_graph(args.graph, parse_cli_arguments(args.arguments))
    except GraphError as exc:
        print(f"grasp launch: {exc}")
        return 2
    from grasp_bringup import launcher

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
    info = sub.add_parser("info", help="show where the package's data lives")
    info.set_defaults(handler=_cmd_info)
    demo = sub.add_parser("demo", help="closed-loop pick-and-place in MuJoCo")
    demo.add_argument("--model", default="ggcnn", help="grasp model (default: %(default)s)")
    demo.add_argument("--objects", type=int, default=3, help="objects on the table")
    demo.add_argument("--object-set", default="test", help="split name or folder of OBJ/STL")
    demo.add_argument("--seed", type=int, default=0, help="scene seed")
    demo.add_argument("--headless", action="store_true", help="no viewer window")
    demo.set_defaults(handler=_cmd_demo)
