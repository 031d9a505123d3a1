"""Camera sources behind one interface (:class:`CameraSource`), each yielding RGBDFrames.

- :class:`RealSenseSource`: an Intel RealSense read through pyrealsense2 (imported lazily).
- :class:`McapSource` / :class:`McapRecorder`: rosbag2-compatible MCAP recordings.
- ROS topics: ``grasp_bringup.ros_camera.RosCameraSource`` (it needs rclpy, so it lives
  with the ROS glue, not here).
"""

from grasp_perception.sources.base import (
    COLOR_TOPIC,
    DEPTH_TOPIC,
    INFO_TOPIC,
    TF_STATIC_TOPIC,
    CameraSource,
)
from grasp_perception.sources.mcap_io import McapRecorder, McapSource
from grasp_perception.sources.realsense import RealSenseSource

__all__ = [
    "COLOR_TOPIC",
    "DEPTH_TOPIC",
    "INFO_TOPIC",
    "TF_STATIC_TOPIC",
    "CameraSource",
    "McapRecorder",
    "McapSource",
    "RealSenseSource",
]
