"""The perception node over real ROS 2 topics, fed the simulator's overhead camera.

Sim-rendered colour (rgb8), aligned depth (16UC1 mm, as realsense2_camera) and
camera_info are published on the realsense topic names; the node's object clouds are
checked against the sim's ground-truth object poses, then bad input is fed. The camera
stands 5 cm off the default mount, in a cell file the node is given (``cell_layout``):
the clouds land on the objects only if the node takes its mount from that file.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from builtin_interfaces.msg import Time  # noqa: E402
from camera_harness import CameraHarness  # noqa: E402
from log_recorder import LogRecorder  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2  # noqa: E402
from spinning import Spinner  # noqa: E402

from grasp_bringup import msgs  # noqa: E402
from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS  # noqa: E402
from grasp_core import depth_m_to_mm  # noqa: E402
from grasp_perception.sources.base import COLOR_TOPIC, DEPTH_TOPIC, INFO_TOPIC  # noqa: E402

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def cell_file(tmp_path_factory):
    """The sim cell with its overhead camera (eye and target) moved 5 cm in +y."""
    import yaml

    from grasp_core.paths import config_path

    data = yaml.safe_load(config_path("sim", "panda_table.yaml").read_text())
    for key in ("eye", "target"):
        data["cameras"]["overhead"][key][1] += 0.05
    path = tmp_path_factory.mktemp("cell") / "moved_camera.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def sim_scene(cell_file):
    """Three test-split objects at rest, one overhead frame and the ground truth."""
    from grasp_sim.objects import object_set
    from grasp_sim.world import SimWorld

    objects = object_set("test", seed=0, count=3)
    with SimWorld(objects, seed=7, depth_noise=True, layout=cell_file) as world:
        frame = world.render("overhead")
        poses = world.object_poses()
        specs = {o.name: o for o in world.objects}
    return frame, poses, specs


@pytest.fixture
def harness(ros_domain, sim_scene, cell_file):
    from grasp_perception.node import PerceptionNode

    frame, _, _ = sim_scene
    np.testing.assert_allclose(frame.camera.T_base_camera[:3, 3], [0.5, 0.05, 0.8])
    overrides = [
        Parameter("cell_layout", value=str(cell_file)),
        Parameter("log_throttle", value=0.0),
    ]
    with rclpy.init():
        h = CameraHarness(
            PerceptionNode(parameter_overrides=overrides),
            {
                "depth": (Image, "/perception/depth", RELIABLE_QOS),
                "scene": (PointCloud2, "/perception/scene_points", RELIABLE_QOS),
                "objects": (PointCloud2, "/perception/object_points", RELIABLE_QOS),
            },
            "perception_test_peer",
        )
        try:
            yield h
        finally:
            h.close()


def test_object_clouds_match_sim_ground_truth(harness, sim_scene) -> None:
    frame, poses, specs = sim_scene
    stamp = 12.25
    objects = harness.wait_for("objects", stamp, lambda: harness.publish(frame, stamp))
    arr = msgs.pointcloud2_to_array(objects)
    assert objects.header.frame_id == "panda_link0"
    assert arr.dtype.names == ("x", "y", "z", "label") and arr["label"].dtype == np.uint32
    labels = np.unique(arr["label"])
    assert len(labels) == len(poses), f"{len(labels)} clusters for {len(poses)} objects"
    centroids = np.array(
        [[arr[c][arr["label"] == k].mean() for c in "xyz"] for k in labels], dtype=float
    )
    for name, T in poses.items():
        p = T[:3, 3]
        d_xy = np.linalg.norm(centroids[:, :2] - p[:2], axis=1)
        k = int(np.argmin(d_xy))
        # seen from above: the visible surface is centred on the object within 2 cm in x-y
        assert d_xy[k] < 0.02, (name, p, centroids)
        # its highest point lies between the object's centre and its bounding box top
        top = float(arr["z"][arr["label"] == labels[k]].max())
        bound = p[2] + np.abs(T[2, :3]) @ specs[name].half_extents
        assert p[2] - 0.005 < top <= bound + 0.01, (name, top, p, bound)
    # the cleaned depth: 32FC1 metres, same size, no holes; scene cloud without the table
    depth = harness.wait_for("depth", stamp, lambda: None)
    assert depth.encoding == "32FC1" and (depth.width, depth.height) == (640, 480)
    d = msgs.image_to_numpy(depth)
    assert np.all(d > 0) and abs(float(np.median(d)) - 0.8) < 0.02
    scene = msgs.pointcloud2_to_xyz(harness.wait_for("scene", stamp, lambda: None))
    assert len(scene) >= len(arr) and scene[:, 2].min() > 0.0005  # table removed
    assert harness.node.frames_processed >= 1


def test_outputs_carry_the_camera_stamp_bit_for_bit(harness, sim_scene) -> None:
    """An epoch stamp (a robot's clock) comes back exactly on every output: through a float
    of seconds it came back ~100 ns off, and an exact-time synchroniser never matched."""
    frame, _, _ = sim_scene
    epoch = Time(sec=1718905397, nanosec=948036823)
    t = msgs.stamp_to_sec(epoch)
    for key in ("objects", "depth", "scene"):
        m = harness.wait_for(key, t, lambda: harness.publish(frame, epoch))
        assert (m.header.stamp.sec, m.header.stamp.nanosec) == (1718905397, 948036823), key


def test_bad_input_gives_empty_clouds_and_node_survives(harness, sim_scene) -> None:
    frame, poses, _ = sim_scene
    cam, fid = frame.camera, frame.frame_id
    harness.wait_for("objects", 19.0, lambda: harness.publish(frame, 19.0))  # info is known
    # 1. unsupported depth encoding
    bad = msgs.numpy_to_image(frame.color, "rgb8", 20.0, fid)
    m = harness.wait_for("objects", 20.0, lambda: harness.publish(frame, 20.0, depth_msg=bad))
    assert m.width == 0
    # 2. colour and depth sizes disagree
    small = msgs.numpy_to_image(np.zeros((240, 320), np.uint16), "16UC1", 21.0, fid)
    m = harness.wait_for("objects", 21.0, lambda: harness.publish(frame, 21.0, depth_msg=small))
    assert m.width == 0
    # 3. zero intrinsics
    info = msgs.model_to_camera_info(cam, 22.0)
    info.k = [0.0] * 9
    m = harness.wait_for("objects", 22.0, lambda: harness.publish(frame, 22.0, info=info))
    assert m.width == 0
    # 4. all-zero depth: a valid (empty) cleaned depth and empty clouds
    zero = msgs.numpy_to_image(np.zeros((480, 640), np.uint16), "16UC1", 23.0, fid)
    m = harness.wait_for("objects", 23.0, lambda: harness.publish(frame, 23.0, depth_msg=zero))
    assert m.width == 0
    depth = harness.wait_for("depth", 23.0, lambda: harness.publish(frame, 23.0, depth_msg=zero))
    assert np.all(msgs.image_to_numpy(depth) == 0)
    # 5. the node still works afterwards
    m = harness.wait_for("objects", 24.0, lambda: harness.publish(frame, 24.0))
    assert len(np.unique(msgs.pointcloud2_to_array(m)["label"])) == len(poses)
    assert harness.node.camera.dropped >= 3
    assert harness.node.frames_processed >= 3


def test_an_empty_table_is_logged_at_info_and_a_missing_table_warns(harness, sim_scene) -> None:
    """A cleared table (the end of every session) logged a WARN every 5 s, as if broken."""
    frame, _, _ = sim_scene
    fid = frame.frame_id
    table = np.full((480, 640), 800, np.uint16)  # the bare table, 0.8 m below the camera
    zero = np.zeros((480, 640), np.uint16)
    stamps = iter(np.arange(30.0, 40.0))

    def send(depth: np.ndarray):
        t = float(next(stamps))
        msg = msgs.numpy_to_image(depth, "16UC1", t, fid)
        return harness.wait_for("objects", t, lambda: harness.publish(frame, t, depth_msg=msg))

    # rclpy's own logger first: it refuses two severities from one line of code
    for depth in (table, zero, table, zero):
        assert send(depth).width == 0
    log = LogRecorder()
    harness.node._warn._logger = log
    for depth, level in ((table, "info"), (zero, "warning")):
        assert send(depth).width == 0
        assert log.lines and set(log.levels()) == {level}, log.lines
        assert (level == "info") == bool(log.levels("no object"))
        log.lines.clear()


def test_parameters_have_descriptions_ranges_and_reject_bad_values(harness) -> None:
    node = harness.node
    desc = node.describe_parameters(["voxel_size", "pixel_stride", "camera_position"])
    assert "[m]" in desc[0].description and desc[0].floating_point_range[0].to_value == 0.05
    assert desc[1].integer_range[0].from_value == 1
    assert "x y z" in desc[2].description
    ok = node.set_parameters([Parameter("voxel_size", value=0.004)])[0]
    assert ok.successful and node.params.voxel_size == 0.004
    bad = node.set_parameters([Parameter("crop_x_min", value=0.9)])[0]  # > crop_x_max
    assert not bad.successful and "crop_x_min" in bad.reason
    bad = node.set_parameters([Parameter("voxel_size", value=0.5)])[0]  # out of range
    assert not bad.successful


def test_the_mount_comes_from_the_cell_file_and_a_second_disagreeing_one_is_refused(
    ros_domain, cell_file
) -> None:
    """``cell_layout``: the node's mount (and its camera_position / camera_orientation
    parameters, for ``ros2 param get``) is the file's camera; explicit parameters that
    disagree with it stop the node at start with an error naming both."""
    from grasp_core.cell import CellConfigError
    from grasp_perception.node import PerceptionNode

    with rclpy.init():
        node = PerceptionNode(parameter_overrides=[Parameter("cell_layout", value=str(cell_file))])
        try:
            np.testing.assert_allclose(node.camera.extrinsic[:3, 3], [0.5, 0.05, 0.8])
            position = node.get_parameter("camera_position").value
            np.testing.assert_allclose(position, [0.5, 0.05, 0.8])
        finally:
            node.destroy_node()
        given = [
            Parameter("cell_layout", value=str(cell_file)),
            Parameter("camera_position", value=[0.5, 0.0, 0.8]),
            Parameter("camera_orientation", value=[0.7071068, -0.7071068, 0.0, 0.0]),
        ]
        with pytest.raises(CellConfigError, match=r"camera_position.*moved_camera\.yaml"):
            PerceptionNode(parameter_overrides=given)


def test_the_crop_box_comes_from_the_cells_workspace_unless_set(ros_domain, tmp_path) -> None:
    """``cell_layout`` with a moved workspace: the node's crop box (its PerceptionParams and
    its crop_* parameters, for ``ros2 param get``) moves with it; a crop_* value given
    explicitly wins; a bin inside the cell's box stops the node, naming the file."""
    import yaml

    from grasp_core.cell import CellConfigError
    from grasp_core.paths import config_path
    from grasp_perception.node import PerceptionNode

    data = yaml.safe_load(config_path("sim", "panda_table.yaml").read_text())
    data["workspace"] = {"x": [0.40, 0.70], "y": [-0.25, 0.15]}
    cell = tmp_path / "moved_workspace.yaml"
    cell.write_text(yaml.safe_dump(data))
    moved = [Parameter("cell_layout", value=str(cell))]
    with rclpy.init():
        node = PerceptionNode(parameter_overrides=moved)
        try:
            np.testing.assert_allclose(node.params.crop_min, [0.25, -0.35, -0.05], atol=1e-9)
            np.testing.assert_allclose(node.params.crop_max, [0.85, 0.25, 0.3], atol=1e-9)
            assert node.get_parameter("crop_y_min").value == pytest.approx(-0.35)
        finally:
            node.destroy_node()
        node = PerceptionNode(parameter_overrides=[*moved, Parameter("crop_z_max", value=0.2)])
        try:
            np.testing.assert_allclose(node.params.crop_max, [0.85, 0.25, 0.2], atol=1e-9)
        finally:
            node.destroy_node()
        data["bin"]["center"][1] = 0.3
        cell.write_text(yaml.safe_dump(data))
        with pytest.raises(CellConfigError, match=r"moved_workspace\.yaml.*bin"):
            PerceptionNode(parameter_overrides=moved)


