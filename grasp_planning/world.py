"""The work cell (table, place bin) as planning-scene obstacles, and perceived objects.

The cell is :class:`grasp_core.cell.CellLayout`, read by the same loader and, for the
Panda, from the same file the simulator builds its world from
(``config/sim/panda_table.yaml``, frame ``panda_link0``, table-top plane z = 0), so the
planner and the sim agree. Baxter's cell is ``config/cells/baxter_table.yaml`` (frame
``base``). A cell must be written in the robot's base frame: :func:`add_cell` refuses
anything else.
"""

from __future__ import annotations

import numpy as np

from grasp_core.cell import CellLayout
from grasp_core.se3 import make_transform
from grasp_core.validation import as_array
from grasp_planning.collision import PlanningScene
from grasp_planning.errors import SceneError

TABLE = "table"
BIN_PARTS = ("bin_floor", "bin_wall_xn", "bin_wall_xp", "bin_wall_yn", "bin_wall_yp")
#: Scene objects :func:`add_cell` adds: obstacles, never grasp targets.
CELL_OBSTACLES = frozenset((TABLE, *BIN_PARTS))


def add_cell(scene: PlanningScene, layout: CellLayout) -> None:
    """Add the table top and the bin (floor + four walls) as boxes. Raises
    :class:`grasp_core.cell.CellConfigError` if the cell's frame is not the robot's base
    frame."""
    cfg = scene.robot.config
    layout.require_frame(cfg.base_frame, f"robot {cfg.name}")
    tx, ty, tz = layout.table_center
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
    q_robot: np.ndarray | None = None,
    robot_margin: float = 0.02,
) -> list[str]:
    """Replace the perceived objects in ``scene`` by one convex hull per label.

    ``points`` (Nx3 [m], base frame) are what the camera saw of each object (its top and
    sides); each hull is closed down to the table plane ``table_z`` [m] so a partially
    seen object becomes a solid. Labels < 0 (noise) and clusters with fewer than
    ``min_points`` points are skipped. With ``q_robot`` [rad] (the arm's current joint
    positions) points within ``robot_margin`` [m] of the robot's link geometry are dropped
    first: an arm seen by the camera would otherwise become a hull down to the table that
    swallows the arm itself (start configuration "in collision"). Returns the names added
    (``<prefix><label>``).
    """
    pts = as_array("object points", points, shape=(None, 3))
    lab = np.asarray(labels).reshape(-1)
    if lab.shape[0] != pts.shape[0]:
        raise SceneError(f"labels: {lab.shape[0]} labels for {pts.shape[0]} points")
    if q_robot is not None and pts.shape[0]:
        keep = ~scene.points_on_robot(q_robot, pts, robot_margin)
        pts, lab = pts[keep], lab[keep]
    for name in [n for n in scene.objects if n.startswith(prefix)]:
        scene.remove(name)
    scene.objects_reported = True
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
