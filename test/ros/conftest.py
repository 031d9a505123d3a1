"""Fixtures of the ROS tests (rclpy is imported inside them: collection needs no ROS)."""

from __future__ import annotations

import pytest


@pytest.fixture
def context(ros_domain):
    """An rclpy context of the test's own, on its ROS domain, shut down after it."""
    rclpy = pytest.importorskip("rclpy")
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)
