"""Record RGB-D frames to, and play them back from, rosbag2-compatible MCAP files.

Files use the ``ros2`` MCAP profile (``ros2msg`` schemas, ``cdr`` messages) on the
realsense2_camera topic names, so ``ros2 bag play recording.mcap`` replays them on a
robot machine, and bags recorded there with ``ros2 bag record -s mcap`` play back here.
The camera mount ``T_base_camera`` travels as one ``/tf_static`` message (base frame ->
optical frame). Only the ``mcap`` and ``mcap-ros2-support`` packages are needed (no rclpy).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from mcap.exceptions import McapError
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from mcap_ros2.writer import Writer as Ros2Writer

from grasp_core.errors import ValidationError
from grasp_core.frame import RGBDFrame
from grasp_core.se3 import invert
from grasp_core.validation import require_choice, require_range
from grasp_perception.errors import RecordingError
from grasp_perception.sources import ros_dicts
from grasp_perception.sources.base import (
    COLOR_TOPIC,
    DEPTH_TOPIC,
    INFO_TOPIC,
    TF_STATIC_TOPIC,
    CameraSource,
    pop_stamp_pair,
)

_log = logging.getLogger(__name__)


class McapRecorder:
    """Write frames to ``path`` (written to ``path.part``, renamed on ``close()``).

    ``depth_encoding`` is ``"16UC1"`` (millimetres, as realsense2_camera publishes:
    depth is rounded to 1 mm) or ``"32FC1"`` (metres, lossless). Frames without colour
    record depth and camera_info only.
    """

    def __init__(
        self,
        path: str | Path,
        depth_encoding: str = "16UC1",
        color_topic: str = COLOR_TOPIC,
        depth_topic: str = DEPTH_TOPIC,
        info_topic: str = INFO_TOPIC,
        compression: str = "zstd",
    ) -> None:
        from mcap.writer import CompressionType

        self.path = Path(path)
        self.depth_encoding = require_choice("depth_encoding", depth_encoding, ("16UC1", "32FC1"))
        comp = require_choice("compression", compression, ("zstd", "lz4", "none"))
        self.topics = (color_topic, depth_topic, info_topic)
        self._tmp = self.path.with_name(self.path.name + ".part")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self._tmp, "wb")
        self._writer = Ros2Writer(self._file, compression=CompressionType[comp.upper()])
        self._schemas = {
            name: self._writer.register_msgdef(name, text)
            for name, text in ros_dicts.SCHEMAS.items()
        }
        self._tf_written = False
        self._seq = 0
        self.frames_written = 0
        self._closed = False

    def _write(self, topic: str, type_name: str, msg: dict, log_ns: int) -> None:
        self._writer.write_message(
            topic,
            self._schemas[type_name],
            msg,
            log_time=log_ns,
            publish_time=log_ns,
            sequence=self._seq,
        )
        self._seq += 1

    def write(self, frame: RGBDFrame) -> None:
        """Append one frame (stamped ``frame.stamp``; wall time when the stamp is 0)."""
        if self._closed:
            raise RecordingError(f"{self.path}: recorder is closed")
        stamp = frame.stamp if frame.stamp > 0 else time.time()
        log_ns = int(round(stamp * 1e9))
        cam = frame.camera
        color_topic, depth_topic, info_topic = self.topics
        if not self._tf_written:
            tf = ros_dicts.tf_static_dict(cam.T_base_camera, cam.base_frame, frame.frame_id, stamp)
            self._write(TF_STATIC_TOPIC, "tf2_msgs/msg/TFMessage", tf, log_ns)
            self._tf_written = True
        info = ros_dicts.camera_info_dict(cam, stamp, frame.frame_id)
        self._write(info_topic, "sensor_msgs/msg/CameraInfo", info, log_ns)
        if frame.color is not None:
            img = ros_dicts.image_dict(frame.color, "rgb8", stamp, frame.frame_id)
            self._write(color_topic, "sensor_msgs/msg/Image", img, log_ns)
        depth = ros_dicts.depth_image_dict(frame.depth, self.depth_encoding, stamp, frame.frame_id)
        self._write(depth_topic, "sensor_msgs/msg/Image", depth, log_ns)
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file and move it to its final name; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._writer.finish()
        self._file.close()
        os.replace(self._tmp, self.path)

    def __enter__(self) -> McapRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class McapSource(CameraSource):
    """Play an MCAP recording (ours or ``ros2 bag record -s mcap``) as RGB-D frames.

    Colour and depth are paired by header stamp (within ``slop`` [s]); the latest
    camera_info gives the intrinsics. ``T_base_camera`` is the argument if given, else the
    chain of ``/tf_static`` transforms from ``base_frame`` to the depth image's frame (all
    of the recording's ``/tf_static`` messages, read when it is opened), else, in a
    recording with no ``/tf_static`` at all, ``default_T_base_camera`` (identity when not
    given). A recording whose transforms do not connect the two frames raises
    :class:`RecordingError` naming the frames it has.
    ``realtime=True`` paces frames by their stamps, ``False`` is as fast as possible.
    A recording without the colour topic yields depth-only frames.

    A message that cannot be decoded (a truncated or unsupported image, sizes that
    disagree, images before the first camera_info) is skipped: ``skipped`` counts them and
    ``skip_reasons`` keeps the first reason of each kind; a warning is logged once per kind.
    """

    def __init__(
        self,
        path: str | Path,
        realtime: bool = True,
        color_topic: str = COLOR_TOPIC,
        depth_topic: str = DEPTH_TOPIC,
        info_topic: str = INFO_TOPIC,
        T_base_camera: np.ndarray | None = None,
        base_frame: str = "panda_link0",
        slop: float = 0.02,
        default_T_base_camera: np.ndarray | None = None,
    ) -> None:
        self.path = Path(path)
        self._T_default = (
            np.eye(4) if default_T_base_camera is None else np.asarray(default_T_base_camera, float)
        )
        self.realtime = bool(realtime)
        self.slop = require_range("slop", slop, 0.0, 1.0)
        self.color_topic, self.depth_topic, self.info_topic = color_topic, depth_topic, info_topic
        self.base_frame = base_frame
        self._T_override = T_base_camera
        if not self.path.is_file():
            raise RecordingError(f"{self.path}: no such recording")
        self._file = open(self.path, "rb")
        try:
            reader = make_reader(self._file, decoder_factories=[DecoderFactory()])
            summary = reader.get_summary()
            topics = {c.topic for c in summary.channels.values()} if summary else set()
        except (McapError, ValueError) as exc:
            self._file.close()
            raise RecordingError(f"{self.path}: not a readable MCAP file: {exc}") from exc
        missing = [t for t in (depth_topic, info_topic) if t not in topics]
        if missing:
            self._file.close()
            raise RecordingError(
                f"{self.path}: topics {missing} not recorded; it has {sorted(topics)}"
            )
        self.has_color = color_topic in topics
        wanted = [depth_topic, info_topic] + ([color_topic] if self.has_color else [])
        try:  # the whole static tree first: a bag's /tf_static may follow its first images
            self._edges = {
                (parent, child): T
                for *_, msg in reader.iter_decoded_messages(topics=[TF_STATIC_TOPIC])
                for parent, child, T in ros_dicts.decode_tf(msg)
            }
        except (McapError, ValueError, RecordingError) as exc:
            self._file.close()
            raise RecordingError(f"{self.path}: unreadable {TF_STATIC_TOPIC}: {exc}") from exc
        self._messages = reader.iter_decoded_messages(topics=wanted, log_time_order=True)
        self._colors: deque[tuple[float, Any]] = deque(maxlen=10)
        self._depths: deque[tuple[float, Any]] = deque(maxlen=10)
        self._info: Any = None
        self._T_chain: dict[str, np.ndarray] = {}
        self.skipped = 0
        self.skip_reasons: dict[str, str] = {}
        self._pending: RGBDFrame | None = None
        self._t0: tuple[float, float] | None = None  # (first stamp, wall time)
        self._closed = False

    # -- decoding ---------------------------------------------------------------------
    def _T_base_camera(self, optical_frame: str) -> np.ndarray:
        if self._T_override is not None:
            return np.asarray(self._T_override, dtype=np.float64)
        if not self._edges:
            return self._T_default
        if optical_frame not in self._T_chain:
            T = static_chain(self._edges, self.base_frame, optical_frame)
            if T is None:
                frames = sorted({f for edge in self._edges for f in edge})
                raise RecordingError(
                    f"{self.path}: {TF_STATIC_TOPIC} has no chain from '{self.base_frame}' to "
                    f"'{optical_frame}' (frames: {frames}); pass T_base_camera= or base_frame="
                )
            self._T_chain[optical_frame] = T
        return self._T_chain[optical_frame]

    def _make_frame(self, depth_msg: Any, color_msg: Any | None) -> RGBDFrame:
        if self._info is None:
            raise _Skip("no_info", f"depth image before any {self.info_topic}")
        optical = str(depth_msg.header.frame_id) or str(self._info.header.frame_id)
        T_base_camera = self._T_base_camera(optical)  # a recording's fault: raises
        try:
            camera = ros_dicts.decode_camera_info(
                self._info, T_base_camera, self.base_frame, self.info_topic
            )
            depth = ros_dicts.decode_depth(depth_msg, self.depth_topic)
            color = (
                None if color_msg is None else ros_dicts.decode_color(color_msg, self.color_topic)
            )
        except (ValidationError, ValueError) as exc:
            raise _Skip("decode", str(exc)) from exc
        shapes = {"camera_info": (camera.height, camera.width), "depth": depth.shape}
        if color is not None:
            shapes["colour"] = color.shape[:2]
        if len(set(shapes.values())) != 1:
            raise _Skip("sizes", f"image sizes disagree: {shapes}")
        return RGBDFrame(
            depth=depth,
            camera=camera,
            color=color,
            stamp=ros_dicts.stamp_sec(depth_msg.header.stamp),
            frame_id=optical,
        )

    def _match(self) -> RGBDFrame | None:
        if not self._depths:
            return None
        if not self.has_color:
            return self._make_frame(self._depths.popleft()[1], None)
        pair = pop_stamp_pair(self._depths, self._colors, self.slop)
        return None if pair is None else self._make_frame(*pair)

    def _next_frame(self) -> RGBDFrame | None:
        for _schema, channel, _message, msg in self._messages:
            topic = channel.topic
            if topic == self.info_topic:
                self._info = msg
            elif topic == self.depth_topic:
                self._depths.append((ros_dicts.stamp_sec(msg.header.stamp), msg))
            elif topic == self.color_topic:
                self._colors.append((ros_dicts.stamp_sec(msg.header.stamp), msg))
            if topic in (self.depth_topic, self.color_topic):
                try:
                    frame = self._match()
                except _Skip as skip:
                    self._skip(skip)
                    continue
                if frame is not None:
                    return frame
        return None

    def _skip(self, skip: _Skip) -> None:
        self.skipped += 1
        if skip.kind not in self.skip_reasons:
            self.skip_reasons[skip.kind] = skip.reason
            _log.warning(
                "%s: skipped a frame: %s (further ones of this kind are counted)",
                self.path,
                skip.reason,
            )

    # -- CameraSource -----------------------------------------------------------------
    def read(self, timeout: float | None = 1.0) -> RGBDFrame | None:
        if self._closed:
            return None
        if self._pending is None:
            self._pending = self._next_frame()
            if self._pending is None:
                self.close()
                return None
        frame = self._pending
        if self.realtime:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = (frame.stamp, now)
            due = self._t0[1] + (frame.stamp - self._t0[0])
            wait = due - now
            if timeout is not None and wait > timeout:
                time.sleep(max(timeout, 0.0))
                return None
            if wait > 0:
                time.sleep(wait)
        self._pending = None
        return frame

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._file.close()


class _Skip(Exception):
    """One frame of a recording that cannot be used (``kind`` groups the warnings)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def static_chain(
    edges: dict[tuple[str, str], np.ndarray], source: str, target: str
) -> np.ndarray | None:
    """``T_source_target`` composed along ``edges`` (``(parent, child) -> T_parent_child``,
    walked either way), or None when no chain connects the two frames."""
    if source == target:
        return np.eye(4)
    links: dict[str, list[tuple[str, np.ndarray]]] = {}
    for (parent, child), T in edges.items():
        links.setdefault(parent, []).append((child, T))
        links.setdefault(child, []).append((parent, invert(T)))
    seen, todo = {source}, deque([(source, np.eye(4))])
    while todo:
        frame, T = todo.popleft()
        for nxt, T_step in links.get(frame, ()):
            if nxt in seen:
                continue
            if nxt == target:
                return T @ T_step
            seen.add(nxt)
            todo.append((nxt, T @ T_step))
    return None
