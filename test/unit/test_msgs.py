"""Round trips of the codec module (message objects only: no DDS traffic here)."""

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField

from grasp_bringup import msgs
from grasp_core import CameraModel, Grasp, RGBDFrame

ENCODED = {
    "rgb8": lambda rng: rng.integers(0, 255, (4, 5, 3), dtype=np.uint8),
    "bgr8": lambda rng: rng.integers(0, 255, (4, 5, 3), dtype=np.uint8),
    "mono8": lambda rng: rng.integers(0, 255, (4, 5), dtype=np.uint8),
    "16UC1": lambda rng: rng.integers(0, 65535, (4, 5), dtype=np.uint16),
    "32FC1": lambda rng: rng.random((4, 5), dtype=np.float32),
}


@pytest.mark.parametrize("encoding", sorted(ENCODED))
def test_image_round_trip(encoding, rng):
    arr = ENCODED[encoding](rng)
    msg = msgs.numpy_to_image(arr, encoding, stamp=12.25, frame_id="cam")
    assert msg.header.frame_id == "cam"
    assert msgs.stamp_to_sec(msg.header.stamp) == pytest.approx(12.25)
    out = msgs.image_to_numpy(msg)
    assert out.dtype == arr.dtype
    np.testing.assert_array_equal(out, arr)


def test_image_with_row_padding(rng):
    arr = rng.integers(0, 65535, (3, 5), dtype=np.uint16)
    step = 5 * 2 + 6  # 6 bytes of padding per row
    data = np.zeros((3, step), dtype=np.uint8)
    data[:, :10] = arr.view(np.uint8).reshape(3, 10)
    msg = Image(height=3, width=5, encoding="16UC1", step=step, is_bigendian=0)
    msg.data = data.tobytes()
    np.testing.assert_array_equal(msgs.image_to_numpy(msg), arr)


def test_frame_stamp_is_exact_with_integer_nanoseconds():
    cam = CameraModel.from_intrinsics(100.0, 100.0, 2.0, 1.5, 4, 3)
    ns = 1718905397_948036823
    t = msgs.sec_to_stamp(ns * 1e-9)
    assert (t.sec, t.nanosec) != (1718905397, 948036823)  # a float cannot hold it
    assert msgs.stamp_to_ns(msgs.Time(sec=1718905397, nanosec=948036823)) == ns
    frame = RGBDFrame(np.zeros((3, 4), np.float32), cam, stamp=ns * 1e-9, stamp_ns=ns)
    t = msgs.frame_stamp(frame)
    assert (t.sec, t.nanosec) == (1718905397, 948036823)
    t = msgs.frame_stamp(RGBDFrame(np.zeros((3, 4), np.float32), cam, stamp=2.5))
    assert (t.sec, t.nanosec) == (2, 500_000_000)


def test_a_frame_is_dated_by_its_stamp_unless_the_stamp_is_not_on_our_clock():
    assert msgs.frame_time(100.0, received=100.4) == 100.0  # the camera took it then
    assert msgs.frame_time(100.0, received=99.9) == 100.0  # a little clock skew
    # no stamp, or one of another clock (a camera's own time base): its arrival stands in
    assert msgs.frame_time(0.0, received=100.4) == 100.4
    assert (
        msgs.frame_time(100.0, received=100.0 + msgs.STAMP_TRUST + 1)
        == 100.0 + msgs.STAMP_TRUST + 1
    )
    assert msgs.frame_time(1e9, received=100.0) == 100.0


def test_image_errors_name_the_problem():
    msg = msgs.numpy_to_image(np.zeros((2, 2), np.uint16), "16UC1")
    msg.is_bigendian = 1
    with pytest.raises(msgs.MessageError, match="big-endian"):
        msgs.image_to_numpy(msg)
    msg = Image(height=2, width=2, encoding="yuv422", step=4)
    with pytest.raises(msgs.MessageError, match="'yuv422' is not supported; supported: rgb8"):
        msgs.image_to_numpy(msg)
    short = msgs.numpy_to_image(np.zeros((2, 2), np.uint8), "mono8")
    short.data = b"\x00"
    with pytest.raises(msgs.MessageError, match="expected height\\*step"):
        msgs.image_to_numpy(short)
    with pytest.raises(msgs.MessageError, match="does not fit encoding"):
        msgs.numpy_to_image(np.zeros((2, 2), np.float64), "32FC1")


def test_empty_image_round_trip():
    msg = msgs.numpy_to_image(np.zeros((0, 0), np.float32), "32FC1")
    assert msgs.image_to_numpy(msg).shape == (0, 0)


