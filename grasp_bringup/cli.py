"""The ``grasp`` command line: one entry point for the demo, data generation, training,
evaluation and launching.

Each package contributes its subcommands from a ``<package>/cli.py`` module exposing
``register(subparsers)``; every subparser sets ``handler`` to a function taking the parsed
arguments and returning an exit code. Every option has a help line; ``--help`` adds its
default (:class:`HelpFormatter`), so a help line does not repeat it.

An error of the stack (:class:`~grasp_core.errors.GraspBringupError`: a malformed dataset,
a missing model card, a value out of range) or of the file system ends the command with
one line on stderr, ``grasp COMMAND: error: ...``, and exit code 1; ``grasp --traceback
COMMAND ...`` shows where it was raised instead.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]


class HelpFormatter(argparse.HelpFormatter):
    """``(default: X)`` after an option's help, unless there is no default worth showing
    (None, a flag's False, an empty list) or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text.lower()  # says it already, or %(default)s
            or default is None
            or default is False
            or default in ([], "")
            or default is argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, list | tuple) else "%(default)s"
        return f"{text} (default: {shown})"


class _Parser(argparse.ArgumentParser):
    """A subcommand's parser: :class:`HelpFormatter` unless it names another."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


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
    from grasp_bringup.info import version

    installed = version("grasp_bringup") or "(not installed: run from a source tree)"
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed}")
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on an error, show the Python traceback instead of one line",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for name in PLUGINS:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from grasp_core.errors import GraspBringupError

    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (GraspBringupError, OSError) as exc:  # their messages name what and where
        if args.traceback:
            raise
        print(f"grasp {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
