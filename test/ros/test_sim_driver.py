"""The sim driver node over real ROS 2 topics: clock, joint states, camera, trajectories."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from builtin_interfaces.msg import Duration  # noqa: E402
from geometry_msgs.msg import PoseArray  # noqa: E402
from log_recorder import LogRecorder  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, JointState, PointCloud2  # noqa: E402
from spinning import Spinner  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint  # noqa: E402

from grasp_bringup import msgs  # noqa: E402
from grasp_bringup.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS  # noqa: E402

pytestmark = pytest.mark.ros

ARM = [f"panda_joint{i}" for i in range(1, 8)]
HOME = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
GOAL = HOME + np.array([0.3, 0.2, -0.2, 0.3, 0.2, -0.2, 0.4])
NS = "/camera/camera"


class Peer:
    """The node under test and a peer recording what it publishes, spun in a thread."""

    def __init__(self, node) -> None:
        self.node = node
        self.peer = rclpy.create_node("sim_driver_test_peer")
        self.last: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        for key, typ, topic, qos in (
            ("clock", Clock, "/clock", RELIABLE_QOS),
            ("joints", JointState, "/joint_states", RELIABLE_QOS),
            ("color", Image, f"{NS}/color/image_raw", SENSOR_QOS),
            ("depth", Image, f"{NS}/aligned_depth_to_color/image_raw", SENSOR_QOS),
            ("info", CameraInfo, f"{NS}/color/camera_info", SENSOR_QOS),
            ("poses", PoseArray, "/sim/object_poses", RELIABLE_QOS),
            ("names", String, "/sim/object_names", LATCHED_QOS),
            ("points", PointCloud2, f"{NS}/depth/color/points", SENSOR_QOS),
        ):
            self.peer.create_subscription(typ, topic, lambda m, k=key: self._keep(k, m), qos)
        self.arm_pub = self.peer.create_publisher(
            JointTrajectory, "/panda_arm_controller/joint_trajectory", RELIABLE_QOS
        )
        self.hand_pub = self.peer.create_publisher(
            JointTrajectory, "/panda_hand_controller/joint_trajectory", RELIABLE_QOS
        )
        self.reset = self.peer.create_client(Trigger, "/sim/reset")
        self.spinner = Spinner(node, self.peer)

    def _keep(self, key: str, msg) -> None:
        self.last[key] = msg
        self.counts[key] = self.counts.get(key, 0) + 1

    def wait(self, cond, timeout: float = 30.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def arm_q(self) -> np.ndarray:
        js = self.last["joints"]
        return np.array([js.position[js.name.index(n)] for n in ARM])

    def send_arm(self, names, points) -> None:
        self.wait(lambda: self.arm_pub.get_subscription_count() > 0, what="arm subscriber")
        msg = JointTrajectory(joint_names=list(names))
        for t, q in points:
            sec = int(t)
            msg.points.append(
                JointTrajectoryPoint(
                    positions=[float(x) for x in q],
                    time_from_start=Duration(sec=sec, nanosec=int((t - sec) * 1e9)),
                )
            )
        self.arm_pub.publish(msg)

    def close(self) -> None:
        self.spinner.close()


@pytest.fixture
def peer(ros_domain):
    from grasp_sim.node import SimDriverNode

    overrides = [
        Parameter("real_time_factor", value=2.0),
        Parameter("object_count", value=2),
        Parameter("camera_rate", value=10.0),
        Parameter("log_throttle", value=0.0),
        Parameter("publish_pointcloud", value=True),
    ]
    with rclpy.init():
        p = Peer(SimDriverNode(parameter_overrides=overrides))
        try:
            yield p
        finally:
            p.close()


def test_driver_publishes_clock_joint_states_camera_and_poses(peer):
    peer.wait(
        lambda: all(
            k in peer.last for k in ("color", "depth", "info", "joints", "clock", "poses", "names")
        ),
        what="all topics",
    )
    js = peer.last["joints"]
    assert list(js.name) == [*ARM, "panda_finger_joint1", "panda_finger_joint2"]
    assert np.allclose(peer.arm_q(), HOME, atol=5e-3)
    assert js.position[7] == pytest.approx(0.04, abs=2e-3)
    color, depth, info = peer.last["color"], peer.last["depth"], peer.last["info"]
    assert (color.encoding, color.width, color.height) == ("rgb8", 640, 480)
    assert (depth.encoding, depth.width, depth.height) == ("16UC1", 640, 480)
    assert color.header.frame_id == depth.header.frame_id == "camera_color_optical_frame"
    assert info.k[0] == pytest.approx(615.0) and info.k[4] == pytest.approx(615.0)
    # stamps are simulated time and advance
    t_color = msgs.stamp_to_sec(color.header.stamp)
    peer.wait(
        lambda: msgs.stamp_to_sec(peer.last["color"].header.stamp) > t_color, what="newer image"
    )
    assert msgs.stamp_to_sec(peer.last["clock"].clock) >= t_color
    d = msgs.depth_msg_to_m(peer.last["depth"])
    assert abs(float(np.median(d[d > 0])) - 0.8) < 0.02  # the table, 0.8 m below the camera
    names = json.loads(peer.last["names"].data)
    assert len(names) == len(peer.last["poses"].poses) == 2
    assert peer.last["poses"].header.frame_id == "panda_link0"
    peer.wait(lambda: "points" in peer.last, what="point cloud")
    xyz = msgs.pointcloud2_to_xyz(peer.last["points"])
    assert peer.last["points"].header.frame_id == "camera_color_optical_frame"
    assert len(xyz) > 10000 and abs(float(np.median(xyz[:, 2])) - 0.8) < 0.02


def test_trajectory_moves_the_arm_to_its_goal_and_malformed_one_does_not(peer):
    peer.wait(lambda: "joints" in peer.last, what="joint states")
    # malformed: a joint missing -> rejected, the arm holds still
    peer.send_arm(ARM[:6], [(1.0, GOAL[:6])])
    peer.wait(lambda: peer.node.rejected >= 1, what="rejection")
    # malformed: out of limits
    bad = GOAL.copy()
    bad[3] = 0.5  # panda_joint4 must be < -0.0698
    peer.send_arm(ARM, [(1.0, bad)])
    peer.wait(lambda: peer.node.rejected >= 2, what="second rejection")
    t0 = msgs.stamp_to_sec(peer.last["joints"].header.stamp)
    peer.wait(lambda: msgs.stamp_to_sec(peer.last["joints"].header.stamp) > t0 + 0.5, what="time")
    assert np.allclose(peer.arm_q(), HOME, atol=5e-3)
    # well-formed, in a shuffled joint order: reaches its goal
    order = [ARM[i] for i in (3, 0, 6, 1, 5, 2, 4)]
    idx = [ARM.index(n) for n in order]
    peer.send_arm(order, [(0.5, ((HOME + GOAL) / 2)[idx]), (1.5, GOAL[idx])])
    peer.wait(lambda: np.allclose(peer.arm_q(), GOAL, atol=0.01), timeout=30, what="goal")
    # the gripper closes to 2 cm
    msg = JointTrajectory(joint_names=["panda_finger_joint1"])
    msg.points.append(JointTrajectoryPoint(positions=[0.01], time_from_start=Duration(sec=1)))
    peer.hand_pub.publish(msg)

    def width():
        js = peer.last["joints"]
        return js.position[7] + js.position[8]

    peer.wait(lambda: abs(width() - 0.02) < 0.002, what="gripper at 2 cm")


def test_reset_service_sends_the_arm_home(peer):
    peer.wait(lambda: "joints" in peer.last, what="joint states")
    peer.send_arm(ARM, [(0.5, GOAL)])
    peer.wait(lambda: np.allclose(peer.arm_q(), GOAL, atol=0.02), what="goal")
    assert peer.reset.wait_for_service(timeout_sec=10)
    future = peer.reset.call_async(Trigger.Request())
    peer.wait(future.done, what="reset response")
    assert future.result().success and "seed 1" in future.result().message
    peer.wait(lambda: np.allclose(peer.arm_q(), HOME, atol=5e-3), what="home after reset")


def test_a_context_shut_down_under_the_physics_thread_ends_it_without_an_error(ros_domain):
    """Ctrl-C on `grasp launch`: rclpy's signal handler shuts the rcl context down before
    the nodes are destroyed, and the physics thread's next publish raised; it logged
    "physics thread stopped: RCLError" as an ERROR at every stop."""
    from grasp_sim.node import SimDriverNode

    context = rclpy.Context()
    rclpy.init(context=context)
    overrides = [Parameter("object_count", value=0), Parameter("camera_rate", value=30.0)]
    node = SimDriverNode(parameter_overrides=overrides, context=context)
    log = LogRecorder(node.get_logger())
    node.get_logger = lambda: log  # the physics thread's error line goes here
    time.sleep(0.5)
    assert node._thread.is_alive()
    # as rclpy's SIGINT handler does: the rcl context goes, the Python nodes stay
    context.handle.shutdown()
    node._thread.join(timeout=5.0)
    assert not node._thread.is_alive() and "error" not in log.levels(), log.lines
    node.destroy_node()
    context.try_shutdown()
