"""Fixtures shared by the whole suite: seeds, isolated ROS domains, headless rendering."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

# Keep DDS discovery on this machine and rendering headless for every test.
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])


@pytest.fixture
def seed() -> int:
    """A fixed seed; also seeds python's and numpy's global generators."""
    value = 1234
    random.seed(value)
    np.random.seed(value)
    return value


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture
def ros_domain(monkeypatch: pytest.MonkeyPatch) -> int:
    """A ROS_DOMAIN_ID of its own for each test, so concurrent runs never cross-talk.

    Set it in the environment before ``rclpy.init`` (and before starting child processes).
    """
    domain = int.from_bytes(os.urandom(2), "little") % 100 + 1
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    return domain


#: Per-test limit [s] of the ``ros`` tests (each takes under 10 s here): a hang in one,
#: e.g. a node's teardown, then costs minutes, not pytest.ini's 900 s
ROS_TEST_TIMEOUT = 180


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests over real DDS and a real-time simulation (markers ``ros``, ``e2e``) depend on
    scheduling on a loaded 2-core machine; they get up to two reruns, which pytest reports
    as ``R`` / "rerun" in the summary, so flakiness stays visible."""
    for item in items:
        if item.get_closest_marker("ros") or item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=1))
        if (
            item.get_closest_marker("ros")
            and not item.get_closest_marker("e2e")
            and not item.get_closest_marker("timeout")
        ):
            item.add_marker(pytest.mark.timeout(ROS_TEST_TIMEOUT))
