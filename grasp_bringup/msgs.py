"""The one codec module: numpy arrays and grasp_core types <-> ROS 2 messages.

Everything that turns a message into an array (or back) lives here, so every node reads
images, camera infos, clouds and grasp arrays the same way. Bad messages raise
:class:`MessageError` naming the field and what would have been valid; nodes catch it,
log it (throttled) and drop the message.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import Point
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from grasp_core import CameraModel, Grasp, RGBDFrame, ValidationError, depth_mm_to_m
from grasp_core.gripper import GripperSpec, load_gripper


class MessageError(ValidationError):
    """A message that cannot be decoded or encoded; the text says which field and why."""


# --------------------------------------------------------------------------- time
def sec_to_stamp(t: float) -> Time:
    """``builtin_interfaces/Time`` of ``t`` seconds."""
    sec = int(np.floor(t))
    return Time(sec=sec, nanosec=min(int(round((t - sec) * 1e9)), 999_999_999))


def stamp_to_sec(stamp: Time) -> float:
    """Seconds of a ``builtin_interfaces/Time``."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


#: [s] how far a message's stamp may lie from its arrival (the receiver's clock) and still
#: date its camera frame (:func:`frame_time`).
STAMP_TRUST = 5.0


def frame_time(stamp: float, received: float) -> float:
    """When the camera frame behind a message was taken, on the receiver's clock [s]: its
    header ``stamp``, unless that is unset (0) or more than :data:`STAMP_TRUST` from its
    arrival ``received`` (a clock of another time base), when the arrival stands in."""
    if stamp > 0.0 and abs(received - stamp) <= STAMP_TRUST:
        return stamp
    return received


