"""The in-process launcher: every node of a graph in one process, each on its own
single-threaded executor and thread (the embedded default; see
:mod:`grasp_bringup.executors` for why), or each node as its own process.

    grasp launch panda_grasp model:=ggcnn camera:=sim
    grasp launch panda_grasp --processes
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rclpy
import yaml
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter

from grasp_bringup.executors import PerNodeExecutor
from grasp_bringup.graph import Graph, GraphError, NodeSpec


def _plugin_class(spec: NodeSpec) -> type[Node]:
    if not spec.plugin:
        raise GraphError(f"node {spec.name!r} has no plugin (module:Class) to run in-process")
    module, cls = spec.plugin.split(":")
    return getattr(importlib.import_module(module), cls)


def _overrides(spec: NodeSpec) -> list[Parameter]:
    return [Parameter(name, value=value) for name, value in spec.parameters.items()]


def _runnable(graph: Graph, log: Callable[[str], None]) -> list[NodeSpec]:
    """The graph's nodes this launcher starts (external drivers are named and skipped)."""
    specs = []
    for spec in graph.nodes:
        if spec.external:
            log(f"[launch] skipping {spec.package}/{spec.executable}: start it with its own driver")
        else:
            specs.append(spec)
    return specs


class _LocalNodes:
    """Nodes living in this process (``nodes``) on a :class:`PerNodeExecutor`: spinning
    in the foreground or a background thread, and a clean close."""

    def __init__(self, graph: Graph, context: Any) -> None:
        self.graph = graph
        self.context = context
        self.nodes: dict[str, Node] = {}
        self.executor = PerNodeExecutor(context=context)
        self._thread: threading.Thread | None = None

    def spin(self) -> None:
        """Spin until shutdown (Ctrl-C or an external shutdown)."""
        try:
            self.executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass

    def start(self) -> _LocalNodes:
        """Spin in a background thread."""
        self._thread = threading.Thread(target=self.spin, name="graph-executor", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop dispatching, let running callbacks finish, then destroy the nodes."""
        self.executor.shutdown(timeout_sec=10.0)
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        for node in self.nodes.values():
            node.destroy_node()
        self.nodes.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessGraph(_LocalNodes):
    """Owns the nodes of a graph living in this process, and the executor spinning them.

    Use as a context manager around :meth:`spin` (blocking) or :meth:`start` (background
    thread, for tests and the demo). Requires ``rclpy.init()`` to have been called with
    ``context`` (default: the global context).
    """

    def __init__(
        self,
        graph: Graph,
        context: Any = None,
        log: Callable[[str], None] = print,
    ) -> None:
        super().__init__(graph, context)
        for spec in _runnable(graph, log):
            kwargs: dict[str, Any] = {"parameter_overrides": _overrides(spec)}
            if spec.namespace:
                kwargs["namespace"] = spec.namespace
            if context is not None:
                kwargs["context"] = context
            log(f"[launch] {spec.name}: {spec.plugin}")
            self.nodes[spec.name] = _plugin_class(spec)(**kwargs)
        for node in self.nodes.values():
            self.executor.add_node(node)


def run_in_process(graph: Graph) -> int:
    """``grasp launch``: all nodes in this process until Ctrl-C."""
    # not sys.argv: its launch arguments (model:=ggcnn) would read as ROS remap rules
    with rclpy.init(args=[sys.argv[0]]), InProcessGraph(graph) as running:
        running.spin()
    return 0


def node_command(spec: NodeSpec, params_file: Path) -> list[str]:
    """Command line running one node (its plugin class) as its own process with its
    parameters."""
    if not spec.plugin:
        raise GraphError(f"node {spec.name!r} has no plugin (module:Class) to run")
    module, cls = spec.plugin.split(":")
    entry = (
        f"from grasp_bringup.node_utils import run_node; from {module} import {cls}; "
        f"run_node({cls})"
    )
    cmd = [sys.executable, "-c", entry, "--ros-args", "-r", f"__node:={spec.name}"]
    if spec.namespace:
        cmd += ["-r", f"__ns:=/{spec.namespace.strip('/')}"]
    return [*cmd, "--params-file", str(params_file)]


def _stop_processes(procs: dict[str, subprocess.Popen], grace: float = 10.0) -> None:
    """SIGINT every process still running, then SIGTERM after ``grace`` [s], then SIGKILL."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        alive = {name: p for name, p in procs.items() if p.poll() is None}
        if not alive:
            return
        if sig != signal.SIGINT:
            print(f"[launch] {', '.join(alive)} still running: sending {sig.name}", file=sys.stderr)
        for p in alive.values():
            p.send_signal(sig)
        deadline = time.monotonic() + wait
        for p in alive.values():
            try:
                p.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                pass


class ProcessGraph(_LocalNodes):
    """Each node of ``graph`` as its own process (``node_command``), plus an executor for
    nodes this process adds itself (a monitor). Same shape as :class:`InProcessGraph`:
    :meth:`start`, :meth:`close`, ``executor``, ``nodes`` (the local nodes) and
    ``graph``; ``processes`` maps node names to their ``Popen``."""

    def __init__(
        self, graph: Graph, context: Any = None, log: Callable[[str], None] = print
    ) -> None:
        super().__init__(graph, context)
        self.log = log
        self.processes: dict[str, subprocess.Popen] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="grasp_launch_")

    def start_processes(self) -> ProcessGraph:
        for spec in _runnable(self.graph, self.log):
            params = Path(self._tmp.name) / f"{spec.name}.yaml"
            params.write_text(yaml.safe_dump({spec.name: {"ros__parameters": spec.parameters}}))
            cmd = node_command(spec, params)
            self.log(f"[launch] {spec.name}: {' '.join(cmd)}")
            self.processes[spec.name] = subprocess.Popen(cmd, env=dict(os.environ))
        return self

    def start(self) -> ProcessGraph:
        """Start the processes and spin the local nodes in a background thread."""
        self.start_processes()
        super().start()
        return self

    def running(self) -> bool:
        return bool(self.processes) and all(p.poll() is None for p in self.processes.values())

    def failed(self) -> list[str]:
        """Processes that ended with an error (Ctrl-C / SIGINT endings are not errors)."""
        ok = (0, -signal.SIGINT, 130)
        return [
            f"{name} ({p.returncode})"
            for name, p in self.processes.items()
            if p.returncode is not None and p.returncode not in ok
        ]

    def close(self) -> None:
        super().close()
        _stop_processes(self.processes)
        self._tmp.cleanup()


def run_processes(graph: Graph) -> int:
    """``grasp launch --processes``: each node in its own process; Ctrl-C (or one node
    exiting) stops them all."""
    # Ctrl-C and SIGTERM stop the graph even when this process was started with SIGINT
    # ignored (a background job of a non-interactive shell, as in CI): Python installs no
    # KeyboardInterrupt handler then.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    running = ProcessGraph(graph, log=lambda line: print(line, flush=True))
    try:
        running.start_processes()
        while running.running():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        running.close()
    failed = running.failed()
    if failed:
        print(f"[launch] processes exited with errors: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
