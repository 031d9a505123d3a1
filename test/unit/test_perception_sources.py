"""Camera sources: MCAP record/playback round trips, RealSense conversion (device optional)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from grasp_core.frame import RGBDFrame
from grasp_perception.errors import DeviceNotFoundError, RecordingError
from grasp_perception.sources import (
    COLOR_TOPIC,
    DEPTH_TOPIC,
    INFO_TOPIC,
    CameraSource,
    McapRecorder,
    McapSource,
    RealSenseSource,
)
from grasp_perception.sources.realsense import (
    connected_serials,
    frame_from_arrays,
    pyrealsense2_available,
)
from grasp_perception.synthetic import SyntheticBox, SyntheticScene, default_camera, render


def _frames(n: int, rate: float = 30.0, color: bool = True) -> list[RGBDFrame]:
    cam = default_camera(width=160, height=120)
    out = []
    for i in range(n):
        box = SyntheticBox((0.45 + 0.02 * i, 0.0), (0.05, 0.05, 0.05))
        f, _ = render(SyntheticScene(boxes=(box,)), cam, noise_std=0.001, dropout=0.05, seed=i)
        out.append(
            RGBDFrame(
                depth=f.depth, camera=cam, color=f.color if color else None, stamp=1000.0 + i / rate
            )
        )
    return out


def _assert_same(a: RGBDFrame, b: RGBDFrame, depth_atol: float = 0.0) -> None:
    np.testing.assert_allclose(b.depth, a.depth, atol=depth_atol, rtol=0)
    if a.color is None:
        assert b.color is None
    else:
        np.testing.assert_array_equal(b.color, a.color)
    np.testing.assert_allclose(b.camera.K, a.camera.K)
    np.testing.assert_allclose(b.camera.T_base_camera, a.camera.T_base_camera, atol=1e-12)
    assert b.stamp == pytest.approx(a.stamp, abs=1e-6)
    assert b.frame_id == a.frame_id and b.camera.base_frame == a.camera.base_frame


def test_mcap_round_trip_32fc1_is_exact(tmp_path) -> None:
    frames = _frames(4)
    path = tmp_path / "rec.mcap"
    with McapRecorder(path, depth_encoding="32FC1") as rec:
        for f in frames:
            rec.write(f)
        assert (tmp_path / "rec.mcap.part").exists() and not path.exists()  # atomic
    assert path.exists() and not (tmp_path / "rec.mcap.part").exists()
    with McapSource(path, realtime=False) as src:
        assert isinstance(src, CameraSource)
        out = list(src)
        assert src.exhausted and src.read() is None
    assert len(out) == len(frames)
    for a, b in zip(frames, out, strict=True):
        _assert_same(a, b)


def test_mcap_round_trip_16uc1_rounds_to_mm(tmp_path) -> None:
    frames = _frames(2, color=False)
    path = tmp_path / "rec.mcap"
    with McapRecorder(path) as rec:
        for f in frames:
            rec.write(f)
    out = list(McapSource(path, realtime=False))
    assert len(out) == 2
    for a, b in zip(frames, out, strict=True):
        _assert_same(a, b, depth_atol=0.0005 + 1e-6)


def test_mcap_realtime_paces_by_stamps(tmp_path) -> None:
    path = tmp_path / "rec.mcap"
    with McapRecorder(path, depth_encoding="32FC1") as rec:
        for f in _frames(4, rate=10.0):
            rec.write(f)
    t0 = time.monotonic()
    assert len(list(McapSource(path, realtime=True))) == 4
    assert time.monotonic() - t0 >= 0.29  # 3 frame periods of 0.1 s
    t0 = time.monotonic()
    assert len(list(McapSource(path, realtime=False))) == 4
    assert time.monotonic() - t0 < 0.25


def test_mcap_override_extrinsic_and_schema(tmp_path) -> None:
    path = tmp_path / "rec.mcap"
    with McapRecorder(path, depth_encoding="32FC1") as rec:
        rec.write(_frames(1)[0])
    T = np.eye(4)
    T[:3, 3] = [1, 2, 3]
    (f,) = list(McapSource(path, realtime=False, T_base_camera=T))
    np.testing.assert_allclose(f.camera.T_base_camera, T)
    from mcap.reader import make_reader

    with open(path, "rb") as fh:
        summary = make_reader(fh).get_summary()
    chans = {c.topic: c for c in summary.channels.values()}
    assert {COLOR_TOPIC, DEPTH_TOPIC, INFO_TOPIC, "/tf_static"} <= set(chans)
    assert all(c.message_encoding == "cdr" for c in chans.values())
    schemas = {s.name: s for s in summary.schemas.values()}
    assert schemas["sensor_msgs/msg/Image"].encoding == "ros2msg"


def test_mcap_bad_files_raise_clear_errors(tmp_path) -> None:
    with pytest.raises(RecordingError, match="no such recording"):
        McapSource(tmp_path / "missing.mcap")
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"not an mcap file at all" * 10)
    with pytest.raises(RecordingError, match="not a readable MCAP"):
        McapSource(junk)
    path = tmp_path / "rec.mcap"
    with McapRecorder(path, info_topic="/other/camera_info") as rec:
        rec.write(_frames(1)[0])
    with pytest.raises(RecordingError, match=r"topics \['/camera/camera/color/camera_info'\]"):
        McapSource(path)
    with pytest.raises(ValueError, match="depth_encoding"):
        McapRecorder(tmp_path / "x.mcap", depth_encoding="mono8")


OPTICAL = "camera_color_optical_frame"


def _write_bag(path, tf_edges, frames=5, info_from=0, truncate=(), frame_id=OPTICAL) -> None:
    """A bag as ``ros2 bag record`` of realsense2_camera leaves it: ``tf_edges``
    ``[(parent, child, T)]`` on /tf_static after the first images, camera_info from frame
    ``info_from`` on, the depth of the frames in ``truncate`` cut short."""
    from mcap_ros2.writer import Writer

    from grasp_perception.sources import ros_dicts

    cam = default_camera(width=32, height=24)
    with open(path, "wb") as fh:
        w = Writer(fh)
        schema = {k: w.register_msgdef(k, v) for k, v in ros_dicts.SCHEMAS.items()}

        def put(topic, kind, msg, t):
            ns = int(t * 1e9)
            w.write_message(topic, schema[kind], msg, log_time=ns, publish_time=ns)

        for i in range(frames):
            t = 100.0 + i / 30
            if i >= info_from:
                put(
                    INFO_TOPIC,
                    "sensor_msgs/msg/CameraInfo",
                    ros_dicts.camera_info_dict(cam, t, frame_id),
                    t,
                )
            depth = ros_dicts.depth_image_dict(
                np.full((24, 32), 0.7, np.float32), "16UC1", t, frame_id
            )
            if i in truncate:
                depth["data"] = depth["data"][:100]
            color = ros_dicts.image_dict(np.zeros((24, 32, 3), np.uint8), "rgb8", t, frame_id)
            put(COLOR_TOPIC, "sensor_msgs/msg/Image", color, t)
            put(DEPTH_TOPIC, "sensor_msgs/msg/Image", depth, t)
            if i == 1 and tf_edges:
                tf = {"transforms": []}
                for parent, child, T in tf_edges:
                    tf["transforms"] += ros_dicts.tf_static_dict(T, parent, child, t)["transforms"]
                put("/tf_static", "tf2_msgs/msg/TFMessage", tf, t)
        w.finish()


def test_mcap_camera_pose_is_the_tf_chain_to_the_optical_frame(tmp_path) -> None:
    """A robot bag's /tf_static holds more than the mount: world -> base, and base ->
    camera_link -> optical frame. The pose is the chain to the image's frame, for every
    frame, although /tf_static comes after the first images."""
    from grasp_core.se3 import pose_from_pq

    T_world_base = pose_from_pq([1.0, 2.0, 0.0], [0, 0, 0, 1.0])
    T_base_link = pose_from_pq([0.5, 0.0, 0.8], [0, 0.7071068, 0, 0.7071068])
    T_link_opt = pose_from_pq([0.0, 0.015, 0.0], [-0.5, 0.5, -0.5, 0.5])
    edges = [
        ("world", "panda_link0", T_world_base),
        ("panda_link0", "camera_link", T_base_link),
        ("camera_link", OPTICAL, T_link_opt),
    ]
    path = tmp_path / "robot.mcap"
    _write_bag(path, edges)
    out = list(McapSource(path, realtime=False))
    assert len(out) == 5
    for f in out:
        np.testing.assert_allclose(f.camera.T_base_camera, T_base_link @ T_link_opt, atol=1e-9)
    # the optical frame's z looks down: a pixel 0.7 m away lies 0.1 m above the base
    assert out[0].camera.T_base_camera[2, 2] == pytest.approx(-1.0, abs=1e-6)
    # transforms that do not reach the image's frame: a clear error, not a wrong pose
    _write_bag(path, edges[:2])
    with pytest.raises(RecordingError, match="no chain from 'panda_link0' to 'camera_color_opt"):
        list(McapSource(path, realtime=False))
    _write_bag(path, [])  # no /tf_static at all: identity, as documented
    np.testing.assert_array_equal(
        next(iter(McapSource(path, realtime=False))).camera.T_base_camera, np.eye(4)
    )


def test_mcap_bad_frames_are_skipped_and_counted(tmp_path) -> None:
    """Images before the first camera_info and a truncated depth image are skipped; the
    rest of the recording plays."""
    path = tmp_path / "bag.mcap"
    _write_bag(path, [], frames=6, info_from=1, truncate=(3,))
    src = McapSource(path, realtime=False)
    out = list(src)
    assert [round(f.stamp - 100.0, 4) for f in out] == [round(i / 30, 4) for i in (1, 2, 4, 5)]
    assert src.skipped == 2
    assert set(src.skip_reasons) == {"no_info", "decode"}
    assert "camera_info" in src.skip_reasons["no_info"]


def test_mcap_round_trip_from_sim_camera(tmp_path) -> None:
    """Record the simulator's overhead camera, play it back: the frames are equal."""
    from grasp_sim.objects import object_set
    from grasp_sim.world import SimWorld

    path = tmp_path / "sim.mcap"
    frames = []
    with SimWorld(object_set("test", seed=0, count=2), seed=0, depth_noise=True) as world:
        with McapRecorder(path, depth_encoding="32FC1") as rec:
            for _ in range(3):
                world.step(10)
                frame = world.render("overhead")
                frames.append(frame)
                rec.write(frame)
    out = list(McapSource(path, realtime=False))
    assert len(out) == 3
    for a, b in zip(frames, out, strict=True):
        _assert_same(a, b)