def stamp_to_ns(stamp: Time) -> int:
    """Integer nanoseconds of a ``builtin_interfaces/Time`` (exact)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def frame_stamp(frame: RGBDFrame) -> Time:
    """The header stamp for outputs of ``frame``: its exact ``stamp_ns`` when it has one,
    else its ``stamp`` [s]."""
    if frame.stamp_ns is None:
        return sec_to_stamp(frame.stamp)
    sec, nanosec = divmod(int(frame.stamp_ns), 1_000_000_000)
    return Time(sec=sec, nanosec=nanosec)


def _header(frame_id: str, stamp: Time | float | None) -> Header:
    if stamp is None:
        stamp = Time()
    elif not isinstance(stamp, Time):
        stamp = sec_to_stamp(float(stamp))
    return Header(stamp=stamp, frame_id=frame_id)


# --------------------------------------------------------------------------- images
#: encoding -> (numpy dtype, channels)
IMAGE_ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}


def _image_layout(encoding: str) -> tuple[np.dtype, int]:
    try:
        return IMAGE_ENCODINGS[encoding]
    except KeyError:
        raise MessageError(
            f"Image.encoding {encoding!r} is not supported; supported: {', '.join(IMAGE_ENCODINGS)}"
        ) from None


def image_to_numpy(msg: Image) -> np.ndarray:
    """HxW (one channel) or HxWxC array of an ``Image``, honouring row padding (``step``).

    The array owns its data (a copy), so the message buffer can be released.
    """
    dtype, channels = _image_layout(msg.encoding)
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = w * channels * dtype.itemsize
    if msg.is_bigendian and dtype.itemsize > 1:
        raise MessageError(
            f"Image ({msg.encoding}, frame {msg.header.frame_id!r}): big-endian data is not supported"
        )
    if step < row_bytes:
        raise MessageError(
            f"Image.step {step} is smaller than width*bytes per pixel = {row_bytes} ({msg.encoding})"
        )
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if buf.size < h * step:
        raise MessageError(f"Image.data has {buf.size} bytes, expected height*step = {h * step}")
    rows = buf[: h * step].reshape(h, step)[:, :row_bytes]
    arr = np.ascontiguousarray(rows).view(dtype)
    return arr.reshape((h, w) if channels == 1 else (h, w, channels)).copy()


def numpy_to_image(
    arr: np.ndarray, encoding: str, stamp: Time | float | None = None, frame_id: str = ""
) -> Image:
    """``Image`` of an array; its dtype and channel count must match ``encoding``."""
    dtype, channels = _image_layout(encoding)
    arr = np.asarray(arr)
    want_ndim = 2 if channels == 1 else 3
    if arr.ndim != want_ndim or (channels > 1 and arr.shape[2] != channels):
        raise MessageError(
            f"array of shape {arr.shape} does not fit encoding {encoding!r} "
            f"({'HxW' if channels == 1 else f'HxWx{channels}'} expected)"
        )
    if arr.dtype != dtype:
        raise MessageError(f"array dtype {arr.dtype} does not fit encoding {encoding!r} ({dtype})")
    arr = np.ascontiguousarray(arr)
    msg = Image(
        header=_header(frame_id, stamp),
        height=int(arr.shape[0]),
        width=int(arr.shape[1]),
        encoding=encoding,
        is_bigendian=0,
        step=int(arr.shape[1] * channels * dtype.itemsize),
    )
    msg.data = arr.tobytes()
    return msg


def depth_msg_to_m(msg: Image) -> np.ndarray:
    """Depth image in float32 metres from 16UC1/mono16 millimetres or 32FC1 metres.

    Zero stays zero (no return); NaN from 32FC1 is kept.
    """
    if msg.encoding in ("16UC1", "mono16"):
        return depth_mm_to_m(image_to_numpy(msg))
    if msg.encoding == "32FC1":
        return image_to_numpy(msg)
    raise MessageError(
        f"depth Image.encoding {msg.encoding!r} is not a depth encoding; expected 16UC1 or 32FC1"
    )


def color_msg_to_rgb(msg: Image) -> np.ndarray:
    """HxWx3 uint8 RGB from an rgb8, bgr8, rgba8, bgra8 or mono8 image (alpha dropped)."""
    arr = image_to_numpy(msg)
    if msg.encoding in ("bgr8", "bgra8"):
        return np.ascontiguousarray(arr[..., 2::-1])
    if msg.encoding == "rgba8":
        return np.ascontiguousarray(arr[..., :3])
    if msg.encoding == "mono8":
        return np.repeat(arr[..., None], 3, axis=2)
    if msg.encoding == "rgb8":
        return arr
    raise MessageError(
        f"colour Image.encoding {msg.encoding!r}: expected rgb8, bgr8, rgba8, bgra8 or mono8"
    )


# --------------------------------------------------------------------------- camera info
def camera_info_to_model(
    msg: CameraInfo, T_base_camera: np.ndarray | None = None, base_frame: str = "panda_link0"
) -> CameraModel:
    """``CameraModel`` of a ``CameraInfo`` (distortion ignored: aligned RealSense streams
    are rectified) mounted at ``T_base_camera`` (identity when unknown)."""
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if K[0, 0] <= 0 or K[1, 1] <= 0 or msg.width == 0 or msg.height == 0:
        raise MessageError(
            f"CameraInfo (frame {msg.header.frame_id!r}): missing or zero intrinsics "
            f"(fx={K[0, 0]}, fy={K[1, 1]}, size {msg.width}x{msg.height})"
        )
    try:
        return CameraModel(
            K=K,
            width=int(msg.width),
            height=int(msg.height),
            T_base_camera=np.eye(4) if T_base_camera is None else T_base_camera,
            frame_id=msg.header.frame_id or "camera_color_optical_frame",
            base_frame=base_frame,
        )
    except ValidationError as exc:
        raise MessageError(f"CameraInfo (frame {msg.header.frame_id!r}): {exc}") from exc


def model_to_camera_info(camera: CameraModel, stamp: Time | float | None = None) -> CameraInfo:
    """Distortion-free ``CameraInfo`` (plumb_bob, zero coefficients) of a camera model."""
    K = camera.K
    P = np.zeros((3, 4))
    P[:, :3] = K
    return CameraInfo(
        header=_header(camera.frame_id, stamp),
        height=camera.height,
        width=camera.width,
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=K.flatten().tolist(),
        r=np.eye(3).flatten().tolist(),
        p=P.flatten().tolist(),
    )


# --------------------------------------------------------------------------- point clouds
_FIELD_DTYPES: dict[int, np.dtype] = {
    PointField.INT8: np.dtype(np.int8),
    PointField.UINT8: np.dtype(np.uint8),
    PointField.INT16: np.dtype(np.int16),
    PointField.UINT16: np.dtype(np.uint16),
    PointField.INT32: np.dtype(np.int32),
    PointField.UINT32: np.dtype(np.uint32),
    PointField.FLOAT32: np.dtype(np.float32),
    PointField.FLOAT64: np.dtype(np.float64),
}
_DTYPE_FIELDS = {v: k for k, v in _FIELD_DTYPES.items()}


def pointcloud2_to_array(msg: PointCloud2) -> np.ndarray:
    """Structured array (one row per point, ``height*width`` rows) of a ``PointCloud2``."""
    if msg.is_bigendian:
        raise MessageError(
            f"PointCloud2 (frame {msg.header.frame_id!r}): big-endian data is not supported"
        )
    names, formats, offsets = [], [], []
    for f in msg.fields:
        if f.datatype not in _FIELD_DTYPES:
            raise MessageError(f"PointCloud2 field {f.name!r}: unknown datatype {f.datatype}")
        base = _FIELD_DTYPES[f.datatype]
        names.append(f.name)
        formats.append(base if f.count <= 1 else (base, (f.count,)))
        offsets.append(f.offset)
    n = int(msg.width) * int(msg.height)
    point_step = int(msg.point_step)
    if n == 0:
        return np.zeros(
            0,
            dtype=np.dtype(
                {
                    "names": names,
                    "formats": formats,
                    "offsets": offsets,
                    "itemsize": max(point_step, 1),
                }
            ),
        )
    try:
        dtype = np.dtype(
            {"names": names, "formats": formats, "offsets": offsets, "itemsize": point_step}
        )
    except ValueError as exc:
        raise MessageError(
            f"PointCloud2: fields do not fit point_step {point_step}: {exc}"
        ) from exc
    row_step = int(msg.row_step)
    if row_step < int(msg.width) * point_step:
        raise MessageError(
            f"PointCloud2.row_step {row_step} < width*point_step {int(msg.width) * point_step}"
        )
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if buf.size < int(msg.height) * row_step:
        raise MessageError(
            f"PointCloud2.data has {buf.size} bytes, expected {int(msg.height) * row_step}"
        )
    rows = buf[: int(msg.height) * row_step].reshape(int(msg.height), row_step)
    rows = np.ascontiguousarray(rows[:, : int(msg.width) * point_step])
    return rows.reshape(-1).view(dtype).copy()


def array_to_pointcloud2(
    arr: np.ndarray, frame_id: str, stamp: Time | float | None = None
) -> PointCloud2:
    """Unorganised ``PointCloud2`` (height 1) of a structured array of scalar fields."""
    arr = np.asarray(arr)
    if arr.dtype.names is None:
        raise MessageError("array_to_pointcloud2 needs a structured array (named fields)")
    fields = []
    for name in arr.dtype.names:
        fdtype, offset = arr.dtype.fields[name][:2]
        count = 1
        if fdtype.subdtype is not None:
            fdtype, shape = fdtype.subdtype
            count = int(np.prod(shape))
        base = np.dtype(fdtype).newbyteorder("=")
        if base not in _DTYPE_FIELDS:
            raise MessageError(f"field {name!r}: dtype {fdtype} has no PointField datatype")
        fields.append(
            PointField(name=name, offset=offset, datatype=_DTYPE_FIELDS[base], count=count)
        )
    arr = np.ascontiguousarray(arr)
    msg = PointCloud2(
        header=_header(frame_id, stamp),
        height=1,
        width=int(arr.shape[0]) if arr.ndim else 1,
        fields=fields,
        is_bigendian=False,
        point_step=arr.dtype.itemsize,
        row_step=arr.dtype.itemsize * (int(arr.shape[0]) if arr.ndim else 1),
        is_dense=True,
    )
    msg.data = arr.tobytes()
    return msg


def points_to_pointcloud2(
    xyz: np.ndarray,
    frame_id: str,
    stamp: Time | float | None = None,
    **extra: np.ndarray,
) -> PointCloud2:
    """``PointCloud2`` of Nx3 float points plus optional per-point scalar fields
    (``label=...``, ``rgb=...``), each kept in its own dtype."""
    xyz = np.asarray(xyz, dtype=np.float32).reshape(-1, 3)
    descr = [("x", np.float32), ("y", np.float32), ("z", np.float32)]
    for name, values in extra.items():
        values = np.asarray(values)
        if values.shape != (len(xyz),):
            raise MessageError(
                f"field {name!r}: expected {len(xyz)} values, got shape {values.shape}"
            )
        descr.append((name, values.dtype))
    arr = np.zeros(len(xyz), dtype=descr)
    arr["x"], arr["y"], arr["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    for name, values in extra.items():
        arr[name] = values
    return array_to_pointcloud2(arr, frame_id, stamp)


def pointcloud2_to_xyz(msg: PointCloud2) -> np.ndarray:
    """Nx3 float64 points of a cloud's x, y, z fields (rows with NaN dropped)."""
    return _finite_xyz(pointcloud2_to_array(msg))[0]


