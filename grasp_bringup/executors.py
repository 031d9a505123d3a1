"""Spinning several nodes in one process: one single-threaded executor per node.

rclpy's ``MultiThreadedExecutor`` rebuilds one wait set over every entity of every node
(subscriptions, timers, the six parameter services of each node, ...) in Python for each
callback it dispatches, and hands every callback to a thread pool. With the whole
panda_grasp graph in one process that bookkeeping, not the work, takes the CPU: on the
2-core development machine the simulation ran at 0.25 x real time and camera -> grasp
candidates took ~0.9 s. Giving each node its own ``SingleThreadedExecutor`` on its own
thread keeps every wait set small and needs no pool: the same graph ran at 1.0 x real
time with ~0.15 s latency (``benchmarks/pick_success.py --latency``, docs/BENCHMARKS.md).

Semantics: the callbacks of one node run one at a time (as if every callback group were
mutually exclusive); different nodes run concurrently. A node whose work takes long must
run it on a thread of its own (the executor node's pick does, the sim driver's loop does).
If a callback raises, the error is logged, the whole graph stops, and :meth:`spin`
re-raises it: a graph never keeps running with one node silently dead.
"""

from __future__ import annotations

import threading
from typing import Any

from rclpy.executors import (
    ExternalShutdownException,
    ShutdownException,
    SingleThreadedExecutor,
)
from rclpy.node import Node


class PerNodeExecutor:
    """Executor-like owner of one ``SingleThreadedExecutor`` + thread per node.

    Offers the part of rclpy's ``Executor`` API the launcher, the demo and the tests use:
    :meth:`add_node`, :meth:`remove_node`, :meth:`get_nodes`, :meth:`spin` (blocks until
    :meth:`shutdown`, a node's error, or the context shutting down), and
    :meth:`shutdown`. Nodes added while spinning start spinning at once.
    """

    def __init__(self, context: Any = None) -> None:
        self.context = context
        self._executors: dict[Node, SingleThreadedExecutor] = {}
        self._threads: dict[Node, threading.Thread] = {}
        self._lock = threading.Lock()
        self._spinning = False
        self._done = threading.Event()
        self._stopping = False
        self.error: BaseException | None = None

    # -- nodes ----------------------------------------------------------------------------
    def add_node(self, node: Node) -> bool:
        with self._lock:
            if node in self._executors:
                return False
            executor = SingleThreadedExecutor(context=self.context)
            executor.add_node(node)
            self._executors[node] = executor
            if self._spinning:
                self._start(node)
        return True

    def remove_node(self, node: Node) -> None:
        """Stop dispatching ``node``'s callbacks; a callback already running finishes."""
        with self._lock:
            executor = self._executors.get(node)
        if executor is not None:
            executor.remove_node(node)

    def get_nodes(self) -> list[Node]:
        with self._lock:
            return list(self._executors)

    # -- spinning -------------------------------------------------------------------------
    def _start(self, node: Node) -> None:
        thread = threading.Thread(
            target=self._spin_one,
            args=(node, self._executors[node]),
            name=f"spin-{node.get_name()}",
            daemon=True,
        )
        self._threads[node] = thread
        thread.start()

    def _spin_one(self, node: Node, executor: SingleThreadedExecutor) -> None:
        try:
            executor.spin()
        except (ExternalShutdownException, ShutdownException, KeyboardInterrupt):
            pass
        except BaseException as exc:  # a node's callback failed: stop the whole graph
            if self._stopping:  # rcl complaining about a wait set torn down under it
                return
            try:
                node.get_logger().error(f"callback raised, stopping the graph: {exc!r}")
            except Exception:
                pass
            if self.error is None:
                self.error = exc
        finally:
            self._done.set()

    def spin(self) -> None:
        """Spin every node until :meth:`shutdown`, a node's error, or the context's
        shutdown (Ctrl-C); re-raises the first error a node's callback raised."""
        with self._lock:
            self._spinning = True
            for node in self._executors:
                if node not in self._threads:
                    self._start(node)
        while not self._done.wait(0.1):
            if self.context is not None and not self.context.ok():
                break
        if self.error is not None:
            self.shutdown(timeout_sec=5.0)
            raise self.error

    def shutdown(self, timeout_sec: float | None = None) -> bool:
        """Stop every executor (letting a running callback finish) and join the threads."""
        with self._lock:
            executors = list(self._executors.values())
            threads = list(self._threads.values())
            self._spinning = False
            self._stopping = True
        ok = True
        for executor in executors:
            ok &= bool(executor.shutdown(timeout_sec=timeout_sec))
        self._done.set()
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=timeout_sec)
                ok &= not thread.is_alive()
        return ok