def test_realsense_frame_conversion_applies_scale() -> None:
    raw = np.array([[0, 1000], [2500, 65535]], dtype=np.uint16)
    color = np.zeros((2, 2, 3), np.uint8)
    f = frame_from_arrays(color, raw, 0.001, (600.0, 601.0, 1.0, 0.5), np.eye(4), 12.5)
    np.testing.assert_allclose(f.depth, [[0, 1.0], [2.5, 65.535]], rtol=1e-6)
    assert f.camera.fx == 600 and f.camera.fy == 601 and f.camera.cy == 0.5 and f.stamp == 12.5
    with pytest.raises(ValueError, match="depth_scale"):
        frame_from_arrays(color, raw, 0.0, (600.0, 601.0, 1.0, 0.5), np.eye(4), 0.0)


@pytest.mark.skipif(not pyrealsense2_available(), reason="pyrealsense2 is not installed")
def test_realsense_without_device_raises_not_found() -> None:
    if connected_serials():
        pytest.skip("a RealSense is connected; this test checks the no-device path")
    with pytest.raises(DeviceNotFoundError, match="not connected"):
        RealSenseSource()


@pytest.mark.skipif(not pyrealsense2_available(), reason="pyrealsense2 is not installed")
def test_realsense_device_streams_frames() -> None:
    if not connected_serials():
        pytest.skip("no RealSense device connected")
    with RealSenseSource() as src:
        frame = next(f for f in (src.read(timeout=5.0) for _ in range(30)) if f is not None)
    assert frame.depth.shape == (480, 640) and frame.color.shape == (480, 640, 3)
    assert np.isfinite(frame.depth).all() and (frame.depth > 0).mean() > 0.3
