"""The work cell (table, place bin) as planning-scene obstacles, and perceived objects.

The cell layout is read from the same file the simulator builds its world from,
``config/sim/panda_table.yaml`` (frame ``panda_link0``; table-top plane z = 0), so the
planner and the sim agree. Only its ``table`` and ``bin`` sections are used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from grasp_core.paths import config_path
from grasp_core.se3 import make_transform
from grasp_core.validation import as_array
from grasp_planning.collision import PlanningScene
from grasp_planning.errors import SceneError

DEFAULT_LAYOUT = ("sim", "panda_table.yaml")
TABLE = "table"
BIN_PARTS = ("bin_floor", "bin_wall_xn", "bin_wall_xp", "bin_wall_yn", "bin_wall_yp")


@dataclass(frozen=True)
class CellLayout:
    """Table (centre of its top face [m], size x, y, thickness [m]) and open bin (centre of
    its floor [m], inner x, y and wall height [m], wall thickness [m]) in the base frame."""

    table_top_center: tuple[float, float, float] = (0.45, 0.0, 0.0)
    table_size: tuple[float, float, float] = (1.3, 1.2, 0.04)
    bin_center: tuple[float, float, float] = (0.35, 0.45, 0.0)
    bin_size: tuple[float, float, float] = (0.24, 0.18, 0.10)
    bin_wall: float = 0.01
    frame: str = "panda_link0"

    @property
    def table_z(self) -> float:
        return float(self.table_top_center[2])

    @property
    def bin_top_z(self) -> float:
        return float(self.bin_center[2] + self.bin_size[2])


def load_cell_layout(path: str | Path | None = None) -> CellLayout:
    """Read the ``table`` and ``bin`` sections of a cell layout YAML (default
    ``config/sim/panda_table.yaml``)."""
    path = Path(path) if path is not None else config_path(*DEFAULT_LAYOUT)
    data = yaml.safe_load(Path(path).read_text())
    try:
        t, b = data["table"], data["bin"]

        def vec(name: str, v: object) -> tuple[float, float, float]:
            return tuple(float(x) for x in as_array(f"{path}: {name}", v, shape=(3,)))  # type: ignore[return-value]

        return CellLayout(
            table_top_center=vec("table.center", t["center"]),
            table_size=vec("table.size", t["size"]),
            bin_center=vec("bin.center", b["center"]),
            bin_size=vec("bin.size", b["size"]),
            bin_wall=float(b.get("wall_thickness", 0.01)),
            frame=str(data.get("frame", "panda_link0")),
        )
    except (KeyError, TypeError) as exc:
        raise SceneError(
            f"{path}: missing or malformed entry {exc} (need table.center/size, bin.center/size)"
        ) from exc


def add_cell(scene: PlanningScene, layout: CellLayout) -> None:
    """Add the table top and the bin (floor + four walls) as boxes."""
    tx, ty, tz = layout.table_top_center
    sx, sy, th = layout.table_size
    scene.add_box(TABLE, (sx, sy, th), make_transform(t=[tx, ty, tz - th / 2]))
    bx, by, bz = layout.bin_center
    ix, iy, h = layout.bin_size
    w = layout.bin_wall
    scene.add_box("bin_floor", (ix + 2 * w, iy + 2 * w, w), make_transform(t=[bx, by, bz + w / 2]))
    zc = bz + h / 2
    scene.add_box(
        "bin_wall_xn", (w, iy + 2 * w, h), make_transform(t=[bx - ix / 2 - w / 2, by, zc])
    )
    scene.add_box(
        "bin_wall_xp", (w, iy + 2 * w, h), make_transform(t=[bx + ix / 2 + w / 2, by, zc])
    )
    scene.add_box("bin_wall_yn", (ix, w, h), make_transform(t=[bx, by - iy / 2 - w / 2, zc]))
    scene.add_box("bin_wall_yp", (ix, w, h), make_transform(t=[bx, by + iy / 2 + w / 2, zc]))


def cell_names() -> tuple[str, ...]:
    return (TABLE, *BIN_PARTS)


def add_perceived_objects(
    scene: PlanningScene,
    points: np.ndarray,
    labels: np.ndarray,
    table_z: float = 0.0,
    prefix: str = "object_",
    min_points: int = 10,
) -> list[str]:
    """Replace the perceived objects in ``scene`` by one convex hull per label.

    ``points`` (Nx3 [m], base frame) are what the camera saw of each object (its top and
    sides); each hull is closed down to the table plane ``table_z`` [m] so a partially
    seen object becomes a solid. Labels < 0 (noise) and clusters with fewer than
    ``min_points`` points are skipped. Returns the names added (``<prefix><label>``).
    """
    pts = as_array("object points", points, shape=(None, 3))
    lab = np.asarray(labels).reshape(-1)
    if lab.shape[0] != pts.shape[0]:
        raise SceneError(f"labels: {lab.shape[0]} labels for {pts.shape[0]} points")
    for name in [n for n in scene.objects if n.startswith(prefix)]:
        scene.remove(name)
    added = []
    for label in np.unique(lab):
        if label < 0:
            continue
        p = pts[lab == label]
        if p.shape[0] < min_points:
            continue
        foot = p.copy()
        foot[:, 2] = table_z
        hull_pts = np.vstack([p, foot])
        ext = hull_pts.max(axis=0) - hull_pts.min(axis=0)
        if np.min(ext) < 1e-3:  # flat cluster: give it some thickness
            hull_pts = np.vstack([hull_pts, hull_pts + np.array([0.0, 0.0, 2e-3])])
        name = f"{prefix}{int(label)}"
        scene.add_convex(name, hull_pts)
        added.append(name)
    return added


def place_position(layout: CellLayout, clearance: float) -> np.ndarray:
    """Base-frame point [m] ``clearance`` [m] above the bin rim, centred over the bin."""
    bx, by, _ = layout.bin_center
    return np.array([bx, by, layout.bin_top_z + clearance])
