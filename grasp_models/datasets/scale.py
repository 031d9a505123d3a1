"""The scale of a dataset's images at the table, from its ``camera.json``.

``grasp datagen-planar`` writes ``camera.json`` (``{"K": 3x3 intrinsics, ...}``, the
:meth:`grasp_core.CameraModel.to_dict` layout) beside its images; a folder of your own
captures may carry one too. The scale is the focal length over the table depth of the
first image [px/m]: what a planar model learned object sizes at, and what evaluation and
the detector zoom other images to.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from grasp_models.datasets.sample import PlanarDataset
from grasp_models.errors import DatasetError
from grasp_models.planar.processing import table_depth

CAMERA_FILE = "camera.json"


def camera_focal_length(root: str | Path) -> float | None:
    """sqrt(fx * fy) [px] of ``root/camera.json``; None without one. Raises
    :class:`DatasetError` naming the file for one without a usable ``K``."""
    path = Path(root) / CAMERA_FILE
    if not path.is_file():
        return None
    try:
        K = np.asarray(json.loads(path.read_text())["K"], dtype=float)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(
            f"{path}: expected a JSON object with 'K', the 3x3 intrinsics [px] ({exc!r})"
        ) from exc
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise DatasetError(f"{path}: 'K' must be a finite 3x3 matrix with fx, fy > 0")
    return float(np.sqrt(K[0, 0] * K[1, 1]))


def dataset_pixels_per_metre(source: PlanarDataset) -> float | None:
    """Focal length of ``source``'s camera over the table depth of its first image
    [px/m]; None without a ``camera.json`` (e.g. Cornell: its scale is unknown, nothing is
    zoomed) or without images."""
    root = getattr(source, "root", None)
    f = camera_focal_length(root) if root is not None and len(source) else None
    if f is None:
        return None
    z = table_depth(source[0].depth)
    if not z > 0:
        raise DatasetError(f"{root}: its first image has no valid depth to scale by")
    return round(f / z, 3)
