"""RGB-D frames from ROS topics (realsense2_camera or the sim driver), for a node to use.

:class:`RosCameraSource` *takes* a node (composition): it subscribes colour, aligned depth
and camera_info with sensor-data QoS, pairs colour and depth by header stamp (an
approximate-time sync of its own: ``message_filters`` has no wheel), converts them with
:mod:`grasp_bringup.msgs` and hands out :class:`grasp_core.RGBDFrame` objects, either
pushed to ``on_frame`` (inside a node) or pulled with ``read(timeout)`` (scripts that spin
the node elsewhere). A message that cannot become a frame (unsupported encoding, sizes
that disagree, missing or zero intrinsics) is dropped and reported to ``on_error`` with a
reason; nothing raises into the executor.

:data:`MOUNT_PARAMS` and :func:`declare_camera_mount` are the static camera mount's
parameters, shared by the perception and grasp detector nodes: a cell file's camera
(``cell_layout`` / ``cell_camera``) or ``camera_position`` / ``camera_orientation``
(:func:`grasp_core.cell.camera_mount` says which wins). :func:`cell_crop_box` and
:func:`cell_workspace_center` give those nodes the perception crop box and the workspace
centre from the same cell file when they are not set explicitly
(:func:`grasp_core.cell.resolve_crop_box`, :func:`grasp_core.cell.resolve_workspace_center`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from rclpy.callback_groups import CallbackGroup, MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image

from grasp_bringup import msgs
from grasp_bringup.node_utils import ParamSpec, SilenceWatch, declare_params
from grasp_bringup.qos import LATEST_QOS, SENSOR_QOS
from grasp_core import CameraModel, GraspBringupError, RGBDFrame, ValidationError
from grasp_core.cell import (
    CameraMount,
    CellConfigError,
    camera_mount,
    link_camera,
    resolve_crop_box,
    resolve_workspace_center,
)
from grasp_core.se3 import pose_to_pq
from grasp_perception.sources.base import (
    COLOR_TOPIC,
    DEPTH_TOPIC,
    INFO_TOPIC,
    CameraSource,
    pop_stamp_pair,
)

if TYPE_CHECKING:
    from grasp_planning.camera_mount import LinkCameraMount

FrameCallback = Callable[[RGBDFrame], None]
ErrorCallback = Callable[[str, str, float], None]  # (key, reason, stamp [s])

#: The static camera mount (no tf2 wheel) of a node that reads the camera.
MOUNT_PARAMS = [
    ParamSpec(
        "cell_layout",
        "",
        "work-cell YAML (a path, or relative to config/) whose camera cell_camera is the "
        "mount; empty: camera_position/camera_orientation, else config/sim/panda_table.yaml",
        read_only=True,
    ),
    ParamSpec(
        "cell_camera",
        "overhead",
        "camera of cell_layout: fixed (eye/target), or on a link of `robot` (parent/xyz/rpy), "
        "then placed at each frame's stamp from /joint_states",
        read_only=True,
    ),
    ParamSpec(
        "robot",
        "panda",
        "robot (config/robots/<name>.yaml) whose link carries a cell camera with a parent",
        read_only=True,
    ),
    ParamSpec(
        "joint_state_max_gap",
        0.05,
        "camera on a robot link: farthest a frame's stamp may be from the joint states "
        "that place it [s]; farther, the frame is dropped",
        (0.0, 10.0),
    ),
    ParamSpec(
        "camera_position",
        Parameter.Type.DOUBLE_ARRAY,
        "camera optical frame origin in base_frame, x y z [m]; unset: from the cell file, "
        "which it must agree with when both are given",
    ),
    ParamSpec(
        "camera_orientation",
        Parameter.Type.DOUBLE_ARRAY,
        "camera optical frame orientation in base_frame, quaternion x y z w; unset: from "
        "the cell file, which it must agree with when both are given",
    ),
]


def declare_camera_mount(node: Node, base_frame: str) -> np.ndarray | LinkCameraMount:
    """Declare :data:`MOUNT_PARAMS` on ``node`` and return its camera mount: the static
    ``T_base_camera``, or for a cell camera on a robot link (``parent``) a
    :class:`~grasp_planning.camera_mount.LinkCameraMount` fed from ``/joint_states``
    (which :class:`RosCameraSource` asks for each frame's pose). Raises
    :class:`grasp_core.cell.CellConfigError` (a bad cell file, a missing camera, two
    sources that disagree). For a static mount ``camera_position`` /
    ``camera_orientation`` are then set to it, so ``ros2 param get`` shows it whichever
    source it came from."""
    values = declare_params(node, MOUNT_PARAMS)
    user = f"node {node.get_name()}"
    link = link_camera(values["cell_layout"], values["cell_camera"], base_frame, user)
    if link is not None:
        return _track_link_camera(node, link, values, base_frame, user)
    T, source = camera_mount(
        values["cell_layout"],
        values["cell_camera"],
        values["camera_position"],
        values["camera_orientation"],
        base_frame,
        user=user,
    )
    position, quat = pose_to_pq(T)
    node.set_parameters(
        [
            Parameter("camera_position", value=[float(v) for v in position]),
            Parameter("camera_orientation", value=[float(v) for v in quat]),
        ]
    )
    node.get_logger().info(
        f"camera mount from {source}: position {np.round(position, 4).tolist()}, "
        f"orientation {np.round(quat, 7).tolist()} in {base_frame}"
    )
    return T


def _track_link_camera(
    node: Node, link: CameraMount, values: dict, base_frame: str, user: str
) -> LinkCameraMount:
    """A :class:`LinkCameraMount` for ``link`` on ``values["robot"]``, fed by a
    ``/joint_states`` subscription of ``node``. Frames are placed by the messages' own
    stamps, so the camera and the joint states must share a clock (realsense2_camera's
    default system time and ros2_control's do)."""
    from sensor_msgs.msg import JointState

    from grasp_planning.camera_mount import LinkCameraMount
    from grasp_planning.robot import RobotModel, load_robot

    where = f"cameras.{values['cell_camera']} of {values['cell_layout'] or 'the sim cell'}"
    if values["camera_position"] or values["camera_orientation"]:
        raise CellConfigError(
            f"{user}: {where} is on {link.parent!r}, placed from joint states; "
            "camera_position / camera_orientation cannot fix it"
        )
    robot = RobotModel(load_robot(values["robot"]))
    if robot.config.base_frame != base_frame:
        raise CellConfigError(
            f"{user}: {where} is on {link.parent!r} of robot {values['robot']!r}, whose base "
            f"frame is {robot.config.base_frame!r}, not the node's {base_frame!r}"
        )
    mount = LinkCameraMount(
        robot, link.parent, link.T_parent_optical, max_gap=values["joint_state_max_gap"]
    )
    warn = WarnThrottle(node, 5.0)

    def on_joint_state(msg: JointState) -> None:
        why = mount.add(msgs.stamp_to_sec(msg.header.stamp), msg.name, msg.position)
        if why is not None:
            warn("joint_states", f"dropped /joint_states for the camera mount: {why}")

    node.create_subscription(
        JointState,
        "/joint_states",
        on_joint_state,
        SENSOR_QOS,
        callback_group=MutuallyExclusiveCallbackGroup(),
    )
    node.get_logger().info(
        f"camera mount: cameras.{values['cell_camera']} on {link.parent} of robot "
        f"{values['robot']}, placed at each frame's stamp from /joint_states "
        f"(at most {values['joint_state_max_gap']} s away)"
    )
    return mount


def cell_crop_box(
    node: Node, explicit: dict[str, float | None], base_frame: str
) -> dict[str, float]:
    """The perception crop box ``{crop_x_min: .., ...}`` [m] of ``node``: the crop_*
    values given (``explicit``, None: not given) win, the rest come from the workspace of
    its ``cell_layout`` (declared by :func:`declare_camera_mount`). The crop_* parameters
    are then set to the box in use (``ros2 param get``); raises
    :class:`grasp_core.cell.CellConfigError` (a bad cell file, a bin inside the box)."""
    values, source, warning = resolve_crop_box(
        node.get_parameter("cell_layout").value,
        explicit,
        base_frame,
        user=f"node {node.get_name()}",
    )
    node.set_parameters([Parameter(k, value=float(v)) for k, v in values.items()])
    box = ", ".join(f"{k[5:]} {v:g}" for k, v in values.items())
    node.get_logger().info(f"crop box from {source}: {box} in {base_frame}")
    if warning:
        node.get_logger().warning(warning)
    return values


def cell_workspace_center(node: Node, explicit: list[float] | None, base_frame: str) -> np.ndarray:
    """The workspace centre (x y z [m]) of ``node``: ``explicit`` when given, else the
    centre of its ``cell_layout``'s workspace on the table top; the ``workspace_center``
    parameter is then set to it."""
    centre, source = resolve_workspace_center(
        node.get_parameter("cell_layout").value,
        explicit,
        base_frame,
        user=f"node {node.get_name()}",
    )
    node.set_parameters([Parameter("workspace_center", value=[float(v) for v in centre])])
    node.get_logger().info(
        f"workspace centre from {source}: {np.round(centre, 4).tolist()} in {base_frame}"
    )
    return centre


#: [s] after the first image, frames without a CameraInfo yet are dropped silently: a
#: camera's first images often come before its first CameraInfo (every start warned).
INFO_GRACE = 2.0


class WarnThrottle:
    """Log a warning at most once per ``period`` [s] for each key (rclpy's own throttle is
    per call site, which would hide one problem behind another); ``info=True`` logs a
    state worth seeing that is not a fault (an empty table) at INFO instead."""

    def __init__(self, node: Node, period: float = 5.0) -> None:
        self._logger = node.get_logger()
        self.period = float(period)
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, text: str, info: bool = False) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.period:
                return False
            self._last[key] = now
        # two lines: rclpy refuses two severities from one call site (ValueError)
        if info:
            self._logger.info(text)
        else:
            self._logger.warning(text)
        return True


class RosCameraSource(CameraSource):
    """Synchronised RGB-D frames from three topics on ``node``.

    ``slop`` [s] is the largest colour/depth stamp difference that still makes a pair.
    With ``require_color=False`` depth frames are emitted alone until the first colour
    image arrives (depth-only cameras). ``T_base_camera`` is the static mount of the
    optical frame in ``base_frame`` (``set_extrinsic`` updates it), or a mount with an
    ``at(stamp)`` method (:class:`~grasp_planning.camera_mount.LinkCameraMount`, a
    camera on a robot link) that places each frame where the camera was at its stamp; a
    frame it cannot place is dropped with the reason.
    """

    def __init__(
        self,
        node: Node,
        color_topic: str = COLOR_TOPIC,
        depth_topic: str = DEPTH_TOPIC,
        info_topic: str = INFO_TOPIC,
        T_base_camera: np.ndarray | LinkCameraMount | None = None,
        base_frame: str = "panda_link0",
        slop: float = 0.02,
        require_color: bool = False,
        on_frame: FrameCallback | None = None,
        on_error: ErrorCallback | None = None,
        callback_group: CallbackGroup | None = None,
        queue_size: int = 5,
    ) -> None:
        self.node = node
        self.base_frame = base_frame
        self.slop = float(slop)
        self.require_color = bool(require_color)
        self._mount = T_base_camera if hasattr(T_base_camera, "at") else None
        self._T = (
            np.eye(4)
            if T_base_camera is None or self._mount is not None
            else np.asarray(T_base_camera, float)
        )
        self._on_frame = on_frame
        self._on_error = on_error
        self._frames: queue.Queue[RGBDFrame] = queue.Queue(maxsize=max(queue_size, 1))
        self._colors: deque[tuple[float, Image]] = deque(maxlen=max(queue_size, 2))
        self._depths: deque[tuple[float, Image]] = deque(maxlen=max(queue_size, 2))
        self._infos: deque[tuple[float, CameraInfo]] = deque(maxlen=max(queue_size, 2))
        self._first_image: float | None = None  # monotonic time of the first frame without info
        self._camera: tuple[tuple, CameraModel] | None = None
        self._seen_color = False
        self._lock = threading.Lock()
        self._closed = False
        group = callback_group or MutuallyExclusiveCallbackGroup()
        self._subs = [
            node.create_subscription(
                Image, color_topic, self._color_cb, LATEST_QOS, callback_group=group
            ),
            node.create_subscription(
                Image, depth_topic, self._depth_cb, LATEST_QOS, callback_group=group
            ),
            node.create_subscription(
                CameraInfo, info_topic, self._info_cb, SENSOR_QOS, callback_group=group
            ),
        ]
        self.topics = (color_topic, depth_topic, info_topic)
        self.frames_out = 0
        self.dropped = 0
        self._silence = SilenceWatch(
            node, depth_topic, "depth image", "is the camera driver running, on this topic?", group
        )

    # -- configuration ------------------------------------------------------------------
    @property
    def extrinsic(self) -> np.ndarray:
        """The camera mount ``T_base_camera`` the frames are placed with."""
        with self._lock:
            return self._T.copy()

    def set_extrinsic(self, T_base_camera: np.ndarray) -> None:
        """New camera mount for the following frames."""
        with self._lock:
            self._T = np.asarray(T_base_camera, dtype=float)
            self._camera = None

    # -- callbacks ----------------------------------------------------------------------
    def _info_cb(self, msg: CameraInfo) -> None:
        with self._lock:
            self._infos.append((msgs.stamp_to_sec(msg.header.stamp), msg))

    def _color_cb(self, msg: Image) -> None:
        with self._lock:
            self._seen_color = True
            self._colors.append((msgs.stamp_to_sec(msg.header.stamp), msg))
            pair = self._match()
        if pair is not None:
            self._emit(*pair)

    def _depth_cb(self, msg: Image) -> None:
        self._silence.heard()
        with self._lock:
            self._depths.append((msgs.stamp_to_sec(msg.header.stamp), msg))
            pair = self._match()
        if pair is not None:
            self._emit(*pair)

    def _match(self) -> tuple[Image, Image | None] | None:
        """Oldest depth image with a colour partner within ``slop`` (caller holds the lock)."""
        if not self._depths:
            return None
        if not self._seen_color and not self.require_color:
            return self._depths.popleft()[1], None
        return pop_stamp_pair(self._depths, self._colors, self.slop)

    def _report(self, key: str, reason: str, stamp: float) -> None:
        self.dropped += 1
        if self._on_error is not None:
            self._on_error(key, reason, stamp)

    def _camera_model(self, info: CameraInfo) -> CameraModel:
        key = (tuple(info.k), info.width, info.height, info.header.frame_id)
        cached = self._camera
        if cached is not None and cached[0] == key:
            return cached[1]
        model = msgs.camera_info_to_model(info, self._T, self.base_frame)
        self._camera = (key, model)
        return model

    def _emit(self, depth_msg: Image, color_msg: Image | None) -> None:
        stamp = msgs.stamp_to_sec(depth_msg.header.stamp)
        frame = self.to_frame(depth_msg, color_msg, stamp)
        if frame is None:
            return
        self.frames_out += 1
        if self._on_frame is not None:
            self._on_frame(frame)
            return
        while True:
            try:
                self._frames.put_nowait(frame)
                return
            except queue.Full:  # keep the newest frames
                try:
                    self._frames.get_nowait()
                except queue.Empty:
                    pass

    def to_frame(self, depth_msg: Image, color_msg: Image | None, stamp: float) -> RGBDFrame | None:
        """Convert one pair, or report why not (returns None)."""
        with self._lock:
            # the CameraInfo stamped with this frame, else the newest one
            info = min(self._infos, key=lambda i: abs(i[0] - stamp), default=(0.0, None))
            if abs(info[0] - stamp) > self.slop and self._infos:
                info = self._infos[-1]
            info = info[1]
        if info is None:
            now = time.monotonic()
            if self._first_image is None:
                self._first_image = now
            if now - self._first_image < INFO_GRACE:  # the usual start: no report
                self.dropped += 1
                return None
            self._report("no_info", f"no CameraInfo on {self.topics[2]} yet; frame dropped", stamp)
            return None
        try:
            camera = self._camera_model(info)
            depth = msgs.depth_msg_to_m(depth_msg)
            color = None if color_msg is None else msgs.color_msg_to_rgb(color_msg)
        except ValidationError as exc:  # MessageError and CameraModel checks
            self._report("decode", f"dropped RGB-D frame: {exc}", stamp)
            return None
        sizes = {"camera_info": (camera.height, camera.width), "depth": depth.shape}
        if color is not None:
            sizes["colour"] = color.shape[:2]
        if len(set(sizes.values())) != 1:
            text = ", ".join(f"{k} {w}x{h}" for k, (h, w) in sizes.items())
            self._report("size", f"dropped RGB-D frame: image sizes disagree ({text})", stamp)
            return None
        if self._mount is not None:
            try:
                camera = camera.with_extrinsic(self._mount.at(stamp))
            except GraspBringupError as exc:
                self._report("mount", f"dropped RGB-D frame: {exc}", stamp)
                return None
        frame_id = depth_msg.header.frame_id or camera.frame_id
        return RGBDFrame(
            depth=depth,
            camera=camera,
            color=color,
            stamp=stamp,
            frame_id=frame_id,
            stamp_ns=msgs.stamp_to_ns(depth_msg.header.stamp),
        )

    # -- CameraSource -------------------------------------------------------------------
    def read(self, timeout: float | None = 1.0) -> RGBDFrame | None:
        """Next frame (needs the node spun by an executor in another thread)."""
        if self._closed:
            return None
        try:
            return self._frames.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for sub in self._subs:
                self.node.destroy_subscription(sub)
            self._subs = []
            self._silence.close()