def test_depth_conversions():
    mm = np.array([[0, 500], [1000, 1234]], dtype=np.uint16)
    m = msgs.depth_msg_to_m(msgs.numpy_to_image(mm, "16UC1"))
    np.testing.assert_allclose(m, [[0, 0.5], [1.0, 1.234]], rtol=1e-6)
    with pytest.raises(msgs.MessageError, match="not a depth encoding"):
        msgs.depth_msg_to_m(msgs.numpy_to_image(np.zeros((2, 2), np.uint8), "mono8"))


def test_rgba_and_bgra_colour_lose_alpha_and_come_out_rgb():
    """realsense2_camera with rgb_camera.color_format RGBA8/BGRA8 (the MCAP path read
    these; the live path dropped every frame)."""
    rgba = np.array([[[10, 20, 30, 255], [1, 2, 3, 0]]], np.uint8)
    got = msgs.color_msg_to_rgb(msgs.numpy_to_image(rgba, "rgba8"))
    np.testing.assert_array_equal(got, [[[10, 20, 30], [1, 2, 3]]])
    bgra = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])
    got = msgs.color_msg_to_rgb(msgs.numpy_to_image(bgra, "bgra8"))
    np.testing.assert_array_equal(got, [[[10, 20, 30], [1, 2, 3]]])
    assert got.flags.c_contiguous and got.shape == (1, 2, 3)


def test_bgr_is_converted_to_rgb():
    bgr = np.zeros((1, 1, 3), np.uint8)
    bgr[0, 0] = (1, 2, 3)
    np.testing.assert_array_equal(
        msgs.color_msg_to_rgb(msgs.numpy_to_image(bgr, "bgr8"))[0, 0], (3, 2, 1)
    )


def test_camera_info_round_trip():
    cam = CameraModel.from_intrinsics(615.0, 616.0, 320.5, 240.5, 640, 480, frame_id="optical")
    info = msgs.model_to_camera_info(cam, stamp=3.0)
    assert info.header.frame_id == "optical"
    back = msgs.camera_info_to_model(info, T_base_camera=np.eye(4))
    np.testing.assert_array_equal(back.K, cam.K)
    assert (back.width, back.height, back.frame_id) == (640, 480, "optical")


def test_camera_info_with_zero_intrinsics_is_rejected():
    with pytest.raises(msgs.MessageError, match="missing or zero intrinsics"):
        msgs.camera_info_to_model(CameraInfo())


def test_pointcloud2_round_trip_mixed_fields(rng):
    arr = np.zeros(7, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("label", "u4"), ("i", "u1")])
    arr["x"] = rng.random(7)
    arr["label"] = np.arange(7)
    arr["i"] = 200
    msg = msgs.array_to_pointcloud2(arr, "base", 1.0)
    assert [f.datatype for f in msg.fields] == [7, 7, 7, PointField.UINT32, PointField.UINT8]
    back = msgs.pointcloud2_to_array(msg)
    assert back.dtype.names == arr.dtype.names
    for name in arr.dtype.names:
        np.testing.assert_array_equal(back[name], arr[name])


def test_pointcloud2_with_padding_and_rows(rng):
    # 2 rows x 3 points, point_step 16 (x y z + 4 pad bytes), row_step with 8 extra bytes
    pts = rng.random((2, 3, 3), dtype=np.float32)
    point_step, row_step = 16, 3 * 16 + 8
    data = np.zeros((2, row_step), np.uint8)
    for r in range(2):
        for c in range(3):
            data[r, c * 16 : c * 16 + 12] = pts[r, c].view(np.uint8)
    msg = PointCloud2(
        height=2, width=3, point_step=point_step, row_step=row_step, is_bigendian=False
    )
    msg.fields = [
        PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1)
        for i, n in enumerate("xyz")
    ]
    msg.data = data.tobytes()
    np.testing.assert_allclose(msgs.pointcloud2_to_xyz(msg), pts.reshape(-1, 3))


def test_pointcloud2_big_endian_and_empty():
    empty = msgs.points_to_pointcloud2(np.zeros((0, 3)), "base", label=np.zeros(0, np.uint32))
    assert msgs.pointcloud2_to_array(empty).shape == (0,)
    assert msgs.pointcloud2_to_xyz(empty).shape == (0, 3)
    empty.is_bigendian = True
    with pytest.raises(msgs.MessageError, match="big-endian"):
        msgs.pointcloud2_to_array(empty)


def test_object_points_keep_labels_paired_with_points_and_check_the_frame():
    xyz = np.array([[0.5, 0.0, 0.1], [np.nan, 0.0, 0.1], [0.6, 0.1, 0.1], [0.7, 0.2, np.inf]])
    labels = np.array([0, 1, 2, 3], np.uint32)
    msg = msgs.points_to_pointcloud2(xyz, "base", label=labels)
    pts, lab = msgs.pointcloud2_to_object_points(msg, "base")
    np.testing.assert_allclose(pts, xyz[[0, 2]], rtol=1e-6)
    assert lab.tolist() == [0, 2] and lab.dtype == np.int64  # the label of each kept point
    with pytest.raises(msgs.MessageError, match="frame 'camera'.*expected 'base'"):
        msgs.pointcloud2_to_object_points(
            msgs.points_to_pointcloud2(xyz, "camera", label=labels), "base"
        )
    unlabelled = msgs.points_to_pointcloud2(xyz, "base")
    assert msgs.pointcloud2_to_object_points(unlabelled, "base")[1] is None
    with pytest.raises(msgs.MessageError, match="needs a 'label' field"):
        msgs.pointcloud2_to_object_points(unlabelled, "base", require_labels=True)


