"""What every node's ``main`` and parameter block would otherwise repeat."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rclpy
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
)
from rclpy.callback_groups import CallbackGroup
from rclpy.clock import Clock, ClockType
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


def _is_float(spec: ParamSpec) -> bool:
    """Whether the parameter is a DOUBLE or DOUBLE_ARRAY."""
    d = spec.default
    if d is Parameter.Type.DOUBLE or d is Parameter.Type.DOUBLE_ARRAY:
        return True
    if isinstance(d, (list, tuple)):
        return bool(d) and all(isinstance(v, float) for v in d)
    return isinstance(d, float)


def _ints_as_floats(param: Parameter) -> Parameter:
    """``param`` as a DOUBLE (DOUBLE_ARRAY) when it holds an INTEGER (INTEGER_ARRAY)."""
    if param.type_ is Parameter.Type.INTEGER:
        return Parameter(param.name, Parameter.Type.DOUBLE, float(param.value))
    if param.type_ is Parameter.Type.INTEGER_ARRAY:
        return Parameter(param.name, Parameter.Type.DOUBLE_ARRAY, [float(v) for v in param.value])
    return param


def declare_params(node: Node, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """Declare every parameter with its descriptor; return ``{name: value}``.

    Values come from overrides (YAML via ``ros2 launch``/``--params-file``, ``ros2 run
    ... -p``, or the in-process launcher's ``parameter_overrides``) when given, else the
    defaults. rclpy rejects out-of-range or wrongly typed overrides at declaration with an
    error naming the parameter, except one: an integer given for a float parameter
    (``max_rate:=5``, ``[0, 0, 1]`` for a list of floats) is taken as that float, at
    declaration and in later ``set_parameters`` / ``ros2 param set`` calls. Plain rclpy
    refuses it, and the node would stop at start-up for a missing ``.0``.
    """
    # rclpy keeps the overrides it will apply in Node._parameter_overrides and has no
    # public reader; without it (another rclpy) an integer is refused as plain rclpy does
    overrides = getattr(node, "_parameter_overrides", {})
    # one pre-set callback per node, whichever call declares its float parameters: rclpy
    # concatenates what its pre-set callbacks return, so a second one would hand each
    # parameter twice
    floats: set[str] | None = getattr(node, "_float_param_names", None)
    if floats is None:
        floats = node._float_param_names = set()
        node.add_pre_set_parameters_callback(
            lambda params: [_ints_as_floats(p) if p.name in floats else p for p in params]
        )
    values: dict[str, Any] = {}
    for spec in specs:
        default, ignore = spec.default, False
        if _is_float(spec):
            floats.add(spec.name)
            given = overrides.get(spec.name)
            if given is not None and _ints_as_floats(given) is not given:
                default, ignore = _ints_as_floats(given).value, True
        param = node.declare_parameter(
            spec.name, default, _descriptor(spec), ignore_override=ignore
        )
        values[spec.name] = param.value
    return values


#: The node name DDS gives an endpoint whose node it has not learned yet.
UNKNOWN_NODE = "_NODE_NAME_UNKNOWN_"


def endpoints_outside(
    suspects: Sequence[tuple[str, Sequence[Any], str]], allowed: set[str]
) -> list[str] | None:
    """The endpoints (``TopicEndpointInfo``) of ``suspects``, ``(topic, endpoints,
    role)``, whose node is not in ``allowed``, each as "node on topic (role)", sorted,
    each once. None while an endpoint's node is not named yet (DDS reports endpoints
    before the names of the nodes that own them): it could be allowed or not."""
    found = set()
    for topic, endpoints, role in suspects:
        for info in endpoints:
            if info.node_name == UNKNOWN_NODE:
                return None
            if info.node_name not in allowed:
                found.add(f"{info.node_name} on {topic} ({role})")
    return sorted(found)


#: [s] of silence on a topic a node cannot work without before it says so (repeated at
#: this period while the silence lasts).
SILENCE_WARN = 10.0


class SilenceWatch:
    """Warn, naming the topic, when nothing has arrived on ``topic`` for
    :data:`SILENCE_WARN` seconds (from the start, or since the last message; wall clock,
    so a missing ``/clock`` is silence too), again every :data:`SILENCE_WARN` while it
    lasts. Call :meth:`heard` from the subscription's callback; ``hint`` ends the line
    (what to check). A driver that is not running, or a topic name that does not match
    it, was silence: the nodes waited without a word."""

    def __init__(
        self, node: Node, topic: str, what: str, hint: str, group: CallbackGroup | None = None
    ) -> None:
        self.node, self.topic, self.what, self.hint = node, topic, what, hint
        self._last = time.monotonic()  # the start counts as the last sign of life
        self._warned = float("-inf")
        self.timer = node.create_timer(
            SILENCE_WARN / 4,
            self.check,
            callback_group=group,
            clock=Clock(clock_type=ClockType.STEADY_TIME),
        )

    def heard(self) -> None:
        self._last = time.monotonic()  # one store, no lock: called for every message

    def check(self) -> None:
        now = time.monotonic()
        quiet = now - self._last
        if quiet < SILENCE_WARN or now - self._warned < SILENCE_WARN:
            return
        self._warned = now  # only this timer callback reads and writes it
        self.node.get_logger().warning(
            f"no {self.what} on {self.topic} for {quiet:.0f} s: {self.hint} "
            f"(`ros2 topic hz {self.topic}`)"
        )

    def close(self) -> None:
        self.node.destroy_timer(self.timer)


def _type_name(default: Any) -> str:
    if isinstance(default, Parameter.Type):
        return default.name.lower().replace("_array", " list")
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, (list, tuple)):
        inner = _type_name(default[0]) if default else "string"
        return f"{inner} list"
    return {int: "integer", float: "double", str: "string"}.get(type(default), "?")


def parameter_help(node_name: str, specs: Sequence[ParamSpec], params_file: Path | None) -> str:
    """What ``<node executable> --help`` prints: every parameter with its type, built-in
    default, range and description, and the value ``params_file`` (the node's YAML under
    ``config/``, which both launchers load) gives it when that differs."""
    from grasp_bringup.graph import ros_parameters

    given = ros_parameters(params_file, node_name) if params_file is not None else {}
    lines = [
        f"{node_name}: a ROS 2 node; set its parameters with `--ros-args -p NAME:=VALUE` or "
        "`--params-file FILE`"
        + (
            f" (the launch files load {params_file}, then set what their arguments say)"
            if params_file is not None
            else ""
        ),
        "",
        "parameters:",
    ]
    for spec in specs:
        unset = isinstance(spec.default, Parameter.Type)
        default = None if unset else spec.default
        facts = [_type_name(spec.default), "unset" if unset else f"default {default!r}"]
        if spec.range is not None:
            facts.append(f"{spec.range[0]:g} to {spec.range[1]:g}")
        if spec.name in given and given[spec.name] != default:
            facts.append(f"{params_file.name}: {given[spec.name]!r}")
        if spec.read_only:
            facts.append("read-only")
        lines.append(f"  {spec.name} ({', '.join(facts)})")
        lines.append(f"      {spec.description}")
    return "\n".join(lines)


def wants_help(args: Sequence[str] | None) -> bool:
    """Whether the node's own arguments (before ``--ros-args``) ask for ``-h``/``--help``."""
    argv = list(sys.argv[1:] if args is None else args)
    own = argv[: argv.index("--ros-args")] if "--ros-args" in argv else argv
    return "-h" in own or "--help" in own