def test_node_starts_with_every_value_of_its_yaml(ros_domain) -> None:
    """config/perception.yaml: each key is declared, and the node's PerceptionParams
    equal the YAML's."""
    import yaml

    from grasp_core.paths import config_path
    from grasp_perception.node import PerceptionNode
    from grasp_perception.params import PerceptionParams

    path = config_path("perception.yaml")
    values = yaml.safe_load(path.read_text())["perception"]["ros__parameters"]
    with rclpy.init():
        node = PerceptionNode(
            parameter_overrides=[Parameter(k, value=v) for k, v in values.items()]
        )
        try:
            builtin = {"use_sim_time", "start_type_description_service"}
            declared = set(node.list_parameters([], 0).names) - builtin
            # the explicit mount and crop box are left out of the YAML: the node takes the
            # cell's camera and the box around the cell's workspace
            from grasp_core.cell import CROP_KEYS

            mount = {"camera_position", "camera_orientation"}
            assert declared == set(values) | mount | set(CROP_KEYS)
            assert node.params == PerceptionParams.from_yaml(path)
        finally:
            node.destroy_node()


def test_frames_before_the_first_camera_info_are_dropped_quietly_for_a_while(
    ros_domain, sim_scene
) -> None:
    """Every start warned "no CameraInfo ... yet" once per node: a camera's first images
    often come before its first CameraInfo. Within ``INFO_GRACE`` of the first image
    they are dropped without a report; after it (a wrong info topic) they are reported."""
    from grasp_bringup import ros_camera

    frame, _, _ = sim_scene
    fid = frame.frame_id
    with rclpy.init():
        node = rclpy.create_node("ros_camera_grace_test")
        errors: list[str] = []
        src = ros_camera.RosCameraSource(
            node, on_error=lambda key, reason, stamp: errors.append(key)
        )
        depth = msgs.numpy_to_image(depth_m_to_mm(frame.depth), "16UC1", 1.0, fid)
        color = msgs.numpy_to_image(frame.color, "rgb8", 1.0, fid)
        try:
            assert src.to_frame(depth, color, 1.0) is None
            assert src.to_frame(depth, color, 1.1) is None
            assert errors == [] and src.dropped == 2
            src._first_image -= ros_camera.INFO_GRACE  # the grace is over
            assert src.to_frame(depth, color, 1.2) is None
            assert errors == ["no_info"] and src.dropped == 3
        finally:
            node.destroy_node()


