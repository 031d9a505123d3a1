"""sensor_msgs/Image, CameraInfo and tf2_msgs/TFMessage as plain dicts / decoded objects.

The MCAP recorder and player work without rclpy, so they cannot use grasp_bringup.msgs
(which builds rclpy message objects, and which this library may not import: DESIGN §2).
This module is the dict-side twin of that codec for the three camera message types:
same encodings (rgb8/bgr8/rgba8/bgra8/mono8 colour, 16UC1 mm or 32FC1 m depth), same
CameraInfo layout (plumb_bob, zero distortion, P = [K | 0]).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grasp_core.camera import CameraModel
from grasp_core.frame import depth_m_to_mm
from grasp_core.se3 import matrix_to_quat, pose_from_pq
from grasp_perception.errors import RecordingError

#: Row separator between a message definition and its dependencies (rosbag2 / MCAP ros2msg).
_SEP = "=" * 80 + "\n"
_TIME = "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n"
_HEADER = "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n"

#: Full ros2msg schema texts (definition plus dependencies) of the recorded types.
SCHEMAS: dict[str, str] = {
    "sensor_msgs/msg/Image": (
        "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\n"
        "uint8 is_bigendian\nuint32 step\nuint8[] data\n" + _SEP + _HEADER + _SEP + _TIME
    ),
    "sensor_msgs/msg/CameraInfo": (
        "std_msgs/Header header\nuint32 height\nuint32 width\nstring distortion_model\n"
        "float64[] d\nfloat64[9] k\nfloat64[9] r\nfloat64[12] p\nuint32 binning_x\n"
        "uint32 binning_y\nsensor_msgs/RegionOfInterest roi\n"
        + _SEP
        + _HEADER
        + _SEP
        + _TIME
        + _SEP
        + "MSG: sensor_msgs/RegionOfInterest\nuint32 x_offset\nuint32 y_offset\n"
        "uint32 height\nuint32 width\nbool do_rectify\n"
    ),
    "tf2_msgs/msg/TFMessage": (
        "geometry_msgs/TransformStamped[] transforms\n"
        + _SEP
        + "MSG: geometry_msgs/TransformStamped\nstd_msgs/Header header\nstring child_frame_id\n"
        "geometry_msgs/Transform transform\n"
        + _SEP
        + _HEADER
        + _SEP
        + _TIME
        + _SEP
        + "MSG: geometry_msgs/Transform\ngeometry_msgs/Vector3 translation\n"
        "geometry_msgs/Quaternion rotation\n"
        + _SEP
        + "MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z\n"
        + _SEP
        + "MSG: geometry_msgs/Quaternion\nfloat64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1\n"
    ),
}

COLOR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")


def stamp_dict(t: float) -> dict[str, int]:
    """builtin_interfaces/Time of ``t`` [s] (rounded to the nanosecond)."""
    ns = int(round(float(t) * 1e9))
    sec, nanosec = divmod(ns, 1_000_000_000)
    return {"sec": sec, "nanosec": nanosec}


def stamp_sec(stamp: Any) -> float:
    """Seconds of a decoded builtin_interfaces/Time."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


def image_dict(arr: np.ndarray, encoding: str, stamp: float, frame_id: str) -> dict[str, Any]:
    """sensor_msgs/Image as a dict of ``arr`` (HxW or HxWx3, little-endian)."""
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    return {
        "header": {"stamp": stamp_dict(stamp), "frame_id": frame_id},
        "height": h,
        "width": w,
        "encoding": encoding,
        "is_bigendian": 0,
        "step": arr.strides[0],
        "data": arr.tobytes(),
    }


def depth_image_dict(depth_m: np.ndarray, encoding: str, stamp: float, frame_id: str) -> dict:
    """Depth image dict: ``"16UC1"`` millimetres (realsense2_camera) or ``"32FC1"`` metres."""
    if encoding == "16UC1":
        return image_dict(depth_m_to_mm(depth_m), encoding, stamp, frame_id)
    if encoding == "32FC1":
        return image_dict(np.asarray(depth_m, dtype="<f4"), encoding, stamp, frame_id)
    raise RecordingError(f"depth encoding: {encoding!r} is not one of '16UC1', '32FC1'")


def camera_info_dict(camera: CameraModel, stamp: float, frame_id: str) -> dict[str, Any]:
    """sensor_msgs/CameraInfo (plumb_bob, no distortion, P = [K | 0]) of ``camera``."""
    P = np.zeros((3, 4))
    P[:, :3] = camera.K
    return {
        "header": {"stamp": stamp_dict(stamp), "frame_id": frame_id},
        "height": camera.height,
        "width": camera.width,
        "distortion_model": "plumb_bob",
        "d": [0.0] * 5,
        "k": camera.K.ravel().tolist(),
        "r": np.eye(3).ravel().tolist(),
        "p": P.ravel().tolist(),
        "binning_x": 0,
        "binning_y": 0,
        "roi": {"x_offset": 0, "y_offset": 0, "height": 0, "width": 0, "do_rectify": False},
    }


