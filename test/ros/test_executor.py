"""The executor node over real ROS 2 topics.

A peer node stands in for the arm/hand controllers (it follows every JointTrajectory
kinematically and publishes /joint_states; the fingers stop at a 5 cm object), publishes
/grasp_candidates and calls /executor/pick and /executor/stop. The same checks against
grasp_sim's driver node (physics) belong here once that node lands.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import JointState, PointCloud2  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

from grasp_bringup import msgs  # noqa: E402
from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS  # noqa: E402
from grasp_core.grasp import Grasp  # noqa: E402
from grasp_core.se3 import make_transform, rot_x  # noqa: E402

pytestmark = pytest.mark.ros

ARM = [f"panda_joint{i}" for i in range(1, 8)]
HAND = ["panda_finger_joint1", "panda_finger_joint2"]
HOME = [0.0, -0.785398, 0.0, -2.35619, 0.0, 1.5707, 0.785398]


class Controllers:
    """Kinematic arm + hand following JointTrajectory messages (wall clock)."""

    def __init__(self, node, object_width: float = 0.05) -> None:
        self.node = node
        self.q = np.array(HOME)
        self.finger = 0.04
        self.object_width = object_width
        self.traj: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None
        self.arm_msgs: list[JointTrajectory] = []
        self.lock = threading.Lock()
        node.create_subscription(
            JointTrajectory, "/panda_arm_controller/joint_trajectory", self.on_arm, RELIABLE_QOS
        )
        node.create_subscription(
            JointTrajectory, "/panda_hand_controller/joint_trajectory", self.on_hand, RELIABLE_QOS
        )
        self.pub = node.create_publisher(JointState, "/joint_states", SENSOR_QOS)
        node.create_timer(0.02, self.publish)

    def current(self) -> np.ndarray:
        if self.traj is None:
            return self.q
        t, pos, q0, t0 = self.traj
        s = time.monotonic() - t0
        if t[0] > 0:
            t, pos = np.concatenate([[0.0], t]), np.vstack([q0, pos])
        return np.array([np.interp(s, t, pos[:, j]) for j in range(7)])

    def on_arm(self, msg: JointTrajectory) -> None:
        with self.lock:
            self.arm_msgs.append(msg)
            order = [list(msg.joint_names).index(n) for n in ARM]
            t = np.array(
                [p.time_from_start.sec + 1e-9 * p.time_from_start.nanosec for p in msg.points]
            )
            pos = np.array([[p.positions[i] for i in order] for p in msg.points])
            q0 = self.current()
            self.q = q0
            self.traj = (t, pos, q0, time.monotonic())

    def on_hand(self, msg: JointTrajectory) -> None:
        target = float(msg.points[-1].positions[0])
        self.finger = max(target, self.object_width / 2) if target < self.finger else target

    def publish(self) -> None:
        with self.lock:
            q = self.current()
        msg = JointState()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.name = ARM + HAND
        msg.position = [float(x) for x in q] + [self.finger, self.finger]
        self.pub.publish(msg)


class Harness:
    def __init__(self, overrides: list[Parameter]) -> None:
        from grasp_planning.node import ExecutorNode

        self.node = ExecutorNode(parameter_overrides=overrides)
        self.peer = rclpy.create_node("executor_test_peer")
        self.ctrl = Controllers(self.peer)
        self.cand_pub = self.peer.create_publisher(PointCloud2, "/grasp_candidates", RELIABLE_QOS)
        self.status: list[DiagnosticStatus] = []
        self.peer.create_subscription(
            DiagnosticStatus, "/executor/status", self.status.append, RELIABLE_QOS
        )
        self.pick = self.peer.create_client(Trigger, "/executor/pick")
        self.stop = self.peer.create_client(Trigger, "/executor/stop")
        self.executor = MultiThreadedExecutor(num_threads=4)
        self.executor.add_node(self.node)
        self.executor.add_node(self.peer)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        assert self.pick.wait_for_service(10.0) and self.stop.wait_for_service(10.0)

    def call(self, client, timeout: float = 10.0) -> Trigger.Response:
        fut = client.call_async(Trigger.Request())
        deadline = time.monotonic() + timeout
        while not fut.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fut.done(), "service call timed out"
        return fut.result()

    def send_candidates(self, grasps: list[Grasp]) -> None:
        self.cand_pub.publish(msgs.grasps_to_pointcloud2(grasps, "panda_link0"))

    def start_pick(self, grasps: list[Grasp], timeout: float = 15.0) -> Trigger.Response:
        """Re-publish candidates until the executor has them (discovery) and starts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.send_candidates(grasps)
            time.sleep(0.2)
            res = self.call(self.pick)
            if res.success or (
                "candidates" not in res.message and "joint_states" not in res.message
            ):
                return res
        return res

    def wait_state(self, states: tuple[str, ...], timeout: float = 60.0) -> DiagnosticStatus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in list(self.status):
                if any(kv.key == "state" and kv.value in states for kv in s.values):
                    return s
            time.sleep(0.02)
        seen = [s.message for s in self.status][-5:]
        raise AssertionError(f"no status in {states} within {timeout} s; last: {seen}")

    def close(self) -> None:
        self.executor.shutdown()
        self.thread.join(timeout=5)
        self.node.destroy_node()
        self.peer.destroy_node()


