"""Training / evaluation samples from a folder of per-object grasp files.

A sample is one partial view of one object (random yaw about base +Z as augmentation,
the shared :func:`~grasp_models.graspnet6dof.clouds.prepare_cloud` path) with grasps
expressed in that cloud's centroid frame: T_centroid_grasp = T_centroid_object @
T_object_grasp.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grasp_models.graspnet6dof.clouds import prepare_cloud
from grasp_models.graspnet6dof.data import KIND_PERTURBED, GraspFile, read_grasps
from grasp_models.graspnet6dof.errors import AcronymFormatError
from grasp_models.graspnet6dof.geometry import yaw_rotation


@dataclass(frozen=True, eq=False)
class ObjectGrasps:
    """One object's labelled grasps split the paper's way, plus its views."""

    name: str
    positives: np.ndarray  # (P, 4, 4) T_object_grasp
    negatives: np.ndarray  # surface-sampled failures (incl. pre-check rejects)
    hard_negatives: np.ndarray  # perturbed positives that failed
    views: list[np.ndarray]  # partial clouds, object frame
    T_object_camera: np.ndarray
    file: GraspFile


def load_object(path: Path) -> ObjectGrasps:
    g = read_grasps(path)
    if g.view_points is None:
        raise AcronymFormatError(f"{path}: no views/points (rendered partial clouds)")
    kind = g.kind if g.kind is not None else np.zeros(len(g.success), np.int8)
    pert = kind == KIND_PERTURBED
    views = [v[np.isfinite(v).all(axis=1)] for v in g.view_points]
    return ObjectGrasps(
        name=Path(path).stem,
        positives=g.transforms[g.success],
        negatives=g.transforms[~g.success & ~pert],
        hard_negatives=g.transforms[~g.success & pert],
        views=[v for v in views if len(v) >= 20],
        T_object_camera=g.T_object_camera,
        file=g,
    )


def load_folder(folder: Path) -> list[ObjectGrasps]:
    files = sorted(Path(folder).glob("*.h5"))
    if not files:
        raise AcronymFormatError(f"{folder}: no .h5 grasp files")
    return [load_object(f) for f in files]


@dataclass(frozen=True, eq=False)
class ViewSample:
    cloud: np.ndarray  # (N, 3) float32, centroid frame
    T_centroid_object: np.ndarray  # (4, 4)


def view_sample(
    obj: ObjectGrasps, view: int, rng: np.random.Generator, augment: bool = True
) -> ViewSample:
    """Cloud of view ``view`` (random yaw if ``augment``) in its centroid frame."""
    T_rot = yaw_rotation(rng.uniform(0, 2 * np.pi)) if augment else np.eye(4)
    pts = obj.views[view] @ T_rot[:3, :3].T
    cloud, centroid = prepare_cloud(pts, rng)
    T = T_rot.copy()
    T[:3, 3] -= centroid
    return ViewSample(cloud, T)


def pick(arr: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows of ``arr`` (with replacement only when it has fewer)."""
    return arr[rng.choice(len(arr), n, replace=len(arr) < n)]