def tf_static_dict(T_parent_child: np.ndarray, parent: str, child: str, stamp: float) -> dict:
    """tf2_msgs/TFMessage with one transform ``parent`` -> ``child``."""
    q = matrix_to_quat(T_parent_child[:3, :3])
    t = T_parent_child[:3, 3]
    return {
        "transforms": [
            {
                "header": {"stamp": stamp_dict(stamp), "frame_id": parent},
                "child_frame_id": child,
                "transform": {
                    "translation": {"x": t[0], "y": t[1], "z": t[2]},
                    "rotation": {"x": q[0], "y": q[1], "z": q[2], "w": q[3]},
                },
            }
        ]
    }


def _pixels(msg: Any, topic: str, dtype: str, channels: int) -> np.ndarray:
    h, w = int(msg.height), int(msg.width)
    item = np.dtype(dtype).itemsize * channels
    data = bytes(msg.data) if not isinstance(msg.data, (bytes, bytearray)) else msg.data
    step = int(msg.step) or w * item
    if h == 0 or w == 0 or step < w * item or len(data) < h * step:
        raise RecordingError(
            f"{topic}: image {w}x{h} step {step} needs {h * step} bytes, got {len(data)}"
        )
    rows = np.frombuffer(data, dtype=np.uint8, count=h * step).reshape(h, step)[:, : w * item]
    dt = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    arr = np.ascontiguousarray(rows).view(dt).astype(np.dtype(dtype).newbyteorder("="))
    return arr.reshape(h, w, channels) if channels > 1 else arr.reshape(h, w)


def decode_depth(msg: Any, topic: str = "depth") -> np.ndarray:
    """Float32 metres of a decoded depth Image (16UC1/mono16 mm or 32FC1 m)."""
    enc = str(msg.encoding)
    if enc in ("16UC1", "mono16"):
        return _pixels(msg, topic, "u2", 1).astype(np.float32) * np.float32(1e-3)
    if enc == "32FC1":
        return _pixels(msg, topic, "f4", 1).astype(np.float32)
    raise RecordingError(f"{topic}: depth encoding {enc!r} is not one of {DEPTH_ENCODINGS}")


def decode_color(msg: Any, topic: str = "color") -> np.ndarray:
    """HxWx3 uint8 RGB of a decoded colour Image."""
    enc = str(msg.encoding)
    if enc in ("rgb8", "bgr8"):
        arr = _pixels(msg, topic, "u1", 3)
        return arr if enc == "rgb8" else np.ascontiguousarray(arr[..., ::-1])
    if enc in ("rgba8", "bgra8"):
        arr = _pixels(msg, topic, "u1", 4)[..., :3]
        return np.ascontiguousarray(arr if enc == "rgba8" else arr[..., ::-1])
    if enc == "mono8":
        return np.repeat(_pixels(msg, topic, "u1", 1)[..., None], 3, axis=2)
    raise RecordingError(f"{topic}: colour encoding {enc!r} is not one of {COLOR_ENCODINGS}")


def decode_camera_info(
    msg: Any, T_base_camera: np.ndarray, base_frame: str, topic: str = "camera_info"
) -> CameraModel:
    """CameraModel of a decoded CameraInfo (distortion ignored: rectified/aligned images)."""
    K = np.asarray(list(msg.k), dtype=np.float64).reshape(3, 3)
    if K[0, 0] <= 0 or K[1, 1] <= 0 or int(msg.width) <= 0 or int(msg.height) <= 0:
        raise RecordingError(
            f"{topic}: missing or zero intrinsics (fx={K[0, 0]}, fy={K[1, 1]}, "
            f"{msg.width}x{msg.height})"
        )
    try:
        return CameraModel(
            K=K,
            width=int(msg.width),
            height=int(msg.height),
            T_base_camera=T_base_camera,
            frame_id=str(msg.header.frame_id) or "camera_color_optical_frame",
            base_frame=base_frame,
        )
    except ValueError as exc:
        raise RecordingError(f"{topic}: {exc}") from exc


def decode_tf(msg: Any) -> list[tuple[str, str, np.ndarray]]:
    """``(parent, child, T_parent_child)`` of every transform in a decoded TFMessage."""
    out = []
    for tf in msg.transforms:
        tr, rot = tf.transform.translation, tf.transform.rotation
        T = pose_from_pq(np.array([tr.x, tr.y, tr.z]), np.array([rot.x, rot.y, rot.z, rot.w]))
        out.append((str(tf.header.frame_id), str(tf.child_frame_id), T))
    return out