def make_grasp(x: float, quality: float) -> Grasp:
    return Grasp.from_pq([x, 0.1, 0.2], [1.0, 0.0, 0.0, 0.0], 0.05, quality=quality, model="m")


def test_grasp_array_round_trip_sorted_best_first():
    grasps = [make_grasp(0.1, 0.2), make_grasp(0.2, 0.9), make_grasp(0.3, 0.5)]
    msg = msgs.grasps_to_pointcloud2(grasps, "panda_link0", 5.0)
    assert [f.name for f in msg.fields] == list(msgs.GRASP_FIELDS)
    back, rejected = msgs.pointcloud2_to_grasps(msg, model="m")
    assert rejected == []
    assert [round(g.quality, 3) for g in back] == [0.9, 0.5, 0.2]
    np.testing.assert_allclose(back[0].pose, grasps[1].pose, atol=1e-6)
    assert back[0].frame_id == "panda_link0"
    assert back[0].width == pytest.approx(0.05)


def test_grasp_array_drops_bad_rows_and_keeps_the_rest():
    arr = msgs.grasps_to_array([make_grasp(0.1, 0.5), make_grasp(0.2, 0.6), make_grasp(0.3, 0.7)])
    arr[0]["x"] = np.nan
    arr[1]["width"] = -0.01
    msg = msgs.array_to_pointcloud2(arr, "panda_link0")
    grasps, rejected = msgs.pointcloud2_to_grasps(msg)
    assert len(grasps) == 1 and grasps[0].quality == pytest.approx(0.7)
    assert len(rejected) == 2 and "row 0" in rejected[0] and "width" in rejected[1]


def test_grasp_array_missing_field_or_frame():
    msg = msgs.points_to_pointcloud2(np.zeros((1, 3)), "panda_link0")
    with pytest.raises(msgs.MessageError, match="lacks fields"):
        msgs.pointcloud2_to_grasps(msg)
    ok = msgs.grasps_to_pointcloud2([make_grasp(0.1, 0.5)], "panda_link0")
    ok.header.frame_id = ""
    with pytest.raises(msgs.MessageError, match="empty header.frame_id"):
        msgs.pointcloud2_to_grasps(ok)
    with pytest.raises(msgs.MessageError, match="cannot go in"):
        msgs.grasps_to_pointcloud2([make_grasp(0.1, 0.5)], "world")


def test_empty_grasp_array():
    msg = msgs.grasps_to_pointcloud2([], "panda_link0")
    assert msgs.pointcloud2_to_grasps(msg) == ([], [])


def test_markers_draw_each_grasp_at_its_pose():
    grasps = [make_grasp(0.1, 0.0), make_grasp(0.2, 1.0)]
    ma = msgs.grasp_markers(grasps, "panda_link0")
    assert len(ma.markers) == 3  # DELETEALL + one per grasp
    first = ma.markers[1]
    pts = np.array([[p.x, p.y, p.z] for p in first.points])
    # fingertips straddle the TCP along the closing axis at the grasp width
    np.testing.assert_allclose(pts[0], [0.1 - 0.025, 0.1, 0.2], atol=1e-9)
    np.testing.assert_allclose(pts[2], [0.1 + 0.025, 0.1, 0.2], atol=1e-9)
    assert first.color.r > first.color.g  # low quality is red
    assert ma.markers[2].color.g > ma.markers[2].color.r


def test_the_executor_status_states_are_the_executors() -> None:
    """The resting states the detector and the demo read from /executor/status are
    values of PickState; every other PickState is a pick in progress."""
    from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

    from grasp_planning.pick import PickState

    states = {s.value for s in PickState}
    assert set(msgs.EXECUTOR_RESTING_STATES) <= states
    assert set(msgs.EXECUTOR_TERMINAL_STATES) < set(msgs.EXECUTOR_RESTING_STATES)
    busy = states - set(msgs.EXECUTOR_RESTING_STATES)
    assert {"planning", "approach", "close", "lift", "place", "home"} <= busy
    msg = DiagnosticStatus(values=[KeyValue(key="state", value="lift")])
    assert msgs.executor_status_values(msg)["state"] == "lift"
    assert msgs.executor_status_values(DiagnosticStatus())["state"] == ""
