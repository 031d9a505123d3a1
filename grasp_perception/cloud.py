"""Back-projection of depth images to point clouds, workspace crop and voxel downsampling.

An organised cloud is HxWx3 float64 with NaN where depth is missing; an unorganised one
is Nx3 float32 (what PointCloud2 carries) with the flat pixel index of each point alongside.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import open3d as o3d

from grasp_core.camera import CameraModel
from grasp_core.errors import ValidationError
from grasp_core.se3 import transform_points
from grasp_core.validation import as_array, require_choice, require_range


@lru_cache(maxsize=8)
def _rays(k_bytes: bytes, width: int, height: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    K = np.frombuffer(k_bytes, dtype=np.float64).reshape(3, 3)
    v, u = np.mgrid[0:height:stride, 0:width:stride]
    x = (u - K[0, 2]) / K[0, 0]
    y = (v - K[1, 2]) / K[1, 1]
    rays = np.stack([x, y, np.ones_like(x)], axis=-1).astype(np.float64)
    flat = (v * width + u).astype(np.int64)
    rays.setflags(write=False)
    flat.setflags(write=False)
    return rays, flat


def pixel_rays(camera: CameraModel, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame rays with z = 1 of every ``stride``-th pixel (h x w x 3, read-only,
    cached) and their flat pixel indices ``v * width + u`` (h x w)."""
    return _rays(np.ascontiguousarray(camera.K).tobytes(), camera.width, camera.height, stride)


def organized_cloud(depth: np.ndarray, camera: CameraModel, frame: str = "base") -> np.ndarray:
    """HxWx3 cloud [m] in the ``"base"`` or ``"camera"`` frame; NaN where depth is invalid."""
    require_choice("frame", frame, ("base", "camera"))
    depth = _check_depth(depth, camera)
    rays, _ = pixel_rays(camera)
    d = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan).astype(np.float64)
    pts = rays * d[..., None]
    if frame == "base":
        pts = transform_points(camera.T_base_camera, pts.reshape(-1, 3)).reshape(pts.shape)
    return pts


