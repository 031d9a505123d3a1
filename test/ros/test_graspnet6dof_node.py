"""The grasp detector node running the 6-DOF GraspNet (``model:=graspnet6dof``) over real
ROS 2 topics: sim camera topics + the object's points of one held-out object in, and
/grasp_candidates out whose grasps hold the object in physics trials."""

from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from camera_harness import detector_overrides  # noqa: E402
from log_recorder import LogRecorder  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2  # noqa: E402
from spinning import Spinner  # noqa: E402

from grasp_bringup import msgs  # noqa: E402
from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS  # noqa: E402
from grasp_core import depth_m_to_mm  # noqa: E402
from grasp_core.se3 import invert  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.timeout(300)]

COLOR = "/camera/camera/color/image_raw"
DEPTH = "/camera/camera/aligned_depth_to_color/image_raw"
INFO = "/camera/camera/color/camera_info"
POINTS = "/perception/object_points"


@pytest.fixture(scope="module")
def scene():
    """A held-out graspable object on the table: overhead frame, its points, its pose."""
    from grasp_sim.objects import object_set
    from grasp_sim.world import SimWorld

    obj = next(
        o
        for o in object_set("test", seed=0, count=40)
        if o.kind in ("capsule", "cylinder", "box") and min(o.half_extents[:2]) * 2 < 0.06
    )
    with SimWorld([obj], seed=3, depth_noise=True) as world:
        frame = world.render("overhead")
        seg = world.render_segmentation("overhead")
        pose = world.object_pose(obj.name)
    pts = frame.camera.depth_to_points(frame.depth, frame="base")
    mask = (seg == 0) & np.isfinite(pts).all(axis=-1)
    return frame, pts[mask], pose, obj


CLOUD = [("x", "f4"), ("y", "f4"), ("z", "f4"), ("label", "i4")]


def _skip_without_shipped_weights() -> None:
    from grasp_models.graspnet6dof.inference import EVALUATOR_FILE, SAMPLER_FILE
    from grasp_models.registry import WEIGHTS_DIR

    if not ((WEIGHTS_DIR / SAMPLER_FILE).is_file() and (WEIGHTS_DIR / EVALUATOR_FILE).is_file()):
        pytest.skip("no shipped graspnet6dof weights")


class _Peer:
    """Plays the camera and perception for the detector (a frame and an object cloud of
    one stamp) and records /grasp_candidates."""

    def __init__(self, name: str, frame) -> None:
        self.node = rclpy.create_node(name)
        self.frame = frame
        self.got: list[PointCloud2] = []
        self.pubs = {
            "color": self.node.create_publisher(Image, COLOR, SENSOR_QOS),
            "depth": self.node.create_publisher(Image, DEPTH, SENSOR_QOS),
            "info": self.node.create_publisher(CameraInfo, INFO, SENSOR_QOS),
            "points": self.node.create_publisher(PointCloud2, POINTS, SENSOR_QOS),
        }
        self.node.create_subscription(
            PointCloud2, "/grasp_candidates", self.got.append, RELIABLE_QOS
        )

    def send(self, cloud: np.ndarray, stamp: float) -> None:
        frame, fid, pubs = self.frame, self.frame.frame_id, self.pubs
        pubs["points"].publish(msgs.array_to_pointcloud2(cloud, "panda_link0", stamp))
        pubs["info"].publish(msgs.model_to_camera_info(frame.camera, stamp))
        time.sleep(0.05)
        pubs["color"].publish(msgs.numpy_to_image(frame.color, "rgb8", stamp, fid))
        pubs["depth"].publish(msgs.numpy_to_image(depth_m_to_mm(frame.depth), "16UC1", stamp, fid))


def test_node_publishes_6dof_grasps_that_hold_the_object(ros_domain, scene) -> None:
    from grasp_models.node import GraspDetectorNode
    from grasp_sim.trial import run_grasp_trials

    _skip_without_shipped_weights()
    frame, points, T_base_object, obj = scene
    assert len(points) > 50
    overrides = detector_overrides(frame, "graspnet6dof", period=0.1, max_grasps=10)
    stamp = 2.0
    cloud = np.zeros(len(points), dtype=CLOUD)
    cloud["x"], cloud["y"], cloud["z"] = points.T
    with rclpy.init():
        node = GraspDetectorNode(parameter_overrides=overrides)
        peer = _Peer("graspnet6dof_test_peer", frame)
        spinner = Spinner(node, peer.node)
        try:
            deadline = time.monotonic() + 200
            msg = None
            while msg is None and time.monotonic() < deadline:
                peer.send(cloud, stamp)
                t_end = time.monotonic() + 1.0
                while msg is None and time.monotonic() < t_end:
                    msg = next((m for m in peer.got if len(m.data)), None)
                    time.sleep(0.05)
        finally:
            spinner.close()

    assert msg is not None, "no non-empty /grasp_candidates within 200 s"
    grasps, rejected = msgs.pointcloud2_to_grasps(msg)
    assert not rejected and msg.header.frame_id == "panda_link0"
    assert 1 <= len(grasps) <= 10
    assert [g.quality for g in grasps] == sorted((g.quality for g in grasps), reverse=True)
    # near the object, and they hold it in the simulator (object resting on the table)
    centre = T_base_object[:3, 3]
    assert np.linalg.norm(grasps[0].position - centre) < np.linalg.norm(obj.half_extents) + 0.03
    T_object = np.stack([invert(T_base_object) @ g.pose for g in grasps[:3]])
    results = run_grasp_trials(obj, T_object, seed=0, on_table=True)
    assert sum(r.success for r in results) >= 1, [r.to_dict() for r in results]


def test_an_empty_object_cloud_gets_an_empty_answer_not_a_warning(ros_domain, scene) -> None:
    """A cleared table: the node logged "detection failed" as a WARN every 5 s and
    published nothing, so a listener could not tell "no grasps" from "no answer"."""
    from grasp_models.node import GraspDetectorNode

    _skip_without_shipped_weights()
    frame, _, _, _ = scene
    overrides = detector_overrides(frame, "graspnet6dof", period=0.1, max_grasps=10)
    empty = np.zeros(0, dtype=CLOUD)
    with rclpy.init():
        node = GraspDetectorNode(parameter_overrides=overrides)
        log = node._warn._logger = LogRecorder(node._warn._logger)
        peer = _Peer("graspnet6dof_empty_peer", frame)
        got = peer.got
        spinner = Spinner(node, peer.node)
        try:
            deadline = time.monotonic() + 30
            while not got and time.monotonic() < deadline:
                peer.send(empty, 5.0)
                time.sleep(0.15)
        finally:
            spinner.close()
    assert got, "no /grasp_candidates for an empty object cloud within 30 s"
    assert got[0].width == 0 and msgs.stamp_to_sec(got[0].header.stamp) == 5.0
    assert log.levels("no object") == ["info"] and "warning" not in log.levels(), log.lines