def test_silence_on_the_depth_topic_is_reported_by_name(ros_domain, sim_scene, monkeypatch):
    """A camera driver that is not running (or a topic name off by one character) was
    silence: the nodes waited without a word."""
    from grasp_bringup import node_utils, ros_camera

    monkeypatch.setattr(node_utils, "SILENCE_WARN", 0.4)
    frame, _, _ = sim_scene
    fid = frame.frame_id
    with rclpy.init():
        node = rclpy.create_node("ros_camera_silence_test")
        log = LogRecorder(node.get_logger())
        node.get_logger = lambda: log
        src = ros_camera.RosCameraSource(node, depth_topic="/no_such_camera/depth")
        pub = node.create_publisher(Image, "/no_such_camera/depth", SENSOR_QOS)
        spinner = Spinner(node)
        try:
            time.sleep(1.5)
            said = [text for level, text in log.lines if level == "warning"]
            assert said and all("no depth image on /no_such_camera/depth" in t for t in said)
            assert len(said) <= 5  # once a period (~3), not at each of ~15 checks
            depth = msgs.numpy_to_image(depth_m_to_mm(frame.depth), "16UC1", 1.0, fid)

            def publish_for(seconds: float) -> None:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    pub.publish(depth)
                    time.sleep(0.05)

            publish_for(0.5)  # discovery, and the first images arrive
            log.lines.clear()
            publish_for(1.0)  # images keep coming: nothing more to say
            assert "warning" not in log.levels(), log.lines
            src.close()
        finally:
            spinner.close()


