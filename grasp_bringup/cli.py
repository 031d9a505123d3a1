"""The ``grasp`` command line: one entry point for the demo, data generation, training,
evaluation and launching.

Each package contributes its subcommands from a ``<package>/cli.py`` module exposing
``register(subparsers)``; every subparser sets ``handler`` to a function taking the parsed
arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]

#: Modules that add subcommands, in the order they appear in ``grasp --help``.
PLUGINS = (
    "grasp_bringup.cli_commands",
    "grasp_sim.cli",
    "grasp_perception.cli",
    "grasp_models.cli",
    "grasp_planning.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grasp", description="grasp_bringup: ROS 2 grasping stack with a MuJoCo default"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in PLUGINS:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
