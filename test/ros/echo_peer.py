"""A second process for test_two_process_dds.py: echoes depth images and grasp arrays.

Decodes what it receives with the codecs and re-encodes it, so the round trip exercises
both directions of grasp_bringup.msgs across a real DDS link.
"""

from __future__ import annotations

import sys

from rclpy.node import Node
from sensor_msgs.msg import Image, PointCloud2

from grasp_bringup import msgs
from grasp_bringup.node_utils import run_node
from grasp_bringup.qos import RELIABLE_QOS


class EchoPeer(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("echo_peer", **kwargs)
        self.depth_pub = self.create_publisher(Image, "/echo/depth", RELIABLE_QOS)
        self.grasp_pub = self.create_publisher(PointCloud2, "/echo/grasps", RELIABLE_QOS)
        self.create_subscription(Image, "/test/depth", self.on_depth, RELIABLE_QOS)
        self.create_subscription(PointCloud2, "/test/grasps", self.on_grasps, RELIABLE_QOS)

    def on_depth(self, msg: Image) -> None:
        depth = msgs.depth_msg_to_m(msg)
        self.depth_pub.publish(
            msgs.numpy_to_image(depth, "32FC1", msg.header.stamp, msg.header.frame_id)
        )

    def on_grasps(self, msg: PointCloud2) -> None:
        grasps, _ = msgs.pointcloud2_to_grasps(msg)
        self.grasp_pub.publish(
            msgs.grasps_to_pointcloud2(grasps, msg.header.frame_id, msg.header.stamp)
        )


if __name__ == "__main__":
    run_node(EchoPeer, sys.argv)