@pytest.fixture
def harness(ros_domain):
    overrides = [
        Parameter("velocity_scaling", value=1.0),
        Parameter("acceleration_scaling", value=1.0),
        Parameter("gripper_time", value=0.2),
        Parameter("backend", value="embedded"),
    ]
    with rclpy.init():
        h = Harness(overrides)
        try:
            yield h
        finally:
            h.close()


def _top_grasp(x: float, y: float, z: float) -> Grasp:
    return Grasp(pose=make_transform(rot_x(np.pi), [x, y, z]), width=0.05, quality=0.9)


def test_pick_runs_to_done_and_returns_home(harness: Harness) -> None:
    res = harness.start_pick([_top_grasp(0.5, 0.0, 0.03)])
    assert res.success, res.message
    done = harness.wait_state(("done", "failed", "stopped"))
    assert "done" in done.message, done.message
    assert len(harness.ctrl.arm_msgs) == 6  # pregrasp, approach, lift, place, retreat, home
    time.sleep(0.5)  # "done" comes within goal_tolerance; the controller then settles
    np.testing.assert_allclose(harness.ctrl.current(), HOME, atol=1e-3)
    # the lift really went up 10 cm from the grasp
    lift = harness.ctrl.arm_msgs[2]
    assert len(lift.points) > 2


def test_stop_mid_motion_halts_the_arm(harness: Harness) -> None:
    res = harness.start_pick([_top_grasp(0.5, 0.1, 0.03)])
    assert res.success, res.message
    harness.wait_state(("pregrasp",), timeout=20)
    time.sleep(0.3)
    stop = harness.call(harness.stop)
    assert stop.success
    harness.wait_state(("stopped",), timeout=10)
    time.sleep(0.2)
    q1 = harness.ctrl.current().copy()
    time.sleep(1.0)
    np.testing.assert_allclose(harness.ctrl.current(), q1, atol=1e-9)
    assert not np.allclose(q1, HOME, atol=1e-3)  # it had moved, then halted


def test_unreachable_candidates_produce_no_motion(harness: Harness) -> None:
    res = harness.start_pick([_top_grasp(1.4, 0.0, 0.05), _top_grasp(0.5, 0.0, -0.2)])
    assert res.success, res.message
    failed = harness.wait_state(("failed", "done"))
    assert "no feasible grasp" in failed.message
    assert harness.ctrl.arm_msgs == []


def test_malformed_candidates_are_dropped_without_motion(harness: Harness) -> None:
    bad = msgs.points_to_pointcloud2(np.zeros((3, 3)), "panda_link0")  # no grasp fields
    for _ in range(5):
        harness.cand_pub.publish(bad)
        time.sleep(0.1)
    res = harness.call(harness.pick)
    assert not res.success and "candidates" in res.message
    assert harness.ctrl.arm_msgs == []
