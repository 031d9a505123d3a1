"""PerNodeExecutor: nodes spin concurrently, one callback at a time per node, errors stop
the whole graph."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.node import Node  # noqa: E402
from spinning import Spinner  # noqa: E402

from grasp_bringup.executors import PerNodeExecutor  # noqa: E402

pytestmark = pytest.mark.ros


def _spin_in_thread(executor: PerNodeExecutor) -> tuple[threading.Thread, list]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            executor.spin()
        except BaseException as exc:  # recorded for the assertion
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_a_slow_node_does_not_stall_another_and_callbacks_of_one_node_do_not_overlap(context):
    slow, fast = Node("slow", context=context), Node("fast", context=context)
    ticks: list[float] = []
    active = [0]
    overlap = [False]

    def slow_cb() -> None:
        active[0] += 1
        overlap[0] |= active[0] > 1
        time.sleep(0.3)
        active[0] -= 1

    slow.create_timer(0.01, slow_cb)
    slow.create_timer(0.01, slow_cb)  # a second timer of the same node: must not overlap
    fast.create_timer(0.02, lambda: ticks.append(time.monotonic()))
    executor = PerNodeExecutor(context=context)
    executor.add_node(slow)
    executor.add_node(fast)
    thread, errors = _spin_in_thread(executor)
    time.sleep(1.0)
    executor.shutdown(timeout_sec=5.0)
    thread.join(timeout=5.0)
    assert not errors and not thread.is_alive()
    assert not overlap[0]
    # the fast node ticked throughout the slow node's 0.3 s callbacks
    assert len(ticks) >= 15, len(ticks)
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.25
    for n in (slow, fast):
        n.destroy_node()


def test_a_node_added_while_spinning_is_spun(context):
    executor = PerNodeExecutor(context=context)
    executor.add_node(Node("first", context=context))
    thread, errors = _spin_in_thread(executor)
    late = Node("late", context=context)
    hits: list[int] = []
    late.create_timer(0.02, lambda: hits.append(1))
    assert executor.add_node(late) and not executor.add_node(late)
    assert set(n.get_name() for n in executor.get_nodes()) == {"first", "late"}
    time.sleep(0.5)
    executor.shutdown(timeout_sec=5.0)
    thread.join(timeout=5.0)
    assert not errors and len(hits) >= 5


def test_a_callback_error_stops_the_graph_and_spin_reraises_it(context):
    bad, good = Node("bad", context=context), Node("good", context=context)

    def boom() -> None:
        raise RuntimeError("boom in a callback")

    bad.create_timer(0.05, boom)
    good.create_timer(0.02, lambda: None)
    executor = PerNodeExecutor(context=context)
    executor.add_node(bad)
    executor.add_node(good)
    thread, errors = _spin_in_thread(executor)
    thread.join(timeout=10.0)
    assert not thread.is_alive()
    assert len(errors) == 1 and "boom in a callback" in str(errors[0])
    assert executor.error is errors[0]


def test_context_shutdown_ends_spin(context):
    executor = PerNodeExecutor(context=context)
    executor.add_node(Node("n", context=context))
    thread, errors = _spin_in_thread(executor)
    time.sleep(0.2)
    rclpy.shutdown(context=context)
    thread.join(timeout=5.0)
    assert not thread.is_alive() and not errors
    executor.shutdown(timeout_sec=5.0)


def test_the_test_spinner_fails_fast_naming_the_node_when_a_callback_hangs(context):
    node = Node("stuck_node", context=context)
    release = threading.Event()
    node.create_timer(0.01, lambda: release.wait(10.0))
    spinner = Spinner(node, context=context)
    time.sleep(0.2)  # the timer's callback is now blocked
    t0 = time.monotonic()
    with pytest.raises(AssertionError, match="stuck_node"):
        spinner.stop(timeout=0.5)
    assert time.monotonic() - t0 < 3.0
    release.set()
    spinner.close()  # the callback returned: it stops now
    assert not spinner.thread.is_alive()