def _finite_xyz(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Nx3 float64 finite points, mask of the rows kept) of a structured cloud array."""
    for axis in "xyz":
        if arr.dtype.names is None or axis not in arr.dtype.names:
            raise MessageError(f"PointCloud2 has no {axis!r} field (fields: {arr.dtype.names})")
    xyz = np.column_stack([arr["x"], arr["y"], arr["z"]]).astype(np.float64)
    finite = np.all(np.isfinite(xyz), axis=1)
    return xyz[finite], finite


def pointcloud2_to_object_points(
    msg: PointCloud2, base_frame: str, require_labels: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(Nx3 float64 points, N int64 labels or None)`` of a ``/perception/object_points``
    cloud: rows with a non-finite coordinate are dropped together with their label.
    Raises :class:`MessageError` for a cloud not in ``base_frame``, or without a ``label``
    field when ``require_labels``."""
    if msg.header.frame_id != base_frame:
        raise MessageError(f"PointCloud2 in frame {msg.header.frame_id!r}, expected {base_frame!r}")
    arr = pointcloud2_to_array(msg)
    xyz, finite = _finite_xyz(arr)
    if "label" not in (arr.dtype.names or ()):
        if require_labels:
            raise MessageError(f"PointCloud2 needs a 'label' field, has {list(arr.dtype.names)}")
        return xyz, None
    return xyz, arr["label"][finite].astype(np.int64)


