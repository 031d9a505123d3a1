"""Synthetic RGB-D scenes: a table plane plus boxes at known poses, ray-cast in numpy.

Ground truth for tests and benchmarks that must not depend on the simulator. The table is
the plane ``z = table_height`` of the base frame; each box is an oriented cuboid standing
on it. Depth is the camera-frame Z [m] (like a depth camera), labels are ``-1`` for no
hit, ``0`` for the table and ``i + 1`` for box ``i``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grasp_core.camera import CameraModel
from grasp_core.frame import RGBDFrame
from grasp_core.se3 import look_at, make_transform, rot_z
from grasp_core.validation import as_array, require_range


@dataclass(frozen=True)
class SyntheticBox:
    """A cuboid of edge lengths ``size`` [m] whose bottom face rests on the table.

    ``center_xy`` [m] is its centre in the base frame, ``yaw`` [rad] its rotation about +Z.
    """

    center_xy: tuple[float, float]
    size: tuple[float, float, float]
    yaw: float = 0.0

    def T_base_box(self, table_height: float) -> np.ndarray:
        """Pose of the box centre in the base frame."""
        c = [self.center_xy[0], self.center_xy[1], table_height + self.size[2] / 2]
        return make_transform(rot_z(self.yaw), np.asarray(c, dtype=float))

    def center(self, table_height: float) -> np.ndarray:
        return self.T_base_box(table_height)[:3, 3].copy()


@dataclass(frozen=True)
class SyntheticScene:
    """A square table at ``table_height`` [m] (base frame) with ``boxes`` on it."""

    boxes: tuple[SyntheticBox, ...] = ()
    table_height: float = 0.0
    table_half_extent: float = 1.0
    table_center_xy: tuple[float, float] = (0.5, 0.0)
    colors: tuple[tuple[int, int, int], ...] = field(
        default=((200, 40, 40), (40, 160, 40), (40, 40, 200), (200, 200, 40), (160, 40, 160))
    )


def default_camera(
    width: int = 640,
    height: int = 480,
    eye: tuple[float, float, float] = (0.5, -0.35, 0.75),
    target: tuple[float, float, float] = (0.5, 0.0, 0.0),
    fovy_deg: float = 55.0,
) -> CameraModel:
    """A camera looking down at the table, mounted in front of the robot (base frame)."""
    T = look_at(np.asarray(eye, float), np.asarray(target, float), up=(1.0, 0.0, 0.0))
    return CameraModel.from_fovy(fovy_deg, width, height, T_base_camera=T)


def _ray_box(origin: np.ndarray, dirs: np.ndarray, T_base_box: np.ndarray, size) -> np.ndarray:
    """Distance along each unit ray to an oriented box (inf where missed), slab method."""
    R, t = T_base_box[:3, :3], T_base_box[:3, 3]
    o = R.T @ (origin - t)
    d = dirs @ R  # = (R^T dirs^T)^T
    half = np.asarray(size, dtype=float) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1 = (-half - o) * inv
        t2 = (half - o) * inv
    tmin = np.nanmax(np.minimum(t1, t2), axis=1)
    tmax = np.nanmin(np.maximum(t1, t2), axis=1)
    hit = (tmax >= tmin) & (tmax > 0)
    return np.where(hit, np.where(tmin > 0, tmin, tmax), np.inf)


def render(
    scene: SyntheticScene,
    camera: CameraModel,
    noise_std: float = 0.0,
    dropout: float = 0.0,
    seed: int = 0,
    stamp: float = 0.0,
) -> tuple[RGBDFrame, np.ndarray]:
    """Ray-cast ``scene`` through ``camera``: an :class:`RGBDFrame` and HxW int32 labels.

    ``noise_std`` [m] adds Gaussian depth noise; ``dropout`` in [0, 1] is the fraction of
    pixels set to 0 (no return), as real sensors do. Seeded by ``seed``.
    """
    require_range("noise_std", noise_std, 0.0, 0.1)
    require_range("dropout", dropout, 0.0, 1.0)
    rays_cam = camera.pixel_rays().reshape(-1, 3)  # z = 1
    T = camera.T_base_camera
    origin = T[:3, 3]
    rays_base = rays_cam @ T[:3, :3].T  # not unit: t along these is camera-frame z
    n = rays_base.shape[0]
    best = np.full(n, np.inf)
    labels = np.full(n, -1, dtype=np.int32)
    # table plane z = h within +-half extent
    with np.errstate(divide="ignore", invalid="ignore"):
        t_plane = (scene.table_height - origin[2]) / rays_base[:, 2]
    hit_pts = origin + t_plane[:, None] * rays_base
    on_table = (
        np.isfinite(t_plane)
        & (t_plane > 0)
        & (np.abs(hit_pts[:, 0] - scene.table_center_xy[0]) <= scene.table_half_extent)
        & (np.abs(hit_pts[:, 1] - scene.table_center_xy[1]) <= scene.table_half_extent)
    )
    best = np.where(on_table, t_plane, best)
    labels[on_table] = 0
    for i, box in enumerate(scene.boxes):
        t_box = _ray_box(origin, rays_base, box.T_base_box(scene.table_height), box.size)
        closer = t_box < best
        best = np.where(closer, t_box, best)
        labels[closer] = i + 1
    depth = np.where(np.isfinite(best), best, 0.0).reshape(camera.height, camera.width)
    labels = labels.reshape(camera.height, camera.width)
    rng = np.random.default_rng(seed)
    if noise_std > 0:
        depth = np.where(depth > 0, depth + rng.normal(0.0, noise_std, depth.shape), 0.0)
    if dropout > 0:
        depth = np.where(rng.random(depth.shape) < dropout, 0.0, depth)
    color = np.full((camera.height, camera.width, 3), 30, dtype=np.uint8)
    color[labels == 0] = (180, 160, 130)
    for i in range(len(scene.boxes)):
        color[labels == i + 1] = scene.colors[i % len(scene.colors)]
    frame = RGBDFrame(depth=depth.astype(np.float32), camera=camera, color=color, stamp=stamp)
    return frame, labels


def visible_centroid(frame: RGBDFrame, labels: np.ndarray, label: int) -> np.ndarray:
    """Centroid [m, base frame] of the valid pixels carrying ``label`` (ground truth)."""
    labels = as_array("labels", labels, shape=(frame.camera.height, frame.camera.width), dtype=None)
    pts = frame.camera.depth_to_points(frame.depth, frame="base")
    sel = (labels == label) & frame.valid_mask()
    return pts[sel].mean(axis=0) if sel.any() else np.full(3, np.nan)


def random_boxes(
    rng: np.random.Generator,
    count: int,
    center: tuple[float, float] = (0.5, 0.0),
    spread: float = 0.18,
    min_gap: float = 0.05,
) -> tuple[SyntheticBox, ...]:
    """``count`` boxes 3-8 cm wide, 2-12 cm tall, at random yaw, at least ``min_gap`` apart."""
    boxes: list[SyntheticBox] = []
    for _ in range(1000 * max(count, 1)):
        if len(boxes) == count:
            break
        size = (rng.uniform(0.03, 0.08), rng.uniform(0.03, 0.08), rng.uniform(0.02, 0.12))
        xy = np.asarray(center) + rng.uniform(-spread, spread, 2)
        r = np.hypot(size[0], size[1]) / 2
        if all(
            np.hypot(*(xy - b.center_xy)) > r + np.hypot(b.size[0], b.size[1]) / 2 + min_gap
            for b in boxes
        ):
            boxes.append(
                SyntheticBox((float(xy[0]), float(xy[1])), size, rng.uniform(-np.pi, np.pi))
            )
    return tuple(boxes)


__all__ = [
    "SyntheticBox",
    "SyntheticScene",
    "default_camera",
    "random_boxes",
    "render",
    "visible_centroid",
]
