"""The one point-cloud pre-processing path (training, evaluation, benchmark, node):
voxel down-sampling like perception's, a fixed point count, and the centroid frame."""

from __future__ import annotations

import numpy as np

from grasp_core.validation import as_array
from grasp_models.graspnet6dof.errors import InputCloudError

#: Perception's voxel size (config/perception.yaml ``voxel_size``) [m].
VOXEL_SIZE = 0.005
#: Points the networks see.
NUM_POINTS = 1024
#: Fewer object points than this cannot be grasped meaningfully.
MIN_POINTS = 20


def voxel_downsample(points: np.ndarray, voxel: float = VOXEL_SIZE) -> np.ndarray:
    """One point (the mean) per occupied ``voxel`` [m] cube."""
    keys = np.floor(points / voxel).astype(np.int64)
    _, inv, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    out = np.zeros((len(counts), 3))
    np.add.at(out, inv.ravel(), points)
    return out / counts[:, None]


def resample(points: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly ``n`` points: a random subset, or all points plus random repeats."""
    m = len(points)
    if m >= n:
        idx = rng.choice(m, n, replace=False)
    else:
        idx = np.concatenate([rng.permutation(m), rng.choice(m, n - m, replace=True)])
    return points[idx]


def prepare_cloud(
    points: np.ndarray,
    rng: np.random.Generator,
    n: int = NUM_POINTS,
    voxel: float | None = VOXEL_SIZE,
    name: str = "object_points",
) -> tuple[np.ndarray, np.ndarray]:
    """Validated, voxelised, resampled cloud in its centroid frame.

    Returns ``(cloud_centroid (n, 3) float32, centroid (3,))``: the centroid frame has the
    input frame's axes and its origin at the mean of the (voxelised) points.
    """
    pts = as_array(name, points, shape=(None, 3))
    if len(pts) < MIN_POINTS:
        raise InputCloudError(f"{name}: {len(pts)} points, at least {MIN_POINTS} needed")
    if voxel:
        pts = voxel_downsample(pts, voxel)
    centroid = pts.mean(axis=0)
    return resample(pts - centroid, n, rng).astype(np.float32), centroid


def object_clouds(
    points: np.ndarray, labels: np.ndarray | None, min_points: int = MIN_POINTS
) -> list[np.ndarray]:
    """``points`` (Nx3) split into one cloud per object label, largest first.

    Without ``labels`` the whole cloud is one object. Negative labels (unassigned points)
    and clusters under ``min_points`` points are left out, so the list may be empty.
    """
    pts = as_array("object_points", points, shape=(None, 3))
    if labels is None:
        return [pts] if len(pts) >= min_points else []
    lab = np.asarray(labels).reshape(-1)
    if len(lab) != len(pts):
        raise InputCloudError(f"object_labels: {len(lab)} labels for {len(pts)} object points")
    ids, counts = np.unique(lab[lab >= 0], return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return [pts[lab == ids[i]] for i in order if counts[i] >= min_points]