def test_ros_camera_pairs_colour_and_depth_by_stamp(ros_domain, sim_scene) -> None:
    """RosCameraSource in pull mode: pairs within slop, 16UC1 and 32FC1 depth, drops others."""
    from grasp_bringup.ros_camera import RosCameraSource

    frame, _, _ = sim_scene
    cam, fid = frame.camera, frame.frame_id
    with rclpy.init():
        node = rclpy.create_node("ros_camera_test")
        errors: list[str] = []
        src = RosCameraSource(
            node,
            T_base_camera=cam.T_base_camera,
            slop=0.01,
            require_color=True,
            on_error=lambda key, reason, stamp: errors.append(key),
        )
        pub_c = node.create_publisher(Image, COLOR_TOPIC, SENSOR_QOS)
        pub_d = node.create_publisher(Image, DEPTH_TOPIC, SENSOR_QOS)
        pub_i = node.create_publisher(CameraInfo, INFO_TOPIC, SENSOR_QOS)
        spinner = Spinner(node)
        try:

            def send(t_color: float, t_depth: float, encoding: str = "16UC1") -> None:
                pub_i.publish(msgs.model_to_camera_info(cam, t_depth))
                time.sleep(0.05)
                pub_c.publish(msgs.numpy_to_image(frame.color, "rgb8", t_color, fid))
                depth = depth_m_to_mm(frame.depth) if encoding == "16UC1" else frame.depth
                pub_d.publish(msgs.numpy_to_image(depth, encoding, t_depth, fid))

            got = None
            for _ in range(40):  # discovery: re-send until the first pair arrives
                send(1.0, 1.004, "32FC1")
                got = src.read(timeout=0.25)
                if got is not None:
                    break
            assert got is not None and got.stamp == pytest.approx(1.004)
            np.testing.assert_array_equal(got.depth, frame.depth)  # 32FC1: exact
            np.testing.assert_array_equal(got.color, frame.color)
            np.testing.assert_allclose(got.camera.T_base_camera, cam.T_base_camera)
            while src.read(timeout=0.3) is not None:  # drain the re-sends
                pass
            send(2.0, 2.05)  # 50 ms apart > slop: no frame
            assert src.read(timeout=0.5) is None
            send(3.0, 3.0)
            got = src.read(timeout=2.0)
            assert got is not None and got.stamp == pytest.approx(3.0)
            np.testing.assert_allclose(got.depth, frame.depth, atol=0.0005 + 1e-6)  # mm
            assert errors == []
        finally:
            spinner.stop()
            src.close()
            node.destroy_node()


