"""Spin test nodes as the in-process graph does, and stop them within a time limit."""

from __future__ import annotations

import threading

from grasp_bringup.executors import PerNodeExecutor

#: Seconds a test waits for its executor's running callbacks to finish on close.
STOP_TIMEOUT = 10.0


class Spinner:
    """``nodes`` spun by one :class:`PerNodeExecutor` (one thread per node, as the
    launcher spins the graph), from a daemon thread started here."""

    def __init__(self, *nodes, context=None) -> None:
        self.nodes = nodes
        self.executor = PerNodeExecutor(context=context)
        for node in nodes:
            self.executor.add_node(node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Shut the executor down; raise AssertionError, naming the nodes, if a callback
        is still running after ``timeout`` [s] (rather than hang the test run)."""
        stopped = self.executor.shutdown(timeout_sec=timeout)
        self.thread.join(timeout=timeout)
        if not stopped or self.thread.is_alive():
            names = ", ".join(node.get_name() for node in self.nodes)
            raise AssertionError(f"executor of {names} still running {timeout} s after shutdown")

    def close(self, timeout: float = STOP_TIMEOUT) -> None:
        """:meth:`stop`, then destroy the nodes (also when stopping failed)."""
        try:
            self.stop(timeout)
        finally:
            for node in self.nodes:
                node.destroy_node()
