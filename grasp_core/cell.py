"""The work-cell layout (table, workspace, bin, robot base, cameras) read from YAML.

One file per cell describes it in the base frame of its robot, and names that frame
(``frame:``): ``config/sim/panda_table.yaml`` (Panda, ``panda_link0``; also the world the
simulator builds) and ``config/cells/baxter_table.yaml`` (Baxter, ``base``; a real cell
only). The simulated world (grasp_sim), the planner's collision scene (grasp_planning)
and the perception and grasp detector nodes' camera mount (:func:`camera_mount`) all read
the same numbers through this one loader; callers that need a particular frame pass
``frame=`` and get a :class:`CellConfigError` naming the file and both frames otherwise.
Distances in metres, angles in radians.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from grasp_core.camera import CameraModel
from grasp_core.errors import ValidationError
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
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CellConfigError(f"{path}: cannot read layout: {exc}") from exc
    if not isinstance(data, dict):
        raise CellConfigError(f"{path}: expected a mapping at the top level")
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