def test_a_camera_on_the_hand_is_placed_from_joint_states(ros_domain) -> None:
    """``cell_camera: wrist`` (on panda_hand): the node's camera source places frames with
    a LinkCameraMount of panda_hand (the detector test sends it frames); an explicit
    camera_position cannot fix such a camera, nor can a robot of another base frame carry
    it: both stop the node at start."""
    from grasp_core.cell import CellConfigError
    from grasp_perception.node import PerceptionNode
    from grasp_planning.camera_mount import LinkCameraMount

    wrist = [Parameter("cell_camera", value="wrist")]
    with rclpy.init():
        node = PerceptionNode(parameter_overrides=wrist)
        try:
            mount = node.camera._mount
            assert isinstance(mount, LinkCameraMount) and mount.link == "panda_hand"
            assert mount.robot.config.name == "panda" and mount.max_gap == 0.05
        finally:
            node.destroy_node()
        with pytest.raises(CellConfigError, match="wrist.*panda_hand.*cannot fix it"):
            PerceptionNode(
                parameter_overrides=[*wrist, Parameter("camera_position", value=[0.5, 0.0, 0.8])]
            )
        with pytest.raises(CellConfigError, match="robot 'baxter'.*'base', not.*'panda_link0'"):
            PerceptionNode(parameter_overrides=[*wrist, Parameter("robot", value="baxter")])


def test_max_rate_segments_every_third_frame_of_a_15_hz_camera(harness, sim_scene) -> None:
    from grasp_perception.node import RateLimit

    frame, _, _ = sim_scene
    assert harness.node.rate.max_rate == 5.0  # the default
    harness.wait_for("objects", 40.0, lambda: harness.publish(frame, 40.0))  # info is known
    n0 = harness.node.frames_processed
    stamps = [41.0 + k / 15 for k in range(15)]
    for k, t in enumerate(stamps):
        harness.publish(frame, t)
        if k % 3 == 0:  # a frame due: wait for its clouds, so none is skipped as stale
            harness.wait_for("objects", t, lambda: None)
        else:
            time.sleep(0.05)
    time.sleep(0.3)
    assert harness.node.frames_processed - n0 == 5
    assert harness.node.rate.skipped == 10
    assert harness.node.set_parameters([Parameter("max_rate", value=0.0)])[0].successful
    harness.wait_for("objects", 41.85, lambda: harness.publish(frame, 41.85))  # 50 ms after 41.8
    # the library rule: a clock reset starts afresh, 0 lets every frame through
    rate = RateLimit(5.0)
    assert [rate.due(t) for t in (10.0, 10.1, 10.19, 10.2, 3.0, 3.05)] == [
        True, False, True, False, True, False
    ]  # fmt: skip
    rate.max_rate = 0.0
    assert all(rate.due(t) for t in (3.06, 3.07, 3.07))


def test_the_node_declares_exactly_the_parameters_its_help_lists(harness) -> None:
    """``perception --help`` left out the camera-mount parameters a helper declares."""
    from grasp_bringup.node_utils import RCLPY_PARAMETERS, declared_param_specs
    from grasp_perception.node import PerceptionNode

    declared = set(harness.node.list_parameters([], 0).names) - RCLPY_PARAMETERS
    assert declared == {s.name for s in declared_param_specs(PerceptionNode)}
