"""The node graph as configuration (``config/graphs/<name>.yaml``), shared by the launch
files of a system ROS 2 install and the in-process launcher. No rclpy here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasp_core.errors import GraspBringupError
from grasp_core.files import read_yaml_mapping
from grasp_core.paths import share_dir

PACKAGE = "grasp_bringup"
_ARG = re.compile(r"\$\(arg ([A-Za-z_][A-Za-z0-9_]*)\)")
#: The value of an argument resolved from the others by its ``true_when`` (use_sim_time).
AUTO = "auto"


class GraphError(GraspBringupError):
    """A graph file or a launch argument is invalid; the message says which and why."""


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph after argument substitution.

    ``parameters`` merges the node's ``ros__parameters`` from each parameter file, then
    the graph's inline ``parameters`` (inline wins). ``plugin`` is ``module:Class`` for
    nodes of this package (what the in-process launcher instantiates); ``external`` nodes
    belong to other packages and only a system ``ros2 launch`` can start them.
    """

    name: str
    package: str
    executable: str
    plugin: str | None
    namespace: str
    parameters: dict[str, Any]
    parameter_files: tuple[Path, ...]
    external: bool = False


@dataclass(frozen=True)
class Graph:
    name: str
    robot: str
    arguments: dict[str, str]
    nodes: tuple[NodeSpec, ...] = field(default_factory=tuple)

    @property
    def use_sim_time(self) -> bool:
        return self.arguments.get("use_sim_time", "false").lower() == "true"

    @property
    def base_frame(self) -> str:
        """The robot base frame the nodes publish in (their ``base_frame`` parameter)."""
        frames = {n.parameters["base_frame"] for n in self.nodes if "base_frame" in n.parameters}
        if len(frames) != 1:
            raise GraphError(
                f"graph {self.name}: the nodes' base_frame parameters must name one frame, "
                f"got {sorted(frames) or 'none'}"
            )
        return str(frames.pop())


def available_graphs() -> list[str]:
    """Names of the graphs shipped under ``config/graphs``."""
    return sorted(p.stem for p in (share_dir() / "config" / "graphs").glob("*.yaml"))


def graph_path(name: str) -> Path:
    """Path of graph ``name`` (``panda_grasp``) or of a YAML file given directly."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    path = share_dir() / "config" / "graphs" / f"{name}.yaml"
    if not path.is_file():
        raise GraphError(f"unknown graph {name!r}; available: {', '.join(available_graphs())}")
    return path


def declared_arguments(name: str) -> dict[str, dict[str, Any]]:
    """The graph's launch arguments: ``{name: {default, choices, description}}``."""
    data = _read_yaml(graph_path(name))
    return {k: dict(v) for k, v in data.get("arguments", {}).items()}


def parse_cli_arguments(items: list[str]) -> dict[str, str]:
    """``["model:=ggcnn", "camera:=sim"]`` -> ``{"model": "ggcnn", "camera": "sim"}``."""
    out = {}
    for item in items:
        if ":=" not in item:
            raise GraphError(f"launch argument {item!r} is not of the form name:=value")
        key, value = item.split(":=", 1)
        out[key.strip()] = value.strip()
    return out


def load_graph(name: str, arguments: dict[str, str] | None = None) -> Graph:
    """Read graph ``name``, check ``arguments`` against its declarations and resolve it."""
    path = graph_path(name)
    data = _read_yaml(path)
    declared = data.get("arguments", {})
    given = dict(arguments or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise GraphError(
            f"{path.name}: unknown launch arguments {unknown}; declared: {sorted(declared)}"
        )
    resolved: dict[str, str] = {}
    for arg, decl in declared.items():
        value = str(given.get(arg, decl.get("default", "")))
        choices = [str(c) for c in decl.get("choices", [])]
        if choices and value not in choices:
            raise GraphError(f"launch argument {arg}:={value!r} is not one of {choices}")
        resolved[arg] = value
    for arg, decl in declared.items():
        # an "auto" argument with `true_when: {other: value}` is "true" when the others match
        if resolved[arg] == AUTO and "true_when" in decl:
            where = f"{path.name}: argument {arg!r} true_when"
            resolved[arg] = "true" if _matches(decl["true_when"], resolved, where) else "false"
    nodes = [
        _node_spec(raw, resolved, path)
        for raw in data.get("nodes", [])
        if _matches(raw.get("when", {}), resolved, f"{path.name}: node {raw.get('name')!r} when")
    ]
    return Graph(
        name=path.stem, robot=data.get("robot", ""), arguments=resolved, nodes=tuple(nodes)
    )


def _matches(when: Any, args: dict[str, str], where: str) -> bool:
    """Whether every ``{argument: value}`` of ``when`` is the resolved argument's value."""
    if not isinstance(when, dict):
        raise GraphError(f"{where}: expected a mapping {{argument: value}}, got {when!r}")
    return all(args.get(k) == str(v) for k, v in when.items())


def _node_spec(raw: dict, args: dict[str, str], path: Path) -> NodeSpec:
    for key in ("name", "executable"):
        if key not in raw:
            raise GraphError(f"{path.name}: a node lacks {key!r}: {raw}")
    name = raw["name"]
    files = tuple(share_dir() / "config" / f for f in raw.get("parameter_files", []))
    params: dict[str, Any] = {}
    for f in files:
        if not f.is_file():
            raise GraphError(
                f"{path.name}: node {name!r} names parameter file {f}, which does not exist"
            )
        params.update(ros_parameters(f, name))
    params.update(raw.get("parameters", {}) or {})
    params = {
        k: _substitute(v, args, f"{path.name}: node {name!r} parameter {k!r}")
        for k, v in params.items()
    }
    if "use_sim_time" in args and not raw.get("external", False):
        params.setdefault("use_sim_time", args["use_sim_time"] == "true")
    return NodeSpec(
        name=name,
        package=raw.get("package", PACKAGE),
        executable=raw["executable"],
        plugin=raw.get("plugin"),
        namespace=raw.get("namespace", ""),
        parameters=params,
        parameter_files=files,
        external=bool(raw.get("external", False)),
    )


def _substitute(value: Any, args: dict[str, str], where: str) -> Any:
    if not isinstance(value, str):
        return value

    def repl(m: re.Match) -> str:
        if m.group(1) not in args:
            raise GraphError(f"{where}: $(arg {m.group(1)}) is not a declared argument")
        return args[m.group(1)]

    return _ARG.sub(repl, value)


def ros_parameters(path: Path, node_name: str) -> dict[str, Any]:
    """``ros__parameters`` of ``node_name`` (or of ``/**``) in a ROS 2 params file,
    flattened to dotted names as rclpy declares them."""
    data = _read_yaml(path)
    out: dict[str, Any] = {}
    for key in ("/**", node_name, f"/{node_name}"):
        section = data.get(key, {})
        out.update(_flatten(section.get("ros__parameters", {})))
    return out


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _read_yaml(path: Path) -> dict:
    return read_yaml_mapping(path, "graph or parameter file", GraphError)
