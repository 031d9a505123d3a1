"""The grasp detector node over real ROS 2 topics, fed the simulator's overhead camera.

A held-out (test-split) object is rendered on the table; colour, aligned depth (16UC1
mm) and camera_info go out on the realsense topic names, and the node's
/grasp_candidates must lie on the object (sim ground truth). Bad input is then dropped
without stopping the node.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from builtin_interfaces.msg import Time  # noqa: E402
from camera_harness import CameraHarness, detector_overrides  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image, PointCloud2  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from grasp_bringup import msgs  # noqa: E402
from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.timeout(180)]

COLOR = "/camera/camera/color/image_raw"
DEPTH = "/camera/camera/aligned_depth_to_color/image_raw"
INFO = "/camera/camera/color/camera_info"


@pytest.fixture(scope="module")
def sim_scene():
    """One small held-out object at rest, its overhead frame and ground-truth pose."""
    from grasp_sim.objects import object_set
    from grasp_sim.world import SimWorld

    objs = [
        o
        for o in object_set("test", seed=0, count=40)
        if o.kind in ("sphere", "capsule", "box")
        and max(o.half_extents) * 2 < 0.07
        and min(o.half_extents) * 2 < 0.05
    ]
    obj = objs[0]
    with SimWorld([obj], seed=3, depth_noise=True) as world:
        frame = world.render("overhead")
        pose = world.object_pose(obj.name)
    return frame, pose, obj


@pytest.fixture(params=["ggcnn", "vqvae_ggcnn"])
def harness(request, ros_domain, sim_scene):
    from grasp_models.planar.inference import shipped_weights

    if not shipped_weights(request.param).is_file():
        pytest.skip(f"no shipped weights for {request.param}")
    frame, _, _ = sim_scene
    overrides = detector_overrides(frame, request.param, period=0.05, max_grasps=5)
    with rclpy.init():
        from grasp_models.node import GraspDetectorNode

        h = CameraHarness(
            GraspDetectorNode(parameter_overrides=overrides),
            {
                "grasps": (PointCloud2, "/grasp_candidates", RELIABLE_QOS),
                "markers": (MarkerArray, "/grasp_markers", RELIABLE_QOS),
                "quality": (Image, "/grasp_detector/quality_image", SENSOR_QOS),
            },
            "grasp_detector_test_peer",
        )
        try:
            yield h
        finally:
            h.close()


def test_the_node_declares_exactly_the_parameters_its_help_lists(harness) -> None:
    """``grasp_detector --help`` left out the camera-mount parameters a helper declares."""
    from grasp_bringup.node_utils import RCLPY_PARAMETERS, declared_param_specs
    from grasp_models.node import GraspDetectorNode

    declared = set(harness.node.list_parameters([], 0).names) - RCLPY_PARAMETERS
    assert declared == {s.name for s in declared_param_specs(GraspDetectorNode)}


def test_grasps_lie_on_the_object_and_bad_input_is_dropped(harness, sim_scene) -> None:
    frame, T_base_object, obj = sim_scene
    stamp = 3.5
    msg = harness.wait_for("grasps", stamp, lambda: harness.publish(frame, stamp))
    grasps, rejected = msgs.pointcloud2_to_grasps(msg)
    assert not rejected and msg.header.frame_id == "panda_link0"
    assert 1 <= len(grasps) <= 5
    best = grasps[0]
    centre = T_base_object[:3, 3]
    footprint = float(np.hypot(*obj.half_extents[:2])) + 0.01
    assert np.hypot(*(best.position[:2] - centre[:2])) < footprint, (best.position, centre)
    top = centre[2] + float(np.max(obj.half_extents))
    assert -0.005 < best.position[2] < top + 0.01
    np.testing.assert_allclose(best.approach, [0.0, 0.0, -1.0], atol=1e-6)  # top-down
    assert 0.0 < best.width <= 0.15
    assert [g.quality for g in grasps] == sorted((g.quality for g in grasps), reverse=True)
    markers = harness.wait_for(
        "markers", stamp, lambda: None, timeout=5, header=lambda m: m.markers[0].header
    )
    assert len(markers.markers) == len(grasps) + 1  # DELETEALL, then one per grasp
    quality = harness.wait_for("quality", stamp, lambda: None, timeout=5)
    assert (quality.height, quality.width, quality.encoding) == (480, 640, "rgb8")
    # A depth image of the wrong size is dropped; the next good frame still works.
    bad = msgs.numpy_to_image(np.zeros((10, 10), np.uint16), "16UC1", 4.0, frame.frame_id)
    harness.publish(frame, 4.0, depth_msg=bad)
    time.sleep(0.5)
    assert not any(
        abs(msgs.stamp_to_sec(m.header.stamp) - 4.0) < 1e-6 for m in harness.received["grasps"]
    )
    # a robot's epoch stamp comes back bit for bit (through a float it was ~100 ns off)
    epoch = Time(sec=1718905397, nanosec=948036823)
    t = msgs.stamp_to_sec(epoch)
    msg = harness.wait_for("grasps", t, lambda: harness.publish(frame, epoch))
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1718905397, 948036823)


def test_the_mount_comes_from_the_cell_file_and_a_second_disagreeing_one_is_refused(
    ros_domain, tmp_path
) -> None:
    """``cell_layout`` + ``cell_camera``: the detector's mount is that camera of the file;
    explicit camera_position / camera_orientation that disagree stop it at start, naming
    both; a camera the file lacks stops it naming the file and the key."""
    import yaml

    from grasp_core.cell import CellConfigError
    from grasp_core.paths import config_path
    from grasp_models.node import GraspDetectorNode

    data = yaml.safe_load(config_path("sim", "panda_table.yaml").read_text())
    data["cameras"]["d435"] = data["cameras"].pop("overhead")
    data["cameras"]["d435"]["eye"][0] += 0.04
    data["cameras"]["d435"]["target"][0] += 0.04
    data["workspace"] = {"x": [0.40, 0.70], "y": [-0.25, 0.15]}  # the crop centre follows
    cell = tmp_path / "my_cell.yaml"
    cell.write_text(yaml.safe_dump(data))
    from_cell = [Parameter("cell_layout", value=str(cell)), Parameter("cell_camera", value="d435")]
    with rclpy.init():
        node = GraspDetectorNode(parameter_overrides=from_cell)
        try:
            np.testing.assert_allclose(node.camera.extrinsic[:3, 3], [0.54, 0.0, 0.8])
            np.testing.assert_allclose(node.model.workspace_center_base, [0.55, -0.05, 0.0])
            np.testing.assert_allclose(
                node.get_parameter("workspace_center").value, [0.55, -0.05, 0.0]
            )
        finally:
            node.destroy_node()
        # an explicit workspace_center wins (a choice of where the model looks)
        given = [*from_cell, Parameter("workspace_center", value=[0.5, 0.1, 0.0])]
        node = GraspDetectorNode(parameter_overrides=given)
        try:
            np.testing.assert_allclose(node.model.workspace_center_base, [0.5, 0.1, 0.0])
        finally:
            node.destroy_node()
        both = [
            *from_cell,
            Parameter("camera_position", value=[0.5, 0.0, 0.8]),
            Parameter("camera_orientation", value=[0.7071068, -0.7071068, 0.0, 0.0]),
        ]
        with pytest.raises(CellConfigError, match=r"camera_position.*my_cell\.yaml"):
            GraspDetectorNode(parameter_overrides=both)
        with pytest.raises(CellConfigError, match=r"my_cell\.yaml: cameras\.overhead: no such"):
            GraspDetectorNode(parameter_overrides=[Parameter("cell_layout", value=str(cell))])


def test_a_tilted_cell_camera_gives_top_down_grasps_on_the_object(ros_domain, tmp_path) -> None:
    """The cell's camera on a tripod across the table, 34° from straight down: the node
    (planar_view auto) re-renders each frame from above, so its grasps approach vertically
    and lie on the object; planar_view camera keeps the tilted approach; an unknown view
    stops the node at start, naming the parameter."""
    import yaml

    from grasp_core import ValidationError
    from grasp_core.paths import config_path
    from grasp_models.node import GraspDetectorNode
    from grasp_sim.objects import object_set
    from grasp_sim.world import SimWorld

    data = yaml.safe_load(config_path("sim", "panda_table.yaml").read_text())
    data["cameras"]["overhead"].update(eye=[1.0, 0.0, 0.75], up=[0.0, 0.0, 1.0])
    cell = tmp_path / "tripod_cell.yaml"
    cell.write_text(yaml.safe_dump(data))
    obj = next(
        o
        for o in object_set("test", seed=0, count=40)
        if o.kind == "box" and max(o.half_extents) * 2 < 0.07 and min(o.half_extents) * 2 < 0.05
    )
    with SimWorld([obj], seed=3, depth_noise=True, layout=cell) as world:
        frame = world.render("overhead")
        centre = world.object_pose(obj.name)[:3, 3]
    tilt = np.degrees(np.arccos(-frame.camera.T_base_camera[2, 2]))
    assert 33 < tilt < 35
    outputs = {"grasps": (PointCloud2, "/grasp_candidates", RELIABLE_QOS)}
    base = [
        Parameter("cell_layout", value=str(cell)),
        Parameter("period", value=0.05),
        Parameter("max_grasps", value=5),
    ]
    approaches = {}
    with rclpy.init():
        for view in ("auto", "camera"):
            node = GraspDetectorNode(
                parameter_overrides=[*base, Parameter("planar_view", value=view)]
            )
            h = CameraHarness(node, outputs, f"tilted_peer_{view}")
            try:
                msg = h.wait_for("grasps", 1.5, lambda h=h: h.publish(frame, 1.5))
            finally:
                h.close()
            grasps, _ = msgs.pointcloud2_to_grasps(msg)
            approaches[view] = grasps[0].approach
            if view == "auto":
                footprint = float(np.hypot(*obj.half_extents[:2])) + 0.01
                assert np.hypot(*(grasps[0].position[:2] - centre[:2])) < footprint
                assert -0.005 < grasps[0].position[2] < centre[2] + max(obj.half_extents) + 0.01
        np.testing.assert_allclose(approaches["auto"], [0.0, 0.0, -1.0], atol=1e-6)
        np.testing.assert_allclose(
            approaches["camera"], frame.camera.T_base_camera[:3, 2], atol=1e-6
        )
        with pytest.raises(ValidationError, match="planar_view.*sideways"):
            GraspDetectorNode(
                parameter_overrides=[*base, Parameter("planar_view", value="sideways")]
            )


def test_a_wrist_camera_is_placed_from_the_joint_states_of_each_frame(ros_domain) -> None:
    """``cell_camera: wrist`` (on panda_hand in the sim cell): each frame is placed by
    forward kinematics at its own stamp. A frame rendered at home, stamped with the home
    joint state, gives grasps on the object although a newer joint state has the arm
    elsewhere; a frame with no joint state within joint_state_max_gap is dropped, named."""
    from sensor_msgs.msg import JointState

    from grasp_models.node import GraspDetectorNode
    from grasp_sim.objects import object_set
    from grasp_sim.world import SimWorld

    obj = next(
        o
        for o in object_set("test", seed=0, count=40)
        if o.kind == "box" and max(o.half_extents) * 2 < 0.07 and min(o.half_extents) * 2 < 0.05
    )
    with SimWorld([obj], seed=3, depth_noise=True) as world:
        frame = world.render("wrist")
        centre = world.object_pose(obj.name)[:3, 3]
        q_home = world.joint_positions()[:7]
        names = list(world.arm_joint_names)
    overrides = [
        Parameter("cell_camera", value="wrist"),
        Parameter("period", value=0.05),
        Parameter("max_grasps", value=5),
        Parameter("log_throttle", value=0.0),
    ]
    with rclpy.init():
        node = GraspDetectorNode(parameter_overrides=overrides)
        warnings: list[str] = []
        node._warn = lambda key, text: warnings.append(text) or True
        h = CameraHarness(
            node, {"grasps": (PointCloud2, "/grasp_candidates", RELIABLE_QOS)}, "wrist_peer"
        )
        joints = h.peer.create_publisher(JointState, "/joint_states", SENSOR_QOS)

        def send_joints(stamp: float, q: np.ndarray) -> None:
            msg = JointState(name=names, position=[float(v) for v in q])
            msg.header.stamp = msgs.sec_to_stamp(stamp)
            joints.publish(msg)

        try:
            assert node.camera.extrinsic is not None
            h.wait_for(  # discovery: until a joint state has arrived at the node
                "grasps",
                2.0,
                lambda: (send_joints(2.0, q_home), time.sleep(0.1), h.publish(frame, 2.0)),
            )
            send_joints(6.0, q_home)
            send_joints(6.5, q_home + np.array([0.4, 0.3, 0.0, 0.2, 0.0, 0.0, 0.0]))
            time.sleep(0.3)
            msg = h.wait_for("grasps", 6.0, lambda: h.publish(frame, 6.0))
            grasps, _ = msgs.pointcloud2_to_grasps(msg)
            footprint = float(np.hypot(*obj.half_extents[:2])) + 0.01
            assert np.hypot(*(grasps[0].position[:2] - centre[:2])) < footprint
            h.publish(frame, 9.0)  # 2.5 s after the newest joint state
            time.sleep(1.0)
            assert not any(
                abs(msgs.stamp_to_sec(m.header.stamp) - 9.0) < 1e-6 for m in h.received["grasps"]
            )
            assert any(
                "no joint state within 0.050 s of the frame at 9.000 s" in w for w in warnings
            )
        finally:
            h.close()


def test_no_detections_while_the_executor_picks(ros_domain, sim_scene) -> None:
    """While /executor/status reports a pick in progress the detector drops its inputs
    and detects nothing; when the pick ends the next frame is detected. A pick status
    older than ``max_pause`` no longer pauses it (an executor that died mid-pick)."""
    from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

    from grasp_models.node import GraspDetectorNode

    frame, _, _ = sim_scene
    overrides = detector_overrides(frame, "ggcnn", max_grasps=5, max_pause=3.0)
    with rclpy.init():
        h = CameraHarness(
            GraspDetectorNode(parameter_overrides=overrides),
            {"grasps": (PointCloud2, "/grasp_candidates", RELIABLE_QOS)},
            "pause_test_peer",
        )
        status_pub = h.peer.create_publisher(DiagnosticStatus, "/executor/status", RELIABLE_QOS)

        def status(state: str) -> None:
            status_pub.publish(DiagnosticStatus(values=[KeyValue(key="state", value=state)]))

        def stamps() -> set[float]:
            return {round(msgs.stamp_to_sec(m.header.stamp), 6) for m in h.received["grasps"]}

        try:
            h.wait_for("grasps", 1.0, lambda: h.publish(frame, 1.0))  # detects when idle
            node = h.node
            deadline = time.monotonic() + 10.0
            while node._pick_status_ns is None and time.monotonic() < deadline:
                status("approach")  # re-sent until discovery has joined them
                time.sleep(0.1)
            assert node._pick_status_ns is not None, "the status never arrived"
            for k, t in enumerate((2.0, 2.5)):
                status("lift" if k else "approach")
                h.publish(frame, t)
                time.sleep(0.5)
            assert node.dropped_while_picking >= 2
            assert not stamps() & {2.0, 2.5}
            status("done")
            h.wait_for("grasps", 3.0, lambda: h.publish(frame, 3.0))
            # a pick status with nothing after it for max_pause (3 s) stops pausing
            status("close")
            time.sleep(0.5)
            h.publish(frame, 4.0)
            time.sleep(0.5)
            assert 4.0 not in stamps()
            time.sleep(2.5)
            h.wait_for("grasps", 5.0, lambda: h.publish(frame, 5.0))
        finally:
            h.close()
