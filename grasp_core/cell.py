"""The work-cell layout (table, workspace, bin, robot base, cameras) read from YAML.

One file, ``config/sim/panda_table.yaml``, describes the cell in the robot base frame
``panda_link0`` so the simulated world (grasp_sim), the planner's collision scene
(grasp_planning) and the bringup's camera mounting all read the same numbers through this
one loader. Distances in metres, angles in radians.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from grasp_core.camera import CameraModel
from grasp_core.errors import ValidationError
from grasp_core.paths import config_path
from grasp_core.se3 import look_at, make_transform, rot_x, rot_y, rot_z


class CellConfigError(ValidationError):
    """A cell layout file is invalid; the message names the file and the key."""


#: Default layout file, relative to ``config/``.
DEFAULT_LAYOUT = ("sim", "panda_table.yaml")


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
    ``parent`` is ``"panda_link0"`` (world) for fixed cameras.
    """

    name: str
    parent: str
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
            base_frame="panda_link0",
        )


@dataclass(frozen=True, eq=False)
class CellLayout:
    """The cell, all in the base frame ``panda_link0`` [m]."""

    table_center: np.ndarray  # centre of the table's top face
    table_size: np.ndarray  # x, y, thickness
    floor_z: float
    workspace_x: tuple[float, float]
    workspace_y: tuple[float, float]
    bin_center: np.ndarray  # centre of the bin floor
    bin_size: np.ndarray  # inner x, y, wall height
    bin_wall: float
    robot_urdf: str
    T_world_base: np.ndarray
    home_q: np.ndarray
    home_gripper_width: float
    cameras: dict[str, CameraMount]
    source: str = ""

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

    def in_bin(self, p_base: np.ndarray) -> bool:
        """Whether a point [m] lies inside the bin's inner volume (up to its wall height)."""
        p = np.asarray(p_base, dtype=np.float64)
        d = np.abs(p[:2] - self.bin_center[:2])
        z = p[2] - self.bin_center[2]
        return bool(np.all(d <= self.bin_size[:2] / 2) and -0.01 <= z <= self.bin_size[2])


def _camera(name: str, data: dict) -> CameraMount:
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
        parent = "panda_link0"
    return CameraMount(
        name=name,
        parent=parent,
        T_parent_optical=T,
        width=int(data["width"]),
        height=int(data["height"]),
        fx=float(data["fx"]),
        fy=float(data["fy"]),
        frame_id=str(data.get("frame_id", f"{name}_color_optical_frame")),
        near=float(data.get("near", 0.05)),
        far=float(data.get("far", 3.0)),
    )


def load_layout(path: str | Path | None = None) -> CellLayout:
    """Read a cell layout (default ``config/sim/panda_table.yaml``)."""
    path = Path(path) if path is not None else config_path(*DEFAULT_LAYOUT)
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CellConfigError(f"{path}: cannot read layout: {exc}") from exc
    if not isinstance(data, dict):
        raise CellConfigError(f"{path}: expected a mapping at the top level")
    if data.get("frame", "panda_link0") != "panda_link0":
        raise CellConfigError(f"{path}: frame must be 'panda_link0', got {data['frame']!r}")
    try:
        table, ws, bin_, robot, cams = (
            data[k] for k in ("table", "workspace", "bin", "robot", "cameras")
        )
    except KeyError as exc:
        raise CellConfigError(f"{path}: missing section {exc}") from exc
    T_world_base = make_transform(
        rpy_to_matrix(_vec(robot, "base_rpy", "robot", 3)), _vec(robot, "base_xyz", "robot", 3)
    )
    if not np.allclose(T_world_base, np.eye(4)):
        raise CellConfigError(
            f"{path}: robot.base_xyz/base_rpy must be zero: the layout is written in the "
            "panda_link0 frame, so move the furniture, not the robot"
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
        robot_urdf=str(robot.get("urdf", "panda_description/urdf/panda.urdf")),
        T_world_base=T_world_base,
        home_q=_vec(robot, "home", "robot", 7),
        home_gripper_width=float(robot.get("home_gripper_width", 0.08)),
        cameras={name: _camera(name, c) for name, c in cams.items()},
        source=str(path),
    )