# --------------------------------------------------------------------------- grasp arrays
#: Row layout of /grasp_candidates (DESIGN §3).
GRASP_FIELDS = ("x", "y", "z", "qx", "qy", "qz", "qw", "width", "quality")
GRASP_DTYPE = np.dtype([(name, np.float32) for name in GRASP_FIELDS])


def grasps_to_array(grasps: Sequence[Grasp]) -> np.ndarray:
    """Structured array of grasps in :data:`GRASP_DTYPE`, in the given order."""
    arr = np.zeros(len(grasps), dtype=GRASP_DTYPE)
    for i, g in enumerate(grasps):
        p, q = g.position, g.quaternion
        arr[i] = (p[0], p[1], p[2], q[0], q[1], q[2], q[3], g.width, g.quality)
    return arr


def grasps_to_pointcloud2(
    grasps: Sequence[Grasp], frame_id: str, stamp: Time | float | None = None
) -> PointCloud2:
    """``/grasp_candidates`` message: one row per grasp, best first (sorted by quality).

    Every grasp must already be in ``frame_id``.
    """
    for g in grasps:
        if g.frame_id != frame_id:
            raise MessageError(f"grasp in frame {g.frame_id!r} cannot go in a {frame_id!r} array")
    ordered = sorted(grasps, key=lambda g: -g.quality)
    return array_to_pointcloud2(grasps_to_array(ordered), frame_id, stamp)


def pointcloud2_to_grasps(msg: PointCloud2, model: str = "") -> tuple[list[Grasp], list[str]]:
    """Grasps of a ``/grasp_candidates`` message and the reasons rows were rejected.

    A message missing one of the grasp fields raises :class:`MessageError`; a row with
    NaN, a non-unit quaternion, a non-positive width or a quality outside [0, 1] is
    dropped and its reason returned, so one bad row never loses the others.
    """
    arr = pointcloud2_to_array(msg)
    missing = [f for f in GRASP_FIELDS if arr.dtype.names is None or f not in arr.dtype.names]
    if missing:
        raise MessageError(
            f"grasp array (frame {msg.header.frame_id!r}) lacks fields {missing}; "
            f"expected {list(GRASP_FIELDS)}"
        )
    frame_id = msg.header.frame_id
    if not frame_id:
        raise MessageError("grasp array has an empty header.frame_id")
    grasps: list[Grasp] = []
    rejected: list[str] = []
    for i, row in enumerate(arr):
        try:
            grasps.append(
                Grasp.from_pq(
                    np.array([row["x"], row["y"], row["z"]], dtype=np.float64),
                    np.array([row["qx"], row["qy"], row["qz"], row["qw"]], dtype=np.float64),
                    width=float(row["width"]),
                    quality=float(row["quality"]),
                    model=model,
                    frame_id=frame_id,
                )
            )
        except ValidationError as exc:
            rejected.append(f"row {i}: {exc}")
    return grasps, rejected


