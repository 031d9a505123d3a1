"""The executor's joint-state cache: finite positions only, and only fresh ones."""

from __future__ import annotations

import math

from grasp_planning.joint_state import JointStateCache


def test_nan_positions_drop_the_message_and_nan_efforts_are_left_out() -> None:
    cache = JointStateCache(timeout=0.5)
    assert not cache.received and cache.positions(0.0) is None
    assert cache.update(["a", "b"], [0.1, 0.2], [1.0, math.nan], now=1.0) is None
    assert cache.positions(1.0) == {"a": 0.1, "b": 0.2}
    assert cache.efforts(1.0) == {"a": 1.0}  # b has no effort interface
    why = cache.update(["a", "b"], [math.nan, 0.3], [], now=1.1)
    assert why is not None and "non-finite position" in why and "'a'" in why
    assert cache.positions(1.1) == {"a": 0.1, "b": 0.2}  # the whole message was dropped
    assert "differ in length" in cache.update(["a"], [0.1, 0.2], [], now=1.2)


def test_positions_older_than_the_timeout_are_unknown() -> None:
    """A driver that stopped publishing leaves its last positions: they must not be held
    at or planned from (a hold there threw the arm 0.33 rad back in 50 ms)."""
    cache = JointStateCache(timeout=0.5)
    cache.update(["arm"], [0.1], [2.0], now=10.0)
    cache.update(["finger"], [0.04], [], now=10.4)
    assert cache.positions(10.45) == {"arm": 0.1, "finger": 0.04}
    assert cache.positions(10.6) == {"finger": 0.04}  # the arm's is 0.6 s old
    assert cache.positions(11.0) is None and cache.efforts(11.0) is None
    assert cache.received
    cache.update(["arm"], [0.2], [], now=11.0)
    assert cache.positions(11.0) == {"arm": 0.2}
