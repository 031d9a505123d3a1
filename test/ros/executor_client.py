"""Peer-side calls to the executor node shared by its ROS tests: a Trigger service call
that waits, and "publish candidates until the executor takes the pick"."""

from __future__ import annotations

import time
from collections.abc import Callable

from std_srvs.srv import Trigger


def call_trigger(client, timeout: float = 10.0) -> Trigger.Response:
    """Call a ``std_srvs/Trigger`` service (its node spun elsewhere) and wait for it."""
    fut = client.call_async(Trigger.Request())
    deadline = time.monotonic() + timeout
    while not fut.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fut.done(), "service call timed out"
    return fut.result()


def start_pick(
    publish: Callable[[], None],
    pick_client,
    timeout: float = 15.0,
    until: Callable[[Trigger.Response], bool] | None = None,
):
    """Re-publish candidates (``publish()``) and call /executor/pick until the pick starts
    or, without ``until``, the executor has them and joint states (discovery) and answers
    something else; with it, until ``until(answer)`` holds. The last answer."""
    deadline = time.monotonic() + timeout
    while True:
        publish()
        time.sleep(0.2)
        res = call_trigger(pick_client)
        if until is not None:
            done = res.success or until(res)
        else:
            done = res.success or not any(
                s in res.message for s in ("candidates", "joint_states", "object_points")
            )
        if done or time.monotonic() >= deadline:
            return res