# --------------------------------------------------------------------------- markers
def quality_color(quality: float) -> ColorRGBA:
    """Red (0) through yellow to green (1)."""
    q = float(np.clip(quality, 0.0, 1.0))
    return ColorRGBA(r=float(min(1.0, 2 * (1 - q))), g=float(min(1.0, 2 * q)), b=0.1, a=0.9)


def gripper_lines(grasp: Grasp, gripper: GripperSpec) -> np.ndarray:
    """Line-list vertices (2k x 3, in the grasp's frame) drawing a gripper at ``grasp``:
    two fingers at the grasp's width, the palm bar and the approach stem."""
    half = min(grasp.width, gripper.max_width) / 2
    fl = gripper.finger_length
    local = np.array(
        [
            [-half, 0, 0], [-half, 0, -fl],  # left finger
            [half, 0, 0], [half, 0, -fl],  # right finger
            [-half, 0, -fl], [half, 0, -fl],  # palm
            [0, 0, -fl], [0, 0, -fl - 0.04],  # stem
        ]
    )  # fmt: skip
    return local @ grasp.pose[:3, :3].T + grasp.pose[:3, 3]


def grasp_markers(
    grasps: Sequence[Grasp],
    frame_id: str,
    stamp: Time | float | None = None,
    gripper: GripperSpec | None = None,
    namespace: str = "grasps",
) -> MarkerArray:
    """rviz markers: a gripper outline per grasp coloured by quality; the first marker
    deletes the previous set."""
    gripper = gripper or load_gripper("panda_hand")
    header = _header(frame_id, stamp)
    markers = [Marker(header=header, ns=namespace, action=Marker.DELETEALL)]
    for i, g in enumerate(grasps):
        m = Marker(header=header, ns=namespace, id=i, type=Marker.LINE_LIST, action=Marker.ADD)
        m.scale.x = 0.003
        m.pose.orientation.w = 1.0
        m.color = quality_color(g.quality)
        m.points = [
            Point(x=float(x), y=float(y), z=float(z)) for x, y, z in gripper_lines(g, gripper)
        ]
        markers.append(m)
    return MarkerArray(markers=markers)


# --------------------------------------------------------------------------- executor status
#: ``/executor/status`` states (``values["state"]``, the values of
#: ``grasp_planning.pick.PickState``) that end a pick
EXECUTOR_TERMINAL_STATES = ("done", "failed", "stopped")
#: states in which no pick runs: the arm waits; every other state is a pick in progress
EXECUTOR_RESTING_STATES = ("idle", *EXECUTOR_TERMINAL_STATES)


#: The executor's ``~/pick`` refusals that mean "not ready yet" (std_srvs/Trigger has no
#: code, only the message, which starts with one of these): a pick still running; joint
#: states, controllers or candidates not heard yet; no perceived objects since the last
#: pick; the nodes on the robot's topics not named by discovery yet. A client may wait
#: them out; any other refusal (stale candidates, none feasible) is an answer about the
#: candidates it has.
PICK_BUSY = "a pick is already running"
PICK_NO_JOINT_STATES = "no /joint_states received yet"
PICK_STALE_JOINT_STATES = "no fresh /joint_states of every arm joint"
PICK_NO_CONTROLLER = "nothing subscribes to"
PICK_NO_CANDIDATES_YET = "no grasp candidates received yet"
PICK_NO_OBJECTS_YET = "no /perception/object_points received since the last pick (or yet)"
PICK_DISCOVERY_PENDING = "discovery has not named every node on the robot's topics yet"
PICK_NOT_READY = (
    PICK_BUSY,
    PICK_NO_JOINT_STATES,
    PICK_STALE_JOINT_STATES,
    PICK_NO_CONTROLLER,
    PICK_NO_CANDIDATES_YET,
    PICK_NO_OBJECTS_YET,
    PICK_DISCOVERY_PENDING,
)
#: The executor's refusal while nodes outside the simulation publish the simulated robot's
#: joint states (a real robot's driver on the same ROS domain): not a wait, a fault to fix.
PICK_SHARED_ROBOT = "nodes outside the simulation publish the simulated robot's /joint_states:"


def pick_not_ready(message: str) -> bool:
    """Whether an executor's ``~/pick`` refusal ``message`` is one of :data:`PICK_NOT_READY`."""
    return message.startswith(PICK_NOT_READY)


def executor_status_values(msg: DiagnosticStatus) -> dict[str, str]:
    """The key/value pairs of an ``/executor/status`` message (``state``, ``last_result``,
    ...); ``state`` is "" when the message has none."""
    values = {kv.key: kv.value for kv in msg.values}
    values.setdefault("state", "")
    return values
