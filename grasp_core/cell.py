"""The work-cell layout (table, workspace, bin, robot base, cameras) read from YAML.

One file per cell describes it in the base frame of its robot, and names that frame
(``frame:``): ``config/sim/panda_table.yaml`` (Panda, ``panda_link0``; also the world the
simulator builds) and ``config/cells/baxter_table.yaml`` (Baxter, ``base``; a real cell
only). The simulated world (grasp_sim), the planner's collision scene (grasp_planning)
and the perception and grasp detector nodes' camera mount (:func:`camera_mount`), crop
box (:meth:`CellLayout.crop_box`, :func:`resolve_crop_box`) and workspace centre
(:attr:`CellLayout.workspace_center`, :func:`resolve_workspace_center`) all read the same
numbers through this one loader; callers that need a particular frame pass ``frame=`` and
get a :class:`CellConfigError` naming the file and both frames otherwise.
Distances in metres, angles in radians.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grasp_core.camera import CameraModel
from grasp_core.errors import ValidationError
from grasp_core.files import read_yaml_mapping
from grasp_core.paths import config_path, share_dir
from grasp_core.se3 import (
    look_at,
    make_transform,
    pose_from_pq,
    pose_to_pq,
    rot_x,
    rot_y,
    rot_z,
    rotation_angle,
)

#: How far above the rim [m] the origin of an object resting in the bin may lie: a tall
#: object standing on the bin floor has its origin half its height up (a 22 cm bottle of
#: the test split: 11 cm, over a 10 cm wall). Judged at rest, with the hand away.
RESTING_ABOVE_RIM = 0.08


class CellConfigError(ValidationError):
    """A cell layout file is invalid; the message names the file and the key."""


#: Default layout file, relative to ``config/`` (the Panda cell the simulator builds).
DEFAULT_LAYOUT = ("sim", "panda_table.yaml")

#: The perception crop box around the cell's workspace rectangle (:meth:`CellLayout.crop_box`):
#: this far beyond it in x and y [m] (objects lying over the rectangle's edge, and table
#: around them for the plane fit), clipped to the table top; from this far below the table
#: top to this far above it [m] (the table plane in view, tall objects whole). The numbers
#: give the box the sim cell was tuned with: x 0.2..0.8, y -0.3..0.3, z -0.05..0.3.
CROP_MARGIN_X = 0.15
CROP_MARGIN_Y = 0.10
CROP_BELOW_TABLE = 0.05
CROP_ABOVE_TABLE = 0.30
#: The perception node's crop box parameters (``PerceptionParams`` fields), in this order.
CROP_KEYS = ("crop_x_min", "crop_x_max", "crop_y_min", "crop_y_max", "crop_z_min", "crop_z_max")
#: Derived crop and centre coordinates are rounded to this many decimals of a metre (1 µm):
#: 0.35 - 0.15 is 0.19999999999999998 in floating point, the parameter is 0.2.
_DECIMALS = 6

#: How far an explicit camera mount may lie from the cell file's and still be the same
#: mount: 1 mm and 0.1 degree (a quaternion written with 7 digits is ~1e-7 off).
MOUNT_TOLERANCE_M = 1e-3
MOUNT_TOLERANCE_RAD = float(np.deg2rad(0.1))


def rpy_to_matrix(rpy: np.ndarray) -> np.ndarray:
    """URDF convention: R = Rz(yaw) @ Ry(pitch) @ Rx(roll) [rad]."""
    r, p, y = (float(v) for v in rpy)
    return rot_z(y) @ rot_y(p) @ rot_x(r)


def _vec(data: dict, key: str, where: str, n: int) -> np.ndarray:
    if key not in data:
        raise CellConfigError(f"{where}: missing key {key!r}")
    try:
        arr = np.asarray(data[key], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CellConfigError(f"{where}.{key}: expected {n} numbers, got {data[key]!r}") from exc
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise CellConfigError(f"{where}.{key}: expected {n} finite numbers, got {data[key]!r}")
    return arr


@dataclass(frozen=True, eq=False)
class CameraMount:
    """A camera of the cell: intrinsics plus either a fixed pose or a mount on a body.

    ``T_parent_optical`` is the optical frame (REP 103, +Z forward) in ``parent``'s frame;
    ``parent`` is the cell's ``base_frame`` for fixed cameras, else a robot link.
    """

    name: str
    parent: str
    base_frame: str
    T_parent_optical: np.ndarray
    width: int
    height: int
    fx: float
    fy: float
    frame_id: str
    near: float
    far: float

    @property
    def fovy_deg(self) -> float:
        """Vertical field of view [deg] matching ``fy`` (MuJoCo's camera parameter)."""
        return float(np.rad2deg(2.0 * np.arctan(0.5 * self.height / self.fy)))

    def camera_model(self, T_base_optical: np.ndarray | None = None) -> CameraModel:
        """The :class:`CameraModel` (principal point at the image centre)."""
        T = self.T_parent_optical if T_base_optical is None else T_base_optical
        return CameraModel.from_intrinsics(
            self.fx,
            self.fy,
            (self.width - 1) / 2,
            (self.height - 1) / 2,
            self.width,
            self.height,
            T_base_camera=T,
            frame_id=self.frame_id,
            base_frame=self.base_frame,
        )

    @property
    def fixed(self) -> bool:
        """Whether the camera is fixed in the cell (its parent is the base frame)."""
        return self.parent == self.base_frame


@dataclass(frozen=True, eq=False)
class CellLayout:
    """The cell, all in the robot base frame ``frame`` [m].

    ``robot_urdf`` and ``home_q`` [rad] describe the simulated robot; cells that are not
    simulated (Baxter) leave them None and take the robot from its robot config.
    """

    table_center: np.ndarray  # centre of the table's top face
    table_size: np.ndarray  # x, y, thickness
    floor_z: float
    workspace_x: tuple[float, float]
    workspace_y: tuple[float, float]
    bin_center: np.ndarray  # centre of the bin floor
    bin_size: np.ndarray  # inner x, y, wall height
    bin_wall: float
    robot_urdf: str | None
    T_world_base: np.ndarray
    home_q: np.ndarray | None
    home_gripper_width: float
    cameras: dict[str, CameraMount]
    frame: str
    source: str = ""

    def fixed_camera(self, name: str, user: str = "") -> CameraMount:
        """Camera ``name``, which must be fixed in the cell (``eye``/``target``, not on a
        robot link); else a :class:`CellConfigError` naming the file and the key."""
        cam = self.cameras.get(name)
        if cam is None:
            raise CellConfigError(
                f"{self.source or 'cell layout'}: cameras.{name}: no such camera"
                f"{f' ({user} needs it)' if user else ''}; the cell has "
                f"{', '.join(sorted(self.cameras)) or 'none'}"
            )
        if not cam.fixed:
            raise CellConfigError(
                f"{self.source or 'cell layout'}: cameras.{name} is mounted on {cam.parent!r}, "
                f"not fixed in {self.frame!r}; {user or 'the caller'} needs a static mount "
                "(eye, target, up)"
            )
        return cam

    def require_frame(self, frame: str, user: str = "") -> None:
        """Raise :class:`CellConfigError` unless the cell is written in ``frame``; the
        message names the layout file, both frames and ``user`` (who needs the frame)."""
        if self.frame != frame:
            raise CellConfigError(
                f"{self.source or 'cell layout'}: the cell is in frame {self.frame!r}, but "
                f"{user or 'the caller'} needs frame {frame!r}; use a cell layout written in "
                f"{frame!r}"
            )

    @property
    def table_top_z(self) -> float:
        return float(self.table_center[2])

    def table_box(self) -> tuple[np.ndarray, np.ndarray]:
        """(centre, half extents) of the table as a box, for collision scenes."""
        c = self.table_center - np.array([0.0, 0.0, self.table_size[2] / 2])
        return c, self.table_size / 2

    def bin_boxes(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(centre, half extents) of the bin's floor and four walls."""
        cx, cy, z0 = self.bin_center
        sx, sy, h = self.bin_size
        t = self.bin_wall
        return [
            (np.array([cx, cy, z0 + t / 2]), np.array([sx / 2 + t, sy / 2 + t, t / 2])),
            (np.array([cx + sx / 2 + t / 2, cy, z0 + h / 2]), np.array([t / 2, sy / 2 + t, h / 2])),
            (np.array([cx - sx / 2 - t / 2, cy, z0 + h / 2]), np.array([t / 2, sy / 2 + t, h / 2])),
            (np.array([cx, cy + sy / 2 + t / 2, z0 + h / 2]), np.array([sx / 2, t / 2, h / 2])),
            (np.array([cx, cy - sy / 2 - t / 2, z0 + h / 2]), np.array([sx / 2, t / 2, h / 2])),
        ]

    @property
    def workspace_center(self) -> np.ndarray:
        """Centre of the workspace rectangle on the table top (x, y, z) [m]: where the grasp
        detector centres a planar model's crop."""
        c = [np.mean(self.workspace_x), np.mean(self.workspace_y), self.table_top_z]
        return np.round(np.asarray(c, dtype=np.float64), _DECIMALS) + 0.0

    def crop_box(self, check_bin: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The perception crop box (lower, upper corner) [m] around the workspace rectangle
        (:data:`CROP_MARGIN_X`, :data:`CROP_MARGIN_Y`, clipped to the table top but never
        inside the rectangle) and the table top (:data:`CROP_BELOW_TABLE`,
        :data:`CROP_ABOVE_TABLE`). With ``check_bin``, a bin reaching into the box is a
        :class:`CellConfigError` naming the file: its walls would be segmented as objects
        (and grasped)."""
        ws = np.array([self.workspace_x, self.workspace_y], dtype=np.float64)  # rows x, y
        margin = np.array([CROP_MARGIN_X, CROP_MARGIN_Y])
        half = self.table_size[:2] / 2
        table_lo, table_hi = self.table_center[:2] - half, self.table_center[:2] + half
        lo_xy = np.minimum(ws[:, 0], np.maximum(ws[:, 0] - margin, table_lo))
        hi_xy = np.maximum(ws[:, 1], np.minimum(ws[:, 1] + margin, table_hi))
        z = self.table_top_z
        lo = np.round(np.append(lo_xy, z - CROP_BELOW_TABLE), _DECIMALS) + 0.0
        hi = np.round(np.append(hi_xy, z + CROP_ABOVE_TABLE), _DECIMALS) + 0.0
        overlap = self.bin_overlap(lo, hi) if check_bin else None
        if overlap is not None:
            raise self._bin_in_crop(lo, hi, overlap, "all")
        return lo, hi

    def _bin_in_crop(
        self, lo: np.ndarray, hi: np.ndarray, overlap: str, what: str, user: str = ""
    ) -> CellConfigError:
        """The error for a crop box ``lo``..``hi`` (``what`` of it from the workspace)
        that takes in the bin (``overlap``, :meth:`bin_overlap`)."""
        return CellConfigError(
            f"{user + ': ' if user else ''}the perception crop box {_box(lo, hi)} ({what} "
            f"from workspace x {_pair(self.workspace_x)}, y {_pair(self.workspace_y)} of "
            f"{self.source or 'the cell layout'}, +{CROP_MARGIN_X} m in x, +{CROP_MARGIN_Y} m "
            f"in y) takes in the bin ({overlap}): its walls would be segmented as objects; "
            "move the bin (or the workspace) in the cell file so they are clear, or set "
            "crop_x_min .. crop_z_max"
        )

    def bin_overlap(self, lo: np.ndarray, hi: np.ndarray) -> str | None:
        """Which part of the bin (floor, walls) reaches into the box ``lo``..``hi`` [m],
        with its extent; None when the whole bin lies outside."""
        lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
        names = ("floor", "+x wall", "-x wall", "+y wall", "-y wall")
        for name, (c, h) in zip(names, self.bin_boxes(), strict=True):
            if np.all(c - h < hi) and np.all(c + h > lo):
                return f"bin {name} {_box(c - h, c + h)}"
        return None

    @property
    def bin_top_z(self) -> float:
        """Height of the bin's rim [m]."""
        return float(self.bin_center[2] + self.bin_size[2])

    def in_bin(self, p_base: np.ndarray, above_rim: float = 0.0) -> bool:
        """Whether a point [m] lies inside the bin's inner volume (up to its wall height,
        or ``above_rim`` [m] higher: see :data:`RESTING_ABOVE_RIM`)."""
        p = np.asarray(p_base, dtype=np.float64)
        d = np.abs(p[:2] - self.bin_center[:2])
        z = p[2] - self.bin_center[2]
        top = self.bin_size[2] + above_rim
        return bool(np.all(d <= self.bin_size[:2] / 2) and -0.01 <= z <= top)

    def object_in_bin(self, p_base: np.ndarray) -> bool:
        """Whether an object at rest with its origin at ``p_base`` [m] is in the bin: the
        origin above the bin's inner footprint, at most :data:`RESTING_ABOVE_RIM` above
        the rim (a tall object standing on the bin floor)."""
        return self.in_bin(p_base, RESTING_ABOVE_RIM)

    def object_in_reach(
        self, p_base: np.ndarray, box: tuple[np.ndarray, np.ndarray] | None = None
    ) -> bool:
        """Whether an object at rest with its origin at ``p_base`` [m] is still there for
        the graph to pick: inside the perception crop box (``box``, (lo, hi) [m], the box
        the perception node uses, :func:`resolve_crop_box`; None: the cell's own,
        :meth:`crop_box`; on the table, where perception segments it and the executor's
        collision scene holds it) and not in the bin. An object pushed onto the table
        beyond the crop box, or off the table, is out of reach: the executor would reject
        every grasp on it as closing on air."""
        p = np.asarray(p_base, dtype=np.float64)
        lo, hi = self.crop_box(check_bin=False) if box is None else box
        return bool(np.all(p >= lo) and np.all(p <= hi)) and not self.object_in_bin(p)


def _camera(name: str, data: dict, base_frame: str) -> CameraMount:
    where = f"cameras.{name}"
    for key in ("width", "height", "fx", "fy"):
        if key not in data:
            raise CellConfigError(f"{where}: missing key {key!r}")
    if "parent" in data:
        T = make_transform(rpy_to_matrix(_vec(data, "rpy", where, 3)), _vec(data, "xyz", where, 3))
        parent = str(data["parent"])
    else:
        up = _vec(data, "up", where, 3) if "up" in data else np.array([0.0, 0.0, 1.0])
        T = look_at(_vec(data, "eye", where, 3), _vec(data, "target", where, 3), up)
        parent = base_frame
    return CameraMount(
        name=name,
        parent=parent,
        base_frame=base_frame,
        T_parent_optical=T,
        width=int(data["width"]),
        height=int(data["height"]),
        fx=float(data["fx"]),
        fy=float(data["fy"]),
        frame_id=str(data.get("frame_id", f"{name}_color_optical_frame")),
        near=float(data.get("near", 0.05)),
        far=float(data.get("far", 3.0)),
    )


def layout_path(path: str | Path | None = None) -> Path:
    """The layout file ``path`` names: None is the default Panda cell; a relative path is
    taken from the working directory if it exists there, else from ``config/``
    (``"cells/baxter_table.yaml"``). Raises :class:`CellConfigError` naming what was tried."""
    if path is None or str(path) == "":
        return config_path(*DEFAULT_LAYOUT)
    p = Path(path)
    if p.is_absolute() or p.is_file():
        return p
    in_config = share_dir() / "config" / p
    if in_config.is_file():
        return in_config
    raise CellConfigError(
        f"cell layout {str(path)!r} not found (looked in {Path.cwd()} and {in_config.parent}); "
        f"cells shipped: {', '.join(shipped_layouts())}"
    )


def shipped_layouts() -> list[str]:
    """Cell layout files shipped under ``config/`` (relative to it): ``sim/*.yaml`` and
    ``cells/*.yaml``."""
    root = share_dir() / "config"
    return [
        p.relative_to(root).as_posix()
        for folder in ("sim", "cells")
        for p in sorted((root / folder).glob("*.yaml"))
    ]


def load_layout(
    path: str | Path | None = None, frame: str | None = None, user: str = ""
) -> CellLayout:
    """Read a cell layout (default ``config/sim/panda_table.yaml``; see :func:`layout_path`).

    The file names its base frame (``frame:``). With ``frame`` given, a layout written in
    another frame is a :class:`CellConfigError` naming the file, both frames and ``user``
    (who needs ``frame``, e.g. ``"robot baxter"``).
    """
    path = layout_path(path)
    data = read_yaml_mapping(path, "layout", CellConfigError)
    cell_frame = data.get("frame")
    if not isinstance(cell_frame, str) or not cell_frame:
        raise CellConfigError(
            f"{path}: missing key 'frame' (the robot base frame the cell is written in, "
            f"e.g. 'panda_link0' or 'base'), got {cell_frame!r}"
        )
    try:
        layout = _parse(data, cell_frame, path)
    except CellConfigError as exc:  # a section's error: say which file
        raise CellConfigError(f"{path}: {exc}") from exc
    if frame is not None:
        layout.require_frame(frame, user)
    return layout


def _parse(data: dict, cell_frame: str, path: Path) -> CellLayout:
    try:
        table, ws, bin_, robot, cams = (
            data[k] for k in ("table", "workspace", "bin", "robot", "cameras")
        )
    except KeyError as exc:
        raise CellConfigError(f"missing section {exc}") from exc
    T_world_base = make_transform(
        rpy_to_matrix(_vec(robot, "base_rpy", "robot", 3)), _vec(robot, "base_xyz", "robot", 3)
    )
    if not np.allclose(T_world_base, np.eye(4)):
        raise CellConfigError(
            f"robot.base_xyz/base_rpy must be zero: the layout is written in the "
            f"{cell_frame} frame, so move the furniture, not the robot"
        )
    size = _vec(table, "size", "table", 3)
    return CellLayout(
        table_center=_vec(table, "center", "table", 3),
        table_size=size,
        floor_z=float(_vec(table, "center", "table", 3)[2] - table.get("height_above_floor", 0.75)),
        workspace_x=tuple(_vec(ws, "x", "workspace", 2)),  # type: ignore[arg-type]
        workspace_y=tuple(_vec(ws, "y", "workspace", 2)),  # type: ignore[arg-type]
        bin_center=_vec(bin_, "center", "bin", 3),
        bin_size=_vec(bin_, "size", "bin", 3),
        bin_wall=float(bin_.get("wall_thickness", 0.01)),
        robot_urdf=str(robot["urdf"]) if "urdf" in robot else None,
        T_world_base=T_world_base,
        home_q=_vec(robot, "home", "robot", 7) if "home" in robot else None,
        home_gripper_width=float(robot.get("home_gripper_width", 0.08)),
        cameras={name: _camera(name, c, cell_frame) for name, c in cams.items()},
        frame=cell_frame,
        source=str(path),
    )


def link_camera(
    cell_layout: str | Path | None, cell_camera: str, frame: str, user: str
) -> CameraMount | None:
    """Camera ``cell_camera`` of the cell file (default: the sim cell) when it is mounted
    on a robot link (``parent``, e.g. a wrist camera), else None: a fixed camera, or no
    camera of that name (:func:`camera_mount` then says so)."""
    layout = load_layout(cell_layout or None, frame=frame, user=user)
    cam = layout.cameras.get(cell_camera)
    return cam if cam is not None and not cam.fixed else None


def camera_mount(
    cell_layout: str | Path | None,
    cell_camera: str,
    position: Sequence[float] | None,
    orientation: Sequence[float] | None,
    frame: str,
    user: str,
) -> tuple[np.ndarray, str]:
    """The static mount ``T_frame_optical`` of the camera a node (``user``) reads, and
    where it came from (for the node's log line).

    The node parameters of the perception and grasp detector nodes: ``cell_layout`` /
    ``cell_camera`` name a cell file (see :func:`layout_path`) and its fixed camera;
    ``position`` (x y z [m]) / ``orientation`` (quaternion x y z w) give the mount
    explicitly (None or empty: not given). With a cell file, the mount is its camera,
    and explicit values must agree with it (:data:`MOUNT_TOLERANCE_M`,
    :data:`MOUNT_TOLERANCE_RAD`): one fact given twice, a disagreement is a
    :class:`CellConfigError` naming both rather than one source silently winning.
    Without a cell file, the explicit values; with neither, the default cell's camera.
    The cell must be written in ``frame`` (the node's base frame).
    """
    explicit = _explicit_mount(position, orientation, user)
    if not cell_layout and explicit is not None:
        return explicit, "camera_position / camera_orientation"
    layout = load_layout(cell_layout or None, frame=frame, user=user)
    T = layout.fixed_camera(cell_camera, user).T_parent_optical
    if explicit is not None:
        offset = float(np.linalg.norm(explicit[:3, 3] - T[:3, 3]))
        angle = rotation_angle(explicit[:3, :3], T[:3, :3])
        if offset > MOUNT_TOLERANCE_M or angle > MOUNT_TOLERANCE_RAD:
            p, q = pose_to_pq(T)
            raise CellConfigError(
                f"{user}: the camera mount is given twice and the two disagree by "
                f"{offset * 1000:.1f} mm, {np.rad2deg(angle):.2f} deg: camera_position "
                f"{list(position or [])} / camera_orientation {list(orientation or [])}, and "
                f"cameras.{cell_camera} of {layout.source} (cell_layout; position "
                f"{np.round(p, 4).tolist()}, orientation {np.round(q, 7).tolist()}); "
                "remove camera_position / camera_orientation to use the cell file, or "
                "correct the one that is wrong"
            )
    return T, f"camera {cell_camera!r} of {layout.source}"


def _explicit_mount(
    position: Sequence[float] | None, orientation: Sequence[float] | None, user: str
) -> np.ndarray | None:
    """The pose from camera_position / camera_orientation, None when neither is given."""
    given = {
        name: value
        for name, value in (("camera_position", position), ("camera_orientation", orientation))
        if value is not None and len(value) > 0
    }
    if not given:
        return None
    if len(given) == 1:
        (name,) = given
        other = "camera_orientation" if name == "camera_position" else "camera_position"
        raise CellConfigError(f"{user}: {name} is given without {other}; give both or neither")
    try:
        return pose_from_pq(np.asarray(position, float), np.asarray(orientation, float))
    except (ValueError, TypeError) as exc:
        raise CellConfigError(
            f"{user}: camera_position {list(position or [])} / camera_orientation "
            f"{list(orientation or [])}: {exc}"
        ) from exc


def _pair(values: Sequence[float]) -> str:
    return f"{float(values[0]):g}..{float(values[1]):g}"


def _box(lo: np.ndarray, hi: np.ndarray) -> str:
    """``x a..b, y c..d, z e..f`` [m] for messages."""
    return ", ".join(
        f"{axis} {float(a):.3g}..{float(b):.3g}" for axis, a, b in zip("xyz", lo, hi, strict=True)
    )


def crop_bounds(values: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) [m] of a crop box given as ``{crop_x_min: .., ..., crop_z_max: ..}``
    (:data:`CROP_KEYS`, what :func:`resolve_crop_box` returns)."""
    lo = np.array([values[k] for k in CROP_KEYS[0::2]], dtype=np.float64)
    hi = np.array([values[k] for k in CROP_KEYS[1::2]], dtype=np.float64)
    return lo, hi


def resolve_crop_box(
    cell_layout: str | Path | None,
    explicit: Mapping[str, float | None],
    frame: str,
    user: str = "perception",
) -> tuple[dict[str, float], str, str | None]:
    """The perception node's crop box ``{crop_x_min: .., ..., crop_z_max: ..}`` [m], a note
    on where it came from (for the node's log line) and a warning or None.

    ``explicit``: the crop_* parameters (:data:`CROP_KEYS`; None or absent: not given).
    Each one given wins over the cell's value, the rest come from
    :meth:`CellLayout.crop_box` of ``cell_layout`` (:func:`layout_path`; empty: the
    default cell), which must be written in ``frame``. Unlike the camera mount (one
    physical fact: two values that disagree mean one is wrong), a crop box is a choice
    about the cell, so a hand-set value is kept and the note names the cell's. A bin
    inside the resulting box is a :class:`CellConfigError` when any coordinate came from
    the cell, and the warning when the user gave all six (their box, their call).
    """
    unknown = sorted(set(explicit) - set(CROP_KEYS))
    if unknown:
        raise CellConfigError(f"{user}: unknown crop parameter(s) {unknown}; valid: {CROP_KEYS}")
    given: dict[str, float] = {}
    for key in CROP_KEYS:
        value = explicit.get(key)
        if value is None:
            continue
        try:
            given[key] = float(value)
        except (TypeError, ValueError) as exc:
            raise CellConfigError(f"{user}: {key}: expected a number, got {value!r}") from exc
    full = len(given) == len(CROP_KEYS)
    if full and not cell_layout:
        return given, "the crop_x_min .. crop_z_max parameters (no cell_layout)", None
    layout = load_layout(cell_layout or None, frame=frame, user=user)
    lo, hi = layout.crop_box(check_bin=False)  # checked below, with the values given
    derived = dict(zip(CROP_KEYS, np.column_stack([lo, hi]).ravel().tolist(), strict=True))
    values = {**derived, **given}
    lo, hi = crop_bounds(values)
    overlap = layout.bin_overlap(lo, hi)
    if overlap is not None and not full:
        what = f"{', '.join(given)} given, the rest" if given else "all"
        raise layout._bin_in_crop(lo, hi, overlap, what, user)
    warning = None
    if overlap is not None:
        warning = (
            f"{user}: the crop box {_box(lo, hi)} (crop_* parameters) takes in the bin of "
            f"{layout.source} ({overlap}): its walls will be segmented as objects"
        )
    source = f"the workspace of {layout.source}"
    if given:
        changed = [k for k in given if not np.isclose(given[k], derived[k], atol=1e-9)]
        source = (
            f"the crop_* parameters ({', '.join(f'{k} {given[k]:g}' for k in given)}), over "
            f"the workspace of {layout.source}"
            + (
                f" (its {', '.join(f'{k} {derived[k]:g}' for k in changed)})"
                if changed
                else " (the same values)"
            )
        )
    return values, source, warning


def resolve_workspace_center(
    cell_layout: str | Path | None,
    explicit: Sequence[float] | None,
    frame: str,
    user: str = "grasp_detector",
) -> tuple[np.ndarray, str]:
    """The grasp detector's ``workspace_center`` (x y z [m]) and a note on where it came
    from: ``explicit`` when given (it wins, like a crop box: see :func:`resolve_crop_box`;
    the note names the cell's when they differ), else :attr:`CellLayout.workspace_center`
    of ``cell_layout`` (empty: the default cell), which must be written in ``frame``."""
    if explicit is not None and len(explicit) > 0:
        try:
            centre = np.asarray(explicit, dtype=np.float64)
        except (TypeError, ValueError):
            centre = np.empty(0)
        if centre.shape != (3,) or not np.all(np.isfinite(centre)):
            raise CellConfigError(
                f"{user}: workspace_center: expected 3 numbers (x y z [m]), got {list(explicit)}"
            )
        if not cell_layout:
            return centre, "workspace_center (no cell_layout)"
        layout = load_layout(cell_layout, frame=frame, user=user)
        cell = layout.workspace_center
        same = np.allclose(centre, cell, atol=1e-9)
        return centre, (
            f"workspace_center, over the workspace of {layout.source} "
            + ("(the same)" if same else f"(its centre {cell.tolist()})")
        )
    layout = load_layout(cell_layout or None, frame=frame, user=user)
    return layout.workspace_center, f"the workspace of {layout.source}"
