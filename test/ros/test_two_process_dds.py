"""Two rclpy nodes in separate processes exchange a 640x480 depth image and a grasp array
over Fast DDS; the values that come back are checked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from sensor_msgs.msg import Image, PointCloud2  # noqa: E402

from grasp_bringup import msgs  # noqa: E402
from grasp_bringup.qos import RELIABLE_QOS  # noqa: E402
from grasp_core import Grasp  # noqa: E402
from grasp_core.se3 import matrix_to_quat, rot_x, rot_z  # noqa: E402

pytestmark = pytest.mark.ros


def test_depth_image_and_grasps_cross_process_boundary(ros_domain, rng):
    assert os.environ["RMW_IMPLEMENTATION"] == "rmw_fastrtps_cpp"
    depth_mm = rng.integers(300, 2000, size=(480, 640), dtype=np.uint16)
    depth_mm[::7, ::11] = 0  # holes stay holes
    grasps = [
        Grasp.from_pq(
            rng.uniform(-0.5, 0.5, 3),
            matrix_to_quat(rot_z(rng.uniform(-3, 3)) @ rot_x(np.pi)),
            width=float(rng.uniform(0.01, 0.08)),
            quality=float(q),
        )
        for q in (0.3, 0.95, 0.6)
    ]

    peer = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("echo_peer.py"))],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with rclpy.init():
            node = rclpy.create_node("dds_test")
            received: dict[str, object] = {}
            node.create_subscription(
                Image, "/echo/depth", lambda m: received.setdefault("depth", m), RELIABLE_QOS
            )
            node.create_subscription(
                PointCloud2,
                "/echo/grasps",
                lambda m: received.setdefault("grasps", m),
                RELIABLE_QOS,
            )
            depth_pub = node.create_publisher(Image, "/test/depth", RELIABLE_QOS)
            grasp_pub = node.create_publisher(PointCloud2, "/test/grasps", RELIABLE_QOS)
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            deadline = time.monotonic() + 60.0
            while len(received) < 2 and time.monotonic() < deadline:
                assert peer.poll() is None, peer.stdout.read().decode()
                # publish until the echo arrives (discovery takes a moment)
                depth_pub.publish(msgs.numpy_to_image(depth_mm, "16UC1", 7.5, "cam_optical"))
                grasp_pub.publish(msgs.grasps_to_pointcloud2(grasps, "panda_link0", 7.5))
                executor.spin_once(timeout_sec=0.2)
            assert len(received) == 2, f"no echo within 60 s (got {sorted(received)})"

            depth_msg = received["depth"]
            assert (depth_msg.width, depth_msg.height, depth_msg.encoding) == (640, 480, "32FC1")
            assert depth_msg.header.frame_id == "cam_optical"
            assert msgs.stamp_to_sec(depth_msg.header.stamp) == pytest.approx(7.5)
            np.testing.assert_allclose(
                msgs.image_to_numpy(depth_msg), depth_mm.astype(np.float32) / 1000, rtol=1e-6
            )

            back, rejected = msgs.pointcloud2_to_grasps(received["grasps"])
            assert rejected == []
            assert [round(g.quality, 2) for g in back] == [0.95, 0.6, 0.3]
            expected = sorted(grasps, key=lambda g: -g.quality)
            for got, want in zip(back, expected, strict=True):
                np.testing.assert_allclose(got.pose, want.pose, atol=1e-5)
                assert got.width == pytest.approx(want.width, rel=1e-6)
            executor.shutdown()
            node.destroy_node()
    finally:
        peer.terminate()
        try:
            assert peer.wait(timeout=10) in (0, -15), "peer did not shut down cleanly on SIGTERM"
        finally:
            peer.kill()
