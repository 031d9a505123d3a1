"""Planar grasp datasets: Cornell and Jacquard formats, splits, and a synthetic generator.

Every loader yields :class:`~grasp_models.datasets.sample.GraspSample` values: a depth
image [m], an optional RGB image, positive and negative :class:`~grasp_core.GraspRect`
labels in our angle convention, and the ids used for image-wise and object-wise splits.
"""

from grasp_models.datasets.cornell import CornellDataset, parse_cornell_rects
from grasp_models.datasets.jacquard import JacquardDataset, parse_jacquard_grasps
from grasp_models.datasets.sample import GraspSample, PlanarDataset
from grasp_models.datasets.splits import split_indices

__all__ = [
    "CornellDataset",
    "GraspSample",
    "JacquardDataset",
    "PlanarDataset",
    "parse_cornell_rects",
    "parse_jacquard_grasps",
    "split_indices",
]
