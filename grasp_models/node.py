"""The grasp detector node (``grasp_detector``): any registry model, camera in, grasps out.

Subscribes the RGB-D camera (realsense2_camera topic names, through
:class:`grasp_bringup.ros_camera.RosCameraSource`) and, for models that need them, the
segmented object points ``/perception/object_points``. Each new input (a frame, or for
cloud-only models an object cloud) wakes a detection on the newest input, at most one
per ``period`` (0: every input); inputs that arrive while the model runs replace each
other, so a slow model never builds a backlog. While ``/executor/status`` reports a pick
in progress (``pause_while_picking``), inputs are dropped and nothing is detected: the
frames show the arm at work, and the first detection after the pick sees its result.
It publishes ``/grasp_candidates`` (PointCloud2 grasp rows, base frame, best first),
``/grasp_markers`` and, for planar models, ``/grasp_detector/quality_image``
(drawn on the view the model saw: with a tilted camera, ``planar_view`` ``auto``
re-renders each frame from straight above the workspace).
Bad input is dropped with a throttled warning; an input with nothing to grasp (a cleared
table: :class:`grasp_models.errors.NoObjectError`) gets an empty ``/grasp_candidates``
with its stamp and an INFO line. Nothing here moves the robot. The camera
mount is the ``cell_camera`` of the ``cell_layout`` file, or ``camera_position`` /
``camera_orientation`` (:data:`grasp_bringup.ros_camera.MOUNT_PARAMS`); the planar crop's
``workspace_center``, unless given, is the centre of that file's workspace on its table top.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from grasp_bringup import msgs
from grasp_bringup.node_utils import ParamSpec, declare_params, run_node
from grasp_bringup.qos import RELIABLE_QOS, SENSOR_QOS
from grasp_bringup.ros_camera import (
    MOUNT_PARAMS,
    RosCameraSource,
    WarnThrottle,
    cell_workspace_center,
    declare_camera_mount,
)
from grasp_core import GraspBringupError, RGBDFrame
from grasp_core.validation import require_choice
from grasp_models.base import GraspInput
from grasp_models.errors import NoObjectError
from grasp_models.registry import load_model

PARAMS = [
    ParamSpec("model", "ggcnn", "registry name of the grasp model (ggcnn, vqvae_ggcnn, ...)"),
    ParamSpec("weights", "", "weights file (.pt with its .json card); empty: shipped weights"),
    ParamSpec("device", "auto", "torch device: auto, cpu or cuda"),
    ParamSpec("threads", 2, "CPU threads for inference", (1, 64)),
    ParamSpec("color_topic", "/camera/camera/color/image_raw", "colour image topic"),
    ParamSpec(
        "depth_topic", "/camera/camera/aligned_depth_to_color/image_raw", "aligned depth topic"
    ),
    ParamSpec("info_topic", "/camera/camera/color/camera_info", "camera info topic"),
    ParamSpec("object_points_topic", "/perception/object_points", "segmented object points"),
    ParamSpec("sync_slop", 0.02, "max colour/depth stamp difference [s]", (0.0, 1.0)),
    ParamSpec("base_frame", "panda_link0", "robot base frame of the output grasps"),
    ParamSpec(
        "workspace_center",
        Parameter.Type.DOUBLE_ARRAY,
        "planar crop centre in base_frame, x y z [m]; unset: the centre of cell_layout's "
        "workspace on its table top",
    ),
    ParamSpec(
        "crop_on_workspace",
        True,
        "centre the planar crop on workspace_center (else on the image centre)",
    ),
    ParamSpec(
        "period",
        0.0,
        "minimum time between two detections [s, node clock]; 0 = one per new input",
        (0.0, 60.0),
    ),
    ParamSpec("max_grasps", 50, "grasps published per detection", (1, 1000)),
    ParamSpec("min_quality", 0.0, "drop grasps below this quality", (0.0, 1.0)),
    ParamSpec(
        "peak_min_distance",
        5,
        "planar models: pixels between two quality peaks (overrides the model card's)",
        (1, 100),
    ),
    ParamSpec(
        "peak_threshold",
        0.05,
        "planar models: lowest quality of a peak (overrides the model card's)",
        (0.0, 1.0),
    ),
    ParamSpec(
        "peak_border",
        12,
        "planar models: ignore quality peaks this close to the crop's edge [px] "
        "(padding artefacts there; 0 = the model card's setting, none)",
        (0, 100),
    ),
    ParamSpec(
        "planar_view",
        "auto",
        "planar models: the view they see: auto (a camera tilted over 10° is re-rendered "
        "from straight above, grasps approach vertically), topdown (always) or camera (never)",
    ),
    ParamSpec(
        "adaptive_depth",
        True,
        "planar grasps: TCP half the object's height below its top (max 3 cm), as in training",
    ),
    ParamSpec(
        "depth_offset",
        0.0,
        "planar grasps without adaptive_depth: TCP this far beyond the surface depth [m]",
        (-0.1, 0.1),
    ),
    ParamSpec(
        "pause_while_picking",
        True,
        "no detections while the executor's status reports a pick in progress: inputs "
        "seen then are dropped (they show the arm at work, and the pick ends with a new scene)",
    ),
    ParamSpec(
        "executor_status_topic",
        "/executor/status",
        "the executor's DiagnosticStatus topic (values: state)",
        read_only=True,
    ),
    ParamSpec(
        "max_pause",
        120.0,
        "a pick status older than this no longer pauses detection [s, node clock]",
        (1.0, 3600.0),
    ),
    ParamSpec("log_throttle", 5.0, "min seconds between identical warnings [s]", (0.0, 3600.0)),
]


class GraspDetectorNode(Node):
    """Runs one grasp model on the camera stream (see the module docstring)."""

    NODE_NAME = "grasp_detector"
    PARAM_SPECS = PARAMS
    HELPER_PARAM_SPECS = MOUNT_PARAMS  # declared by declare_camera_mount

    def __init__(self, **kwargs) -> None:
        super().__init__(self.NODE_NAME, **kwargs)
        p = declare_params(self, self.PARAM_SPECS)
        self.params = p
        # before the model loads: a wrong cell file stops the node at once
        T_base_camera = declare_camera_mount(self, p["base_frame"])
        p["workspace_center"] = cell_workspace_center(self, p["workspace_center"], p["base_frame"])
        self._warn = WarnThrottle(self, p["log_throttle"])
        import torch

        torch.set_num_threads(int(p["threads"]))
        self.model = load_model(p["model"], p["weights"] or None, device=p["device"])
        planar = getattr(self.model, "run", None) is not None
        self.planar = planar
        if planar and p["crop_on_workspace"]:
            self.model.workspace_center_base = tuple(float(v) for v in p["workspace_center"])
        if planar:
            from grasp_models.planar.inference import VIEWS

            self.model.view = require_choice("planar_view", p["planar_view"], VIEWS)
            self.model.depth_offset = None if p["adaptive_depth"] else float(p["depth_offset"])
            # more, closer peaks than the card's evaluation setting: the executor picks
            # the feasible ones, and on one object the card's 10 px gave 2-14 grasps
            self.model.cfg = dataclasses.replace(
                self.model.cfg,
                min_distance=int(p["peak_min_distance"]),
                threshold=float(p["peak_threshold"]),
                border=int(p["peak_border"]),
            )
        self._lock = threading.Lock()
        self._frame: RGBDFrame | None = None
        self._points: tuple[np.ndarray, np.ndarray | None, Time] | None = None
        self.detections = 0
        sensors = MutuallyExclusiveCallbackGroup()
        self.camera = RosCameraSource(
            self,
            p["color_topic"],
            p["depth_topic"],
            p["info_topic"],
            T_base_camera=T_base_camera,
            base_frame=p["base_frame"],
            slop=p["sync_slop"],
            on_frame=self._on_frame,
            on_error=lambda key, reason, _stamp: self._warn(key, reason),
            callback_group=sensors,
        )
        if "object_points" in self.model.inputs:
            self.create_subscription(
                PointCloud2,
                p["object_points_topic"],
                self._on_points,
                SENSOR_QOS,
                callback_group=sensors,
            )
        #: node-clock time [ns] of the last status that reported a pick in progress; None
        #: while the executor rests (or has said nothing)
        self._pick_status_ns: int | None = None
        self.dropped_while_picking = 0
        self.create_subscription(
            DiagnosticStatus,
            p["executor_status_topic"],
            self._on_executor_status,
            RELIABLE_QOS,
            callback_group=sensors,
        )
        self.pub_grasps = self.create_publisher(PointCloud2, "/grasp_candidates", RELIABLE_QOS)
        self.pub_markers = self.create_publisher(MarkerArray, "/grasp_markers", RELIABLE_QOS)
        self.pub_quality = self.create_publisher(Image, "/grasp_detector/quality_image", SENSOR_QOS)
        self._last_detect_ns: int | None = None
        self._wake = self.create_guard_condition(
            self._detect, callback_group=MutuallyExclusiveCallbackGroup()
        )
        self.get_logger().info(
            f"grasp detector ready: model {p['model']} ({p['weights'] or 'shipped weights'}), "
            f"camera {p['depth_topic']}"
        )

    # -- inputs ---------------------------------------------------------------------------
    def _on_executor_status(self, msg: DiagnosticStatus) -> None:
        state = msgs.executor_status_values(msg)["state"]
        if not state:
            return
        with self._lock:
            if state in msgs.EXECUTOR_RESTING_STATES:
                self._pick_status_ns = None
                return
            if self._pick_status_ns is None:  # a pick starts: what came before is stale
                self._frame = None
                self._points = None
            self._pick_status_ns = self.get_clock().now().nanoseconds

    def _picking(self) -> bool:
        """Whether detections wait: ``pause_while_picking`` and a pick in progress, as
        the executor last said, at most ``max_pause`` seconds ago."""
        since = self._pick_status_ns
        if since is None or not self.params["pause_while_picking"]:
            return False
        age = (self.get_clock().now().nanoseconds - since) * 1e-9
        if age > self.params["max_pause"]:
            self._warn(
                "pause",
                f"the executor reported a pick in progress {age:.0f} s ago and nothing "
                "since: detecting again",
            )
            return False
        return True

    def _on_frame(self, frame: RGBDFrame) -> None:
        if self._picking():
            self.dropped_while_picking += 1
            return
        with self._lock:
            self._frame = frame
        self._wake.trigger()

    def _on_points(self, msg: PointCloud2) -> None:
        if self._picking():
            self.dropped_while_picking += 1
            return
        try:
            xyz, labels = msgs.pointcloud2_to_object_points(msg, self.params["base_frame"])
        except (GraspBringupError, ValueError) as exc:
            self._warn("points", f"dropped object points: {exc}")
            return
        with self._lock:
            self._points = (xyz, labels, msg.header.stamp)
        if "frame" not in self.model.inputs:
            self._wake.trigger()

    # -- detection ------------------------------------------------------------------------
    def _detect(self) -> None:
        needs_frame = "frame" in self.model.inputs
        needs_points = "object_points" in self.model.inputs
        now_ns = self.get_clock().now().nanoseconds
        last = self._last_detect_ns
        if last is not None and 0 <= now_ns - last < self.params["period"] * 1e9:
            return  # too soon: the newest input waits for the next wake-up
        if self._picking():
            return  # an input kept while a stale pick status did not pause (max_pause)
        with self._lock:  # a detection per new frame, or per new cloud for cloud-only models
            frame = self._frame
            points = self._points
            if needs_frame:
                self._frame = None
            elif needs_points:
                self._points = None
        if needs_frame and frame is None:
            return
        if needs_points and points is None:
            if needs_frame:
                self._warn("no_points", "waiting for object points before detecting")
            return
        stamp = msgs.frame_stamp(frame) if needs_frame or points is None else points[2]
        self._last_detect_ns = now_ns
        p = self.params
        try:
            if self.planar:
                watched = self.pub_quality.get_subscription_count() > 0  # only drawn then
                out, grasps = self.model.detect(frame, p["max_grasps"], color=watched)
                view = self.model.view_warning(frame, out.view)  # the view detect made
                if view is not None:
                    self._warn("view", view)
                from grasp_models.planar.overlay import quality_overlay

                if watched:
                    overlay = quality_overlay(out.view.depth, out, out.view.color)
                    self.pub_quality.publish(
                        msgs.numpy_to_image(overlay, "rgb8", stamp, frame.frame_id)
                    )
            else:
                inp = GraspInput(
                    frame=frame,
                    object_points=None if points is None else points[0],
                    object_labels=None if points is None else points[1],
                    base_frame=p["base_frame"],
                )
                grasps = self.model.predict(inp, max_grasps=p["max_grasps"])
        except NoObjectError as exc:  # a cleared table: no grasps is the answer, not a fault
            t = msgs.stamp_to_sec(stamp)
            self._warn("no_object", f"no grasps for the input at {t:.3f} s: {exc}", info=True)
            grasps = []
        except GraspBringupError as exc:
            t = msgs.stamp_to_sec(stamp)
            self._warn("model", f"detection failed on input at {t:.3f} s: {exc}")
            return
        grasps = [g for g in grasps if g.quality >= p["min_quality"]][: p["max_grasps"]]
        base = p["base_frame"]
        other = sorted({g.frame_id for g in grasps} - {base})
        if other:  # a frame's camera mount names another base frame than this node
            self._warn("grasp_frame", f"dropped grasps in frames {other}: expected '{base}'")
            grasps = [g for g in grasps if g.frame_id == base]
        self.pub_grasps.publish(msgs.grasps_to_pointcloud2(grasps, base, stamp))
        if self.pub_markers.get_subscription_count():
            self.pub_markers.publish(msgs.grasp_markers(grasps, base, stamp))
        self.detections += 1


def main(args=None) -> None:
    run_node(GraspDetectorNode, args)
