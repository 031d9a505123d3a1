"""A node under test plus a peer node that publishes RGB-D frames on the realsense2_camera
topic names and records the node's outputs: shared by the ROS tests of the nodes that
consume the camera (perception, grasp detector)."""

from __future__ import annotations

import time
from collections.abc import Callable

import rclpy
from builtin_interfaces.msg import Time
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image
from spinning import Spinner

from grasp_bringup import msgs
from grasp_bringup.qos import SENSOR_QOS
from grasp_core import RGBDFrame, depth_m_to_mm
from grasp_core.se3 import pose_to_pq
from grasp_perception.sources.base import COLOR_TOPIC, DEPTH_TOPIC, INFO_TOPIC

#: key -> (message type, topic, QoS) of the outputs to record
Outputs = dict[str, tuple[type, str, QoSProfile]]


def detector_overrides(frame: RGBDFrame, model: str, **params: object) -> list[Parameter]:
    """Grasp detector parameters: ``model``, the mount of ``frame``'s camera, warnings
    unthrottled, then ``params``."""
    position, quat = pose_to_pq(frame.camera.T_base_camera)
    given = {
        "model": model,
        "camera_position": position.tolist(),
        "camera_orientation": quat.tolist(),
        "log_throttle": 0.0,
        **params,
    }
    return [Parameter(name, value=value) for name, value in given.items()]


class CameraHarness:
    """Spins ``node`` and a peer on a PerNodeExecutor (as the in-process graph) in a background thread."""

    def __init__(self, node: Node, outputs: Outputs, peer_name: str = "camera_test_peer") -> None:
        self.node = node
        self.peer = rclpy.create_node(peer_name)
        self.color_pub = self.peer.create_publisher(Image, COLOR_TOPIC, SENSOR_QOS)
        self.depth_pub = self.peer.create_publisher(Image, DEPTH_TOPIC, SENSOR_QOS)
        self.info_pub = self.peer.create_publisher(CameraInfo, INFO_TOPIC, SENSOR_QOS)
        self.received: dict[str, list] = {key: [] for key in outputs}
        for key, (typ, topic, qos) in outputs.items():
            self.peer.create_subscription(
                typ, topic, lambda m, k=key: self.received[k].append(m), qos
            )
        self.spinner = Spinner(self.node, self.peer)

    def publish(
        self,
        frame: RGBDFrame,
        stamp: float | Time,
        depth_msg: Image | None = None,
        color: bool = True,
        info: CameraInfo | None = None,
    ) -> None:
        """Publish ``frame`` stamped ``stamp`` (depth as 16UC1 mm unless ``depth_msg``)."""
        fid = frame.frame_id
        self.info_pub.publish(info or msgs.model_to_camera_info(frame.camera, stamp))
        time.sleep(0.05)  # separate topics: let the info land first
        if color:
            self.color_pub.publish(msgs.numpy_to_image(frame.color, "rgb8", stamp, fid))
        self.depth_pub.publish(
            depth_msg or msgs.numpy_to_image(depth_m_to_mm(frame.depth), "16UC1", stamp, fid)
        )

    def wait_for(
        self,
        key: str,
        stamp: float,
        send: Callable[[], None],
        timeout: float = 30.0,
        header: Callable[[object], object] = lambda m: m.header,
    ):
        """Re-send (discovery, best effort) until an output ``key`` stamped ``stamp`` arrives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            send()
            t_end = time.monotonic() + 0.6
            while time.monotonic() < t_end:
                for m in list(self.received[key]):
                    if abs(msgs.stamp_to_sec(header(m).stamp) - stamp) < 1e-6:
                        return m
                time.sleep(0.02)
        raise AssertionError(f"no {key} output stamped {stamp} within {timeout} s")

    def close(self) -> None:
        self.spinner.close()