@lru_cache(maxsize=8)
def _rays_base(
    k_bytes: bytes, width: int, height: int, stride: int, t_bytes: bytes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rays, flat = _rays(k_bytes, width, height, stride)
    T = np.frombuffer(t_bytes, dtype=np.float64).reshape(4, 4)
    rb = np.ascontiguousarray((rays.reshape(-1, 3) @ T[:3, :3].T).astype(np.float32))
    t = T[:3, 3].astype(np.float32)
    for a in (rb, t):
        a.setflags(write=False)
    return rb, t, flat.ravel()


def depth_to_cloud(
    depth: np.ndarray,
    camera: CameraModel,
    frame: str = "base",
    stride: int = 1,
    depth_min: float = 0.0,
    depth_max: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Unorganised cloud: (Nx3 float32 points [m] in ``frame``, N flat pixel indices).

    Only every ``stride``-th pixel in u and v, and only depths in (``depth_min``,
    ``depth_max``] [m], are kept; invalid pixels are dropped. Rays are cached per
    camera and extrinsic, so the per-frame cost is one multiply-add per point.
    """
    require_choice("frame", frame, ("base", "camera"))
    stride = int(require_range("stride", stride, 1, 64))
    depth = _check_depth(depth, camera)
    T = camera.T_base_camera if frame == "base" else np.eye(4)
    rays, t, flat = _rays_base(
        np.ascontiguousarray(camera.K).tobytes(),
        camera.width,
        camera.height,
        stride,
        np.ascontiguousarray(T, dtype=np.float64).tobytes(),
    )
    d = np.ascontiguousarray(depth[::stride, ::stride], dtype=np.float32).ravel()
    with np.errstate(invalid="ignore"):
        idx = np.flatnonzero((d > max(depth_min, 0.0)) & (d <= depth_max))
    pts = rays[idx] * d[idx, None] + t
    return pts, flat[idx]


def crop_mask(points: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Boolean mask of the Nx3 ``points`` inside the axis-aligned box [lo, hi] [m]."""
    lo = as_array("crop lo", lo, shape=(3,))
    hi = as_array("crop hi", hi, shape=(3,))
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    return (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & (z >= lo[2]) & (z <= hi[2])


def crop_box(points: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The Nx3 ``points`` inside the axis-aligned box [lo, hi] (same frame) [m]."""
    return points[crop_mask(points, lo, hi)]


def column_min(a: np.ndarray) -> np.ndarray:
    """Per-column minimum of an NxC array (numpy's ``min(axis=0)`` is ~30x slower on Nx3)."""
    return np.array([a[:, i].min() for i in range(a.shape[1])])


def column_max(a: np.ndarray) -> np.ndarray:
    """Per-column maximum of an NxC array."""
    return np.array([a[:, i].max() for i in range(a.shape[1])])


def column_mean(a: np.ndarray) -> np.ndarray:
    """Per-column mean of an NxC array (float64)."""
    return np.array([a[:, i].mean(dtype=np.float64) for i in range(a.shape[1])])


def voxel_downsample(points: np.ndarray, voxel_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Centroid of the points in each occupied voxel and, for every input point, the index
    of its voxel (so per-voxel labels map back to points: ``labels[inverse]``).

    Written with numpy rather than open3d's ``voxel_down_sample`` because that does not
    return the point-to-voxel map cheaply (``..._and_trace`` builds Python lists), and
    the map is what carries cluster labels back to pixels.
    """
    require_range("voxel_size", voxel_size, 0.0, None, low_inclusive=False)
    points = np.asarray(points)
    if points.dtype.kind != "f":
        points = points.astype(np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValidationError(f"points: expected Nx3, got {points.shape}")
    if len(points) == 0:
        return np.empty((0, 3)), np.empty(0, dtype=np.int64)
    # non-negative offsets, so truncation is floor
    keys = ((points - column_min(points)) * points.dtype.type(1.0 / voxel_size)).astype(np.int64)
    dims = column_max(keys) + 1
    key = (keys[:, 0] * dims[1] + keys[:, 1]) * dims[2] + keys[:, 2]
    # np.unique(return_inverse=True) without its extra passes: sort, mark key changes,
    # number the runs (voxels are numbered in key order, as np.unique would)
    order = np.argsort(key)
    sorted_key = key[order]
    step = np.empty(len(key), dtype=np.int64)
    step[0] = 0
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=step[1:])
    run = np.cumsum(step)
    inverse = np.empty(len(key), dtype=np.int64)
    inverse[order] = run
    counts = np.bincount(run)
    centroids = np.empty((len(counts), 3))
    for axis in range(3):
        centroids[:, axis] = np.bincount(inverse, weights=points[:, axis]) / counts
    return centroids, inverse


def voxel_downsample_o3d(points: np.ndarray, voxel_size: float) -> np.ndarray:
    """Open3d's voxel downsampling (no point-to-voxel map), for callers that only need points."""
    require_range("voxel_size", voxel_size, 0.0, None, low_inclusive=False)
    return np.asarray(to_o3d(points).voxel_down_sample(voxel_size).points)


def to_o3d(points: np.ndarray) -> o3d.geometry.PointCloud:
    """An open3d point cloud of Nx3 points."""
    pcd = o3d.geometry.PointCloud()
    pcd.points = o3d.utility.Vector3dVector(np.ascontiguousarray(points, dtype=np.float64))
    return pcd


def _check_depth(depth: np.ndarray, camera: CameraModel) -> np.ndarray:
    depth = np.asarray(depth)
    if depth.shape != (camera.height, camera.width):
        raise ValidationError(
            f"depth: shape {depth.shape} does not match the camera's {(camera.height, camera.width)}"
        )
    if depth.dtype.kind != "f":
        raise ValidationError(f"depth: expected float metres, got dtype {depth.dtype}")
    return depth
