"""QoS profiles used across the graph, named for what they carry."""

from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

#: Camera images and clouds: best effort, keep the newest few (as realsense2_camera).
SENSOR_QOS: QoSProfile = qos_profile_sensor_data

#: Inputs of which only the newest matters (the camera images perception and the grasp
#: detector consume): best effort, depth 1. A frame waiting in a deeper queue while the
#: node works is latency, not information; with depth 5 the detector ran 5 frames behind.
LATEST_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
)

#: Commands and results that must arrive (trajectories, grasp candidates, status).
RELIABLE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=10,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

#: The last message is kept for late joiners (robot description, static scene).
LATCHED_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
