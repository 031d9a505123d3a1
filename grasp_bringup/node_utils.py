"""What every node's ``main`` and parameter block would otherwise repeat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import rclpy
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
)
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter


@dataclass(frozen=True)
class ParamSpec:
    """A parameter: its name, default (whose type fixes the parameter's type; a
    ``Parameter.Type`` declares one without a default, whose value is None unless given),
    a description naming units, and an optional inclusive ``(low, high)`` range."""

    name: str
    default: Any
    description: str
    range: tuple[float, float] | None = None
    read_only: bool = False


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    desc = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
    if spec.range is not None:
        low, high = spec.range
        if isinstance(spec.default, bool):
            raise ValueError(f"parameter {spec.name}: a range makes no sense for a bool")
        if spec.default is Parameter.Type.INTEGER:
            desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=0)]
        elif spec.default is Parameter.Type.DOUBLE:
            desc.floating_point_range = [
                FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)
            ]
        elif isinstance(spec.default, int):
            desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=0)]
        elif isinstance(spec.default, float):
            desc.floating_point_range = [
                FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)
            ]
        else:
            raise ValueError(
                f"parameter {spec.name}: a range needs an int or float default (or type)"
            )
    return desc


def declare_params(node: Node, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """Declare every parameter with its descriptor; return ``{name: value}``.

    Values come from overrides (YAML via ``ros2 launch``/``--params-file`` or the
    in-process launcher's ``parameter_overrides``) when given, else the defaults. rclpy
    rejects out-of-range overrides at declaration with an error naming the parameter.
    """
    values: dict[str, Any] = {}
    for spec in specs:
        param = node.declare_parameter(spec.name, spec.default, _descriptor(spec))
        values[spec.name] = param.value
    return values


def run_node(node_class: type[Node], args: Sequence[str] | None = None, **kwargs: Any) -> None:
    """The body of every node's ``main()``: init, spin on a ``SingleThreadedExecutor``
    (the node's callbacks run one at a time, as in the in-process graph: see
    :mod:`grasp_bringup.executors`), and shut down cleanly on Ctrl-C or an external
    shutdown."""
    with rclpy.init(args=args):
        node = node_class(**kwargs)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        try:
            executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            executor.shutdown()
            node.destroy_node()
