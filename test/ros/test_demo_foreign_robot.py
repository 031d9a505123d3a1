"""The demo stops before any motion when another graph's robot is on its ROS domain: a
simulated pick must never command a real controller that shares the topics."""

from __future__ import annotations

import time

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS  # noqa: E402

pytestmark = pytest.mark.ros

ARM = "/panda_arm_controller/joint_trajectory"
OURS = {"sim_driver", "executor", "demo_monitor"}


def _graph(context) -> list[Node]:
    """Stand-ins with the demo graph's names and robot topics: the simulated robot takes
    arm commands and publishes joint states, the executor the other way round."""
    driver = Node("sim_driver", context=context)
    driver.create_subscription(JointTrajectory, ARM, lambda m: None, RELIABLE_QOS)
    driver.create_publisher(JointState, "/joint_states", SENSOR_QOS)
    executor = Node("executor", context=context)
    executor.create_publisher(JointTrajectory, ARM, RELIABLE_QOS)
    executor.create_subscription(JointState, "/joint_states", lambda m: None, SENSOR_QOS)
    return [driver, executor]


def _found(monitor, expect_any: bool) -> list[str] | None:
    """Poll until discovery answers (not None) and something is found, 5 s at most;
    expecting nothing, the first answer (one process's graph is known at once)."""
    deadline = time.monotonic() + 5.0
    found = monitor.foreign_robot_endpoints(OURS)
    while time.monotonic() < deadline and (found is None or bool(found) != expect_any):
        time.sleep(0.1)
        found = monitor.foreign_robot_endpoints(OURS)
    return found


def test_a_real_controller_or_state_publisher_on_the_domain_is_found(context) -> None:
    from grasp_bringup.demo_monitor import DemoMonitor

    nodes = _graph(context)
    monitor = DemoMonitor(None, images=False, context=context)
    nodes.append(monitor)
    try:
        assert _found(monitor, expect_any=False) == []  # the graph alone: nothing foreign
        watcher = Node("rviz", context=context)  # a viewer reads states: harmless
        watcher.create_subscription(JointState, "/joint_states", lambda m: None, SENSOR_QOS)
        nodes.append(watcher)
        assert _found(monitor, expect_any=False) == []
        robot = Node("franka_controller", context=context)
        robot.create_subscription(JointTrajectory, ARM, lambda m: None, RELIABLE_QOS)
        robot.create_publisher(JointState, "/joint_states", SENSOR_QOS)
        nodes.append(robot)
        deadline = time.monotonic() + 5.0
        found = _found(monitor, expect_any=True)
        while len(found) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            found = monitor.foreign_robot_endpoints(OURS)
        assert found == [
            "franka_controller on /joint_states (publishes it too)",
            f"franka_controller on {ARM} (subscribes the commands)",
        ]
    finally:
        for node in nodes:
            node.destroy_node()


def test_the_session_refuses_before_any_pick(context, monkeypatch) -> None:
    """:meth:`PickSession.refuse_foreign_robot` names the domain and the nodes."""
    from types import SimpleNamespace

    from grasp_bringup.demo import ForeignRobotError, PickSession
    from grasp_bringup.demo_monitor import DemoMonitor

    nodes = _graph(context)
    monitor = DemoMonitor(None, images=False, context=context)
    robot = Node("franka_controller", context=context)
    robot.create_subscription(JointTrajectory, ARM, lambda m: None, RELIABLE_QOS)
    nodes += [monitor, robot]
    try:
        assert _found(monitor, expect_any=True)
        session = PickSession.__new__(PickSession)
        session.monitor = monitor
        specs = [SimpleNamespace(name=n, external=False) for n in ("sim_driver", "executor")]
        session.running = SimpleNamespace(graph=SimpleNamespace(nodes=specs))
        monkeypatch.setenv("ROS_DOMAIN_ID", "42")
        with pytest.raises(ForeignRobotError, match=r"ROS_DOMAIN_ID=42 .*franka_controller on"):
            session.refuse_foreign_robot()
        # a node of the graph nobody can see yet (discovery not through): it fails closed
        specs.append(SimpleNamespace(name="perception", external=False))
        assert monitor.foreign_robot_endpoints({*OURS, "perception"}) is None
        with pytest.raises(ForeignRobotError, match=r"could not tell within 1 s .*not moving"):
            session.refuse_foreign_robot(timeout=1.0)
        specs[-1] = SimpleNamespace(name="perception", external=True)  # not started here
        with pytest.raises(ForeignRobotError, match="franka_controller on"):
            session.refuse_foreign_robot(timeout=1.0)
    finally:
        for node in nodes:
            node.destroy_node()


def test_the_demo_keeps_discovery_on_this_machine_unless_told(monkeypatch) -> None:
    from grasp_bringup.demo import isolate_domain

    monkeypatch.delenv("ROS_DOMAIN_ID", raising=False)
    monkeypatch.delenv("ROS_AUTOMATIC_DISCOVERY_RANGE", raising=False)
    lines: list[str] = []
    domain = isolate_domain(lines.append)
    import os

    assert 1 <= domain <= 100 and os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert f"ROS_DOMAIN_ID={domain}, discovery LOCALHOST" in lines[0]
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "SUBNET")  # the user's choice stays
    isolate_domain(lines.append)
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "SUBNET"
