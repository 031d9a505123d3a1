"""The value every planar dataset yields, and the small interface datasets share."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from grasp_core import GraspRect
from grasp_models.errors import DatasetError


@dataclass(frozen=True, eq=False)
class GraspSample:
    """One labelled (or unlabelled) image.

    ``depth``: HxW float32 [m] (0 = no return); ``rgb``: HxWx3 uint8 or None;
    ``positives`` / ``negatives``: grasp rectangles [px]; ``image_id`` and ``object_id``
    identify the image and the object for splits.
    """

    depth: np.ndarray
    positives: tuple[GraspRect, ...]
    negatives: tuple[GraspRect, ...] = ()
    rgb: np.ndarray | None = None
    image_id: str = ""
    object_id: str = ""

    @property
    def labelled(self) -> bool:
        return len(self.positives) > 0


class PlanarDataset(abc.ABC):
    """A list of samples on disk, loaded lazily by index."""

    root: Path

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def __getitem__(self, index: int) -> GraspSample: ...

    @abc.abstractmethod
    def object_ids(self) -> list[str]:
        """Object id of every sample (cheap: no image is read)."""

    def image_ids(self) -> list[str]:
        return [str(i) for i in range(len(self))]

    def has_object_ids(self) -> bool:
        """Whether the data says which object each image shows (else each image is its
        own object, and an object-wise split is image-wise)."""
        return True

    def positive_counts(self) -> list[int]:
        """How many positive rectangles each sample has (override when it can be cheaper)."""
        return [len(self[i].positives) for i in range(len(self))]

    def labelled_flags(self) -> list[bool]:
        """Whether each sample has positive labels."""
        return [n > 0 for n in self.positive_counts()]

    def labelled_indices(self) -> list[int]:
        """Indices of the samples with positive labels (the ones a metric can score)."""
        return [i for i, flag in enumerate(self.labelled_flags()) if flag]


def read_depth_tiff(path: Path) -> np.ndarray:
    """A float depth TIFF as float32 [m]; values that look like millimetres are converted."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DatasetError(f"{path}: cannot read depth image")
    if img.ndim != 2:
        raise DatasetError(f"{path}: expected a single-channel depth image, got shape {img.shape}")
    depth = img.astype(np.float32)
    depth[~np.isfinite(depth)] = 0.0
    valid = depth[depth > 0]
    if img.dtype == np.uint16 or (valid.size and np.median(valid) > 20.0):
        depth *= np.float32(1e-3)  # millimetres
    return depth


def read_rgb(path: Path) -> np.ndarray:
    """A colour image as HxWx3 uint8 RGB."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DatasetError(f"{path}: cannot read colour image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