#: Parameters rclpy declares on every node by itself (not in any node's specs).
RCLPY_PARAMETERS = frozenset({"use_sim_time", "start_type_description_service"})


def declared_param_specs(node_class: type[Node]) -> list[ParamSpec]:
    """Every parameter a node class declares: its ``PARAM_SPECS``, then the
    ``HELPER_PARAM_SPECS`` that helpers it calls declare on it (the camera mount's
    :data:`grasp_bringup.ros_camera.MOUNT_PARAMS`)."""
    return [*node_class.PARAM_SPECS, *getattr(node_class, "HELPER_PARAM_SPECS", ())]


def run_node(node_class: type[Node], args: Sequence[str] | None = None, **kwargs: Any) -> None:
    """The body of every node's ``main()``: init, spin on a ``SingleThreadedExecutor``
    (the node's callbacks run one at a time, as in the in-process graph: see
    :mod:`grasp_bringup.executors`), and shut down cleanly on Ctrl-C or an external
    shutdown. ``-h``/``--help`` prints the node's parameters (:func:`parameter_help`,
    from the class's ``NODE_NAME`` and :func:`declared_param_specs`) instead of starting
    it."""
    if wants_help(args):
        from grasp_core.paths import share_dir

        name = node_class.NODE_NAME
        params_file = share_dir() / "config" / f"{name}.yaml"
        params_file = params_file if params_file.is_file() else None
        print(parameter_help(name, declared_param_specs(node_class), params_file))
        return
    with rclpy.init(args=args):
        node = node_class(**kwargs)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        try:
            executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        except RuntimeError:  # rclpy's RCLError among them
            if node.context.ok():
                raise
            # Ctrl-C / SIGTERM shut the context down under a running callback (a publish
            # "context is invalid"): the end asked for, not a fault to print
        finally:
            _end_node(executor, node)


def _end_node(executor: SingleThreadedExecutor, node: Node) -> None:
    """Shut ``executor`` down and destroy ``node``, a late Ctrl-C notwithstanding: rclpy's
    own handler shuts the context down first (spin ends), and Python's KeyboardInterrupt
    for the same Ctrl-C can land in this cleanup (a traceback at every stop of
    ``grasp launch --processes``). Further Ctrl-Cs are ignored until it is done."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for step in (executor.shutdown, node.destroy_node):
            try:
                step()
            except KeyboardInterrupt:
                continue  # the Ctrl-C that ended spin, delivered late: finish the cleanup
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
