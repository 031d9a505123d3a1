"""Perception node: camera topics in, cleaned depth and segmented clouds out.

Subscribes the realsense2_camera topics through :class:`grasp_bringup.ros_camera.RosCameraSource`
(sensor-data QoS), runs :func:`grasp_perception.segmentation.segment` and publishes

- ``/perception/depth``: sensor_msgs/Image 32FC1 [m], holes filled, camera frame;
- ``/perception/scene_points``: PointCloud2 (x y z float32), table removed, base frame;
- ``/perception/object_points``: PointCloud2 (x y z float32, ``label`` uint32), base frame.

The camera mount (no tf2 wheel) is the ``cell_camera`` of the ``cell_layout`` file, or
the ``camera_position`` / ``camera_orientation`` parameters
(:data:`grasp_bringup.ros_camera.MOUNT_PARAMS`); setting those two at run time moves a
static mount. A cell camera on a robot link is placed at each frame's stamp from
``/joint_states`` (:func:`grasp_bringup.ros_camera.declare_camera_mount`).
The crop box (``crop_x_min`` .. ``crop_z_max``) is built around the same file's workspace
and table top, each crop_* parameter given explicitly winning
(:func:`grasp_bringup.ros_camera.cell_crop_box`). Bad input (undecodable messages, all-invalid depth, no
table, no object) gives one throttled warning per cause (an empty table: INFO) and
empty-but-valid clouds.
Parameters: ``config/perception.yaml``; library ones may be changed at run time.
Frames are processed newest-first: if segmentation falls behind the camera, the frames in
between are skipped (``frames_skipped``) rather than queued. ``max_rate`` > 0 segments at
most about that many frames per second of camera time (``rate.skipped`` counts the others):
the clouds feed the executor's collision scene, read when a pick starts, and the 6-DOF
detector, which takes seconds a cloud, so segmenting every frame of a 15-30 Hz camera
mostly takes CPU from them.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image, PointCloud2

from grasp_bringup import msgs
from grasp_bringup.node_utils import ParamSpec, declare_params, run_node
from grasp_bringup.qos import RELIABLE_QOS
from grasp_bringup.ros_camera import (
    MOUNT_PARAMS,
    RosCameraSource,
    WarnThrottle,
    cell_crop_box,
    declare_camera_mount,
)
from grasp_core import RGBDFrame, ValidationError
from grasp_core.cell import CROP_KEYS
from grasp_core.se3 import pose_from_pq
from grasp_perception.params import PARAM_INFO, PerceptionParams
from grasp_perception.segmentation import segment
from grasp_perception.sources.base import COLOR_TOPIC, DEPTH_TOPIC, INFO_TOPIC

NODE_NAME = "perception"

NODE_PARAMS = [
    ParamSpec("color_topic", COLOR_TOPIC, "colour image topic (rgb8/bgr8/mono8)", read_only=True),
    ParamSpec(
        "depth_topic", DEPTH_TOPIC, "depth aligned to colour (16UC1 mm or 32FC1 m)", read_only=True
    ),
    ParamSpec("info_topic", INFO_TOPIC, "CameraInfo of the colour stream", read_only=True),
    ParamSpec("sync_slop", 0.02, "max colour/depth stamp difference to pair them [s]", (0.0, 0.5)),
    ParamSpec("require_color", False, "drop depth images that have no colour partner"),
    ParamSpec("base_frame", "panda_link0", "robot base frame of the output clouds", read_only=True),
    ParamSpec(
        "log_throttle", 5.0, "min time between two warnings with the same cause [s]", (0.0, 3600.0)
    ),
    ParamSpec(
        "max_rate",
        5.0,
        "segment at most about this many frames per second of camera time; 0: every frame",
        (0.0, 1000.0),
    ),
]


def library_param_specs() -> list[ParamSpec]:
    """ROS parameter specs of every PerceptionParams field (description, range, default);
    the crop box has no default: unset, it comes from the cell file."""
    defaults = PerceptionParams().to_dict()
    specs = []
    for name, info in PARAM_INFO.items():
        default = int(defaults[name]) if info.integer else float(defaults[name])
        low, high = (int(info.low), int(info.high)) if info.integer else (info.low, info.high)
        text = info.description
        if name in CROP_KEYS:
            default = Parameter.Type.DOUBLE
            text += "; unset: from cell_layout's workspace and table top"
        specs.append(ParamSpec(name, default, text, (low, high)))
    return specs


class RateLimit:
    """Whether a frame is due: at least ~1 / ``max_rate`` seconds of camera time after the
    last one let through (10 % slack for stamp jitter: a 15 Hz camera at ``max_rate`` 5 gives
    every third frame, not every fourth). A stamp earlier than the last (a clock reset)
    starts afresh; ``max_rate`` 0 lets every frame through."""

    def __init__(self, max_rate: float) -> None:
        self.max_rate = max_rate
        self.last: float | None = None
        self.skipped = 0

    def due(self, stamp: float) -> bool:
        if self.max_rate > 0 and self.last is not None and self.last <= stamp:
            if stamp - self.last < 0.9 / self.max_rate:
                self.skipped += 1
                return False
        self.last = stamp
        return True


def _extrinsic(position: Any, orientation: Any) -> np.ndarray:
    return pose_from_pq(np.asarray(position, float), np.asarray(orientation, float))


class PerceptionNode(Node):
    """Camera topics -> cleaned depth, scene cloud and labelled object cloud."""

    NODE_NAME = NODE_NAME
    PARAM_SPECS = NODE_PARAMS + library_param_specs()
    HELPER_PARAM_SPECS = MOUNT_PARAMS  # declared by declare_camera_mount

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(self.NODE_NAME, **kwargs)
        values = declare_params(self, self.PARAM_SPECS)
        self.base_frame = values["base_frame"]
        T_base_camera = declare_camera_mount(self, self.base_frame)
        values.update(cell_crop_box(self, {k: values[k] for k in CROP_KEYS}, self.base_frame))
        self.params = PerceptionParams.from_dict({k: values[k] for k in PARAM_INFO})
        self._warn = WarnThrottle(self, values["log_throttle"])
        self._group = MutuallyExclusiveCallbackGroup()
        self.depth_pub = self.create_publisher(Image, "/perception/depth", RELIABLE_QOS)
        self.scene_pub = self.create_publisher(
            PointCloud2, "/perception/scene_points", RELIABLE_QOS
        )
        self.object_pub = self.create_publisher(
            PointCloud2, "/perception/object_points", RELIABLE_QOS
        )
        self.camera = RosCameraSource(
            self,
            color_topic=values["color_topic"],
            depth_topic=values["depth_topic"],
            info_topic=values["info_topic"],
            T_base_camera=T_base_camera,
            base_frame=self.base_frame,
            slop=values["sync_slop"],
            require_color=values["require_color"],
            on_frame=self._on_frame,
            on_error=self._on_bad_input,
            callback_group=self._group,
        )
        self.frames_processed = 0
        self.frames_skipped = 0
        self.rate = RateLimit(values["max_rate"])
        # Segmentation runs in its own group on the newest frame only, so a slow frame
        # never builds a backlog: the camera callbacks keep replacing the pending frame.
        self._pending: RGBDFrame | None = None
        self._pending_lock = threading.Lock()
        self._process_group = MutuallyExclusiveCallbackGroup()
        self._wake = self.create_guard_condition(
            self._process_pending, callback_group=self._process_group
        )
        self.last_segmentation = None
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.get_logger().info(
            f"perception: {values['depth_topic']} + {values['color_topic']} -> /perception/*, "
            f"base frame {self.base_frame}"
        )

    # -- parameters ---------------------------------------------------------------------
    def _on_set_parameters(self, params: list) -> SetParametersResult:
        lib = {p.name: p.value for p in params if p.name in PARAM_INFO}
        try:
            new = PerceptionParams.from_dict({**self.params.to_dict(), **lib}) if lib else None
            pose = {p.name: p.value for p in params if p.name.startswith("camera_")}
            T = None
            if pose:
                pos = pose.get("camera_position", self.get_parameter("camera_position").value)
                rot = pose.get("camera_orientation", self.get_parameter("camera_orientation").value)
                T = _extrinsic(pos, rot)
        except ValidationError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        for p in params:
            if p.name == "log_throttle":
                self._warn.period = float(p.value)
            elif p.name == "sync_slop":
                self.camera.slop = float(p.value)
            elif p.name == "require_color":
                self.camera.require_color = bool(p.value)
            elif p.name == "max_rate":
                self.rate.max_rate = float(p.value)
        if new is not None:
            self.params = new
        if T is not None:
            self.camera.set_extrinsic(T)
        return SetParametersResult(successful=True)

    # -- processing ---------------------------------------------------------------------
    def _on_frame(self, frame: RGBDFrame) -> None:
        with self._pending_lock:
            if self._pending is not None:
                self.frames_skipped += 1
            self._pending = frame
        self._wake.trigger()

    def _process_pending(self) -> None:
        with self._pending_lock:
            frame, self._pending = self._pending, None
        if frame is not None and self.rate.due(frame.stamp):
            self.process(frame)

    def process(self, frame: RGBDFrame) -> None:
        """Segment one frame and publish depth, scene and object clouds."""
        try:
            seg = segment(frame, self.params)
        except (ValidationError, ValueError, RuntimeError) as exc:  # open3d raises RuntimeError
            self._on_bad_input("segment", f"segmentation failed, frame dropped: {exc}", frame.stamp)
            return
        self.last_segmentation = seg
        self.frames_processed += 1
        for note in seg.warnings:  # nothing on the table is a state, not a fault: INFO
            info = note.cause == "no_object"
            self._warn(note.cause, f"frame {frame.stamp:.3f}: {note}", info=info)
        stamp = msgs.frame_stamp(frame)  # the camera's stamp, bit for bit
        self.depth_pub.publish(msgs.numpy_to_image(seg.clean_depth, "32FC1", stamp, frame.frame_id))
        self.scene_pub.publish(msgs.points_to_pointcloud2(seg.scene_points, seg.frame_id, stamp))
        pts, labels = seg.object_points()
        self.object_pub.publish(
            msgs.points_to_pointcloud2(pts, seg.frame_id, stamp, label=labels.astype(np.uint32))
        )

    def _on_bad_input(self, key: str, reason: str, stamp: float) -> None:
        """A frame could not be built: warn (throttled per cause), publish empty clouds."""
        self._warn(key, reason)
        empty = np.empty((0, 3), np.float32)
        self.scene_pub.publish(msgs.points_to_pointcloud2(empty, self.base_frame, stamp))
        self.object_pub.publish(
            msgs.points_to_pointcloud2(empty, self.base_frame, stamp, label=np.empty(0, np.uint32))
        )


def main(args: list[str] | None = None) -> None:
    run_node(PerceptionNode, args)
