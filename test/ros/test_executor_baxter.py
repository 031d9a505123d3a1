"""The executor node as the baxter_grasp graph starts it (robot baxter, Baxter's cell in
frame ``base``) over real ROS 2 topics: a grasp array in ``base`` is accepted and planned
(the left arm's controller receives the pre-grasp motion); one in ``panda_link0`` is
rejected as an unknown frame; the Panda's cell stops the node at start-up. Light: the peer
publishes a static /joint_states and never follows the trajectory (no Baxter sim)."""

from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402
from executor_client import call_trigger, start_pick  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import JointState, PointCloud2  # noqa: E402
from spinning import Spinner  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

from grasp_bringup import msgs  # noqa: E402
from grasp_bringup.graph import load_graph  # noqa: E402
from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS  # noqa: E402
from grasp_core.cell import CellConfigError  # noqa: E402
from grasp_core.grasp import Grasp  # noqa: E402
from grasp_core.se3 import make_transform, rot_x  # noqa: E402
from grasp_planning.robot import load_robot  # noqa: E402

pytestmark = pytest.mark.ros

GROUP = load_robot("baxter").group("left_arm")
ARM_TOPIC = GROUP.arm_controller_topic


def _graph_executor_params() -> list[Parameter]:
    """robot and cell_layout exactly as config/graphs/baxter_grasp.yaml sets them."""
    spec = next(n for n in load_graph("baxter_grasp").nodes if n.name == "executor")
    return [Parameter(k, value=spec.parameters[k]) for k in ("robot", "cell_layout")]


class Peer:
    """Static Baxter joint states; records arm commands and executor status."""

    def __init__(self) -> None:
        self.node = rclpy.create_node("executor_baxter_test_peer")
        self.arm_msgs: list[JointTrajectory] = []
        self.status: list[DiagnosticStatus] = []
        self.node.create_subscription(JointTrajectory, ARM_TOPIC, self.arm_msgs.append, 10)
        # the hand controller is listening too (the executor refuses a deaf hand)
        self.hand_msgs: list[JointTrajectory] = []
        hand_topic = GROUP.gripper.controller_topic
        self.node.create_subscription(JointTrajectory, hand_topic, self.hand_msgs.append, 10)
        self.node.create_subscription(
            DiagnosticStatus, "/executor/status", self.status.append, RELIABLE_QOS
        )
        self.js_pub = self.node.create_publisher(JointState, "/joint_states", SENSOR_QOS)
        self.cand_pub = self.node.create_publisher(PointCloud2, "/grasp_candidates", RELIABLE_QOS)
        self.pick = self.node.create_client(Trigger, "/executor/pick")
        self.stop = self.node.create_client(Trigger, "/executor/stop")
        self.node.create_timer(0.05, self._publish_joints)

    def _publish_joints(self) -> None:
        msg = JointState()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.name = [*GROUP.joints, *GROUP.gripper.joints]
        opened = [w * GROUP.gripper.max_width for w in GROUP.gripper.width_to_joint]
        msg.position = [*GROUP.home, *opened]
        self.js_pub.publish(msg)

    def call(self, client, timeout: float = 10.0) -> Trigger.Response:
        return call_trigger(client, timeout)

    def start_pick(self, grasps: list[Grasp], frame: str, timeout: float = 15.0):
        publish = lambda: self.cand_pub.publish(msgs.grasps_to_pointcloud2(grasps, frame))  # noqa: E731
        return start_pick(publish, self.pick, timeout)

    def wait_status(self, words: tuple[str, ...], timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in list(self.status):
                if any(w in s.message for w in words):
                    return s.message
            time.sleep(0.02)
        raise AssertionError(
            f"no status with {words}; last: {[s.message for s in self.status][-5:]}"
        )


@pytest.fixture
def running(ros_domain):
    from grasp_planning.node import ExecutorNode

    overrides = [
        *_graph_executor_params(),
        Parameter("backend", value="embedded"),
        Parameter("use_object_points", value=False),  # no perception in these tests
    ]
    with rclpy.init():
        node = ExecutorNode(parameter_overrides=overrides)
        peer = Peer()
        spinner = Spinner(node, peer.node)
        try:
            assert peer.pick.wait_for_service(10.0) and peer.stop.wait_for_service(10.0)
            yield node, peer
        finally:
            peer.call(peer.stop)
            spinner.close()


def _grasp(node) -> Grasp:
    """Top-down grasp 2 cm above the table at the cell's workspace centre."""
    lay = node.layout
    x, y = np.mean(lay.workspace_x), np.mean(lay.workspace_y)
    return Grasp(
        pose=make_transform(rot_x(np.pi), [x, y, lay.table_top_z + 0.02]),
        width=0.03,
        quality=0.9,
        frame_id="base",
    )


def test_grasps_in_base_are_planned_for_the_left_arm(running) -> None:
    node, peer = running
    assert node.layout.frame == "base" and node.robot.config.base_frame == "base"
    res = peer.start_pick([_grasp(node)], "base")
    assert res.success, res.message
    peer.wait_status(("pregrasp",))  # the grasp passed the filter and was planned
    deadline = time.monotonic() + 10
    while not peer.arm_msgs and time.monotonic() < deadline:
        time.sleep(0.02)
    assert peer.arm_msgs, f"nothing on {ARM_TOPIC}"
    assert list(peer.arm_msgs[0].joint_names) == list(GROUP.joints)
    assert not [s.message for s in peer.status if "unknown frame" in s.message]


def test_grasps_in_the_panda_frame_are_rejected(running) -> None:
    node, peer = running
    g = _grasp(node)
    wrong = Grasp(pose=g.pose, width=g.width, quality=g.quality, frame_id="panda_link0")
    res = peer.start_pick([wrong], "panda_link0")
    assert res.success, res.message
    text = peer.wait_status(("no feasible grasp",))
    assert "unknown frame 'panda_link0'" in text
    assert peer.arm_msgs == []


def test_the_panda_cell_stops_a_baxter_executor_at_start_up(ros_domain) -> None:
    from grasp_planning.node import ExecutorNode

    with rclpy.init():
        with pytest.raises(CellConfigError, match="panda_table.yaml.*'panda_link0'.*'base'"):
            ExecutorNode(parameter_overrides=[Parameter("robot", value="baxter")])
