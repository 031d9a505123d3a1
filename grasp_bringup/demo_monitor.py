"""A node that watches the running graph for the demo, the e2e test and the benchmark:
executor status, grasp candidates, perception output, ground-truth object poses and the
camera; and asks the executor to pick. It only reads topics and calls /executor/pick."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseArray
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node, NodeNameNonExistentError
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import String
from std_srvs.srv import Trigger

from grasp_bringup import msgs
from grasp_bringup.node_utils import endpoints_outside
from grasp_bringup.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from grasp_core import CameraModel, Grasp, GraspBringupError


class FrameArrivals:
    """When each camera frame arrived (wall clock, by stamp), kept for ``memory_s`` seconds
    of wall time, so that a detection slower than that is the only one not timed. (Until
    2026-12-07 the last 200 frames were kept: 13 s at 15 Hz, and every slower detection
    went unrecorded, so the latency benchmark reported only the fast ones.)"""

    def __init__(self, memory_s: float = 300.0) -> None:
        self.memory_s = memory_s
        self._arrived: dict[float, float] = {}  # stamp -> arrival, oldest first
        #: candidate messages whose frame had been forgotten or never seen
        self.unmatched = 0

    def arrived(self, stamp: float, now: float) -> None:
        self._arrived[round(stamp, 6)] = now
        while self._arrived:
            first = next(iter(self._arrived))
            if now - self._arrived[first] <= self.memory_s:
                break
            del self._arrived[first]

    def latency(self, stamp: float, now: float) -> float | None:
        """Seconds from the arrival of frame ``stamp`` to ``now``; None if not known."""
        seen = self._arrived.get(round(stamp, 6))
        if seen is None:
            self.unmatched += 1
            return None
        return now - seen


@dataclass
class Latest:
    """The newest message of a kind, when it arrived (ROS clock, [s]) and its stamp [s]."""

    value: object = None
    received: float = 0.0
    stamp: float = 0.0
    count: int = 0


@dataclass
class ExecutorStatus:
    state: str = ""
    message: str = ""
    values: dict[str, str] = field(default_factory=dict)
    received: float = 0.0


class DemoMonitor(Node):
    """Watches the graph; see the module docstring. ``T_base_camera`` places the camera
    for drawing grasps on its images."""

    def __init__(self, T_base_camera: np.ndarray | None, images: bool = True, **kwargs) -> None:
        super().__init__("demo_monitor", **kwargs)
        self.T_base_camera = T_base_camera
        #: decode colour images and subscribe the quality map and the viewer (for pictures);
        #: without, camera frames only time the detection latency
        self.images = images
        self._cond = threading.Condition()
        self.status = ExecutorStatus()
        self.status_history: list[ExecutorStatus] = []
        self.candidates = Latest()
        self.object_points = Latest()
        self.poses = Latest()
        self.color = Latest()
        self.quality_image = Latest()
        self.viewer = Latest()
        self.camera: CameraModel | None = None
        #: wall-clock arrival of recent camera frames by stamp, and the wall-clock latency
        #: camera frame -> grasp candidates of every candidate message [s]
        self.frames = FrameArrivals()
        self.detect_latencies: list[float] = []
        self.object_names: list[str] = []
        group = ReentrantCallbackGroup()
        topics = (
            (DiagnosticStatus, "/executor/status", self._on_status, RELIABLE_QOS),
            (PointCloud2, "/grasp_candidates", self._on_candidates, RELIABLE_QOS),
            (PointCloud2, "/perception/object_points", self._on_points, SENSOR_QOS),
            (PoseArray, "/sim/object_poses", self._on_poses, RELIABLE_QOS),
            (String, "/sim/object_names", self._on_names, LATCHED_QOS),
            (Image, "/camera/camera/color/image_raw", self._on_color, SENSOR_QOS),
            (CameraInfo, "/camera/camera/color/camera_info", self._on_info, SENSOR_QOS),
            (Image, "/grasp_detector/quality_image", self._on_quality, SENSOR_QOS),
            (Image, "/sim/viewer/image_raw", self._on_viewer, SENSOR_QOS),
        )
        if not images:
            topics = tuple(t for t in topics if t[2] not in (self._on_quality, self._on_viewer))
        for msg_type, topic, callback, qos in topics:
            self.create_subscription(msg_type, topic, callback, qos, callback_group=group)
        self.pick_client = self.create_client(Trigger, "/executor/pick", callback_group=group)

    # -- clock --------------------------------------------------------------------------
    def now(self) -> float:
        """ROS time [s] (simulated when use_sim_time)."""
        return self.get_clock().now().nanoseconds * 1e-9

    def _store(self, latest: Latest, value: object, stamp: float) -> None:
        with self._cond:
            latest.value, latest.received, latest.stamp = value, self.now(), stamp
            latest.count += 1
            self._cond.notify_all()

    # -- callbacks ----------------------------------------------------------------------
    def _on_status(self, msg: DiagnosticStatus) -> None:
        values = msgs.executor_status_values(msg)
        status = ExecutorStatus(values["state"], msg.message, values, self.now())
        with self._cond:
            self.status = status
            self.status_history.append(status)
            self._cond.notify_all()

    def _on_candidates(self, msg: PointCloud2) -> None:
        try:
            grasps, _ = msgs.pointcloud2_to_grasps(msg)
        except GraspBringupError:
            return
        stamp = msgs.stamp_to_sec(msg.header.stamp)
        with self._cond:
            lat = self.frames.latency(stamp, time.monotonic())
            if lat is not None:
                self.detect_latencies.append(lat)
        self._store(self.candidates, grasps, stamp)

    def _on_points(self, msg: PointCloud2) -> None:
        self._store(self.object_points, msg.width * msg.height, msgs.stamp_to_sec(msg.header.stamp))

    def _on_poses(self, msg: PoseArray) -> None:
        xyz = np.array([[p.position.x, p.position.y, p.position.z] for p in msg.poses])
        self._store(self.poses, xyz.reshape(-1, 3), msgs.stamp_to_sec(msg.header.stamp))

    def _on_names(self, msg: String) -> None:
        with self._cond:
            self.object_names = list(json.loads(msg.data))

    def _on_color(self, msg: Image) -> None:
        stamp = msgs.stamp_to_sec(msg.header.stamp)
        with self._cond:
            self.frames.arrived(stamp, time.monotonic())
        if not self.images:
            return
        try:
            rgb = msgs.color_msg_to_rgb(msg)
        except GraspBringupError:
            return
        self._store(self.color, rgb, stamp)

    def _on_info(self, msg: CameraInfo) -> None:
        if self.camera is None and self.T_base_camera is not None:
            try:
                self.camera = msgs.camera_info_to_model(msg, self.T_base_camera)
            except GraspBringupError:
                pass

    def _on_viewer(self, msg: Image) -> None:
        try:
            self._store(
                self.viewer, msgs.color_msg_to_rgb(msg), msgs.stamp_to_sec(msg.header.stamp)
            )
        except GraspBringupError:
            pass

    def _on_quality(self, msg: Image) -> None:
        try:
            self._store(
                self.quality_image, msgs.color_msg_to_rgb(msg), msgs.stamp_to_sec(msg.header.stamp)
            )
        except GraspBringupError:
            pass

    # -- queries ------------------------------------------------------------------------
    def foreign_robot_endpoints(
        self, ours: set[str], driver: str = "sim_driver"
    ) -> list[str] | None:
        """Nodes outside ``ours`` that would take part in driving the robot: subscribers
        to the topics the simulated robot (node ``driver``) takes commands on, and other
        publishers of the topics it publishes and ``ours`` read (its joint states). A
        real robot's controller or state publisher on this ROS domain shows up here:
        the demo's executor would command it. Each entry: "node on topic (role)".

        None while discovery is not through: a node of ``ours`` not seen by name yet, or
        an endpoint whose node is not known by name (DDS reports endpoints before the
        node names that own them), which could be ours or not."""
        if not ours <= set(self.get_node_names()):
            return None
        try:
            commands = self.get_subscriber_names_and_types_by_node(driver, "/")
            published = self.get_publisher_names_and_types_by_node(driver, "/")
        except NodeNameNonExistentError:
            return None
        readers_of = {t: self.get_subscriptions_info_by_topic(t) for t, _ in commands + published}
        suspects = [(t, readers_of[t], "subscribes the commands") for t, _ in commands]
        for topic, _ in published:  # only what the graph's own nodes read (joint states)
            if {i.node_name for i in readers_of[topic]} & (ours - {driver, self.get_name()}):
                suspects.append(
                    (topic, self.get_publishers_info_by_topic(topic), "publishes it too")
                )
        return endpoints_outside(suspects, ours)

    def wait_for(self, predicate, timeout: float) -> bool:
        """Wait (wall clock) until ``predicate()`` holds, evaluated under the lock."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def object_positions(self) -> dict[str, np.ndarray]:
        with self._cond:
            xyz = self.poses.value
            names = list(self.object_names)
        if xyz is None:
            return {}
        if len(names) != len(xyz):
            names = [f"object_{i}" for i in range(len(xyz))]
        return dict(zip(names, xyz, strict=True))

    def latest_grasps(self) -> list[Grasp]:
        with self._cond:
            return list(self.candidates.value or [])

    def request_pick(self, timeout: float = 10.0) -> tuple[bool, str]:
        """Call /executor/pick; (accepted, message)."""
        if not self.pick_client.wait_for_service(timeout_sec=timeout):
            return False, "/executor/pick is not available"
        future = self.pick_client.call_async(Trigger.Request())
        deadline = time.monotonic() + timeout
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not future.done():
            return False, "/executor/pick did not answer"
        res = future.result()
        return bool(res.success), res.message
