"""Intel RealSense read directly through pyrealsense2 (no ROS driver needed).

Depth is aligned to the colour stream (``rs.align``) and scaled to metres with the
device's depth scale; intrinsics are the colour stream's. ``pyrealsense2`` is imported
when a source is opened, so this module imports without it.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from grasp_core.camera import CameraModel
from grasp_core.frame import RGBDFrame
from grasp_core.validation import require_range
from grasp_perception.errors import DeviceNotFoundError, SourceError
from grasp_perception.sources.base import CameraSource


def pyrealsense2_available() -> bool:
    """True when the pyrealsense2 wheel is installed."""
    return importlib.util.find_spec("pyrealsense2") is not None


def connected_serials() -> list[str]:
    """Serial numbers of the connected RealSense devices (empty without pyrealsense2)."""
    if not pyrealsense2_available():
        return []
    import pyrealsense2 as rs

    return [d.get_info(rs.camera_info.serial_number) for d in rs.context().query_devices()]


def frame_from_arrays(
    color: np.ndarray | None,
    depth_raw: np.ndarray,
    depth_scale: float,
    intrinsics: tuple[float, float, float, float],
    T_base_camera: np.ndarray,
    stamp: float,
    frame_id: str = "camera_color_optical_frame",
    base_frame: str = "panda_link0",
) -> RGBDFrame:
    """RGBDFrame of an aligned z16 depth image (units of ``depth_scale`` [m]) and RGB colour.

    ``intrinsics`` are ``(fx, fy, ppx, ppy)`` [px] of the colour stream.
    """
    require_range("depth_scale", depth_scale, 0.0, 1.0, low_inclusive=False)
    depth_raw = np.asarray(depth_raw)
    h, w = depth_raw.shape
    fx, fy, ppx, ppy = intrinsics
    camera = CameraModel.from_intrinsics(
        fx,
        fy,
        ppx,
        ppy,
        w,
        h,
        T_base_camera=T_base_camera,
        frame_id=frame_id,
        base_frame=base_frame,
    )
    depth = depth_raw.astype(np.float32) * np.float32(depth_scale)
    return RGBDFrame(depth=depth, camera=camera, color=color, stamp=stamp, frame_id=frame_id)


class RealSenseSource(CameraSource):
    """Stream colour (rgb8) + depth (z16, aligned to colour) from a RealSense device.

    ``serial`` picks a device (default: the first one); ``width`` x ``height`` at ``fps``
    [Hz] is the profile requested for both streams. ``T_base_camera`` is the camera mount
    (static; pass the forward-kinematics pose for a wrist camera via ``set_extrinsic``).
    Raises :class:`DeviceNotFoundError` when no (matching) device is connected.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        serial: str | None = None,
        T_base_camera: np.ndarray | None = None,
        frame_id: str = "camera_color_optical_frame",
        base_frame: str = "panda_link0",
    ) -> None:
        if not pyrealsense2_available():
            raise SourceError(
                "RealSenseSource needs pyrealsense2: pip install 'pyrealsense2>=2.55,<3'"
            )
        import pyrealsense2 as rs

        serials = connected_serials()
        if not serials or (serial is not None and serial not in serials):
            want = f"serial {serial!r}" if serial else "any device"
            raise DeviceNotFoundError(f"RealSense: {want} not connected; connected: {serials}")
        self._rs: Any = rs
        self.T_base_camera = np.eye(4) if T_base_camera is None else np.asarray(T_base_camera)
        self.frame_id, self.base_frame = frame_id, base_frame
        config = rs.config()
        config.enable_device(serial or serials[0])
        config.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
        config.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
        self._pipeline = rs.pipeline()
        try:
            profile = self._pipeline.start(config)
        except RuntimeError as exc:
            raise SourceError(f"RealSense: cannot start {width}x{height}@{fps}: {exc}") from exc
        self.depth_scale = float(profile.get_device().first_depth_sensor().get_depth_scale())
        intr = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
        self.intrinsics = (intr.fx, intr.fy, intr.ppx, intr.ppy)
        self._align = rs.align(rs.stream.color)
        self._closed = False

    def set_extrinsic(self, T_base_camera: np.ndarray) -> None:
        """Camera pose in the base frame used for the next frames."""
        self.T_base_camera = np.asarray(T_base_camera, dtype=np.float64)

    def read(self, timeout: float | None = 1.0) -> RGBDFrame | None:
        if self._closed:
            return None
        ms = 2**31 - 1 if timeout is None else max(int(timeout * 1000), 1)
        try:
            ok, frames = self._pipeline.try_wait_for_frames(ms)
        except RuntimeError as exc:
            raise SourceError(f"RealSense: streaming failed: {exc}") from exc
        if not ok:
            return None
        frames = self._align.process(frames)
        depth, color = frames.get_depth_frame(), frames.get_color_frame()
        if not depth or not color:
            return None
        return frame_from_arrays(
            np.asanyarray(color.get_data()).copy(),
            np.asanyarray(depth.get_data()),
            self.depth_scale,
            self.intrinsics,
            self.T_base_camera,
            frames.get_timestamp() * 1e-3,
            self.frame_id,
            self.base_frame,
        )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pipeline.stop()
