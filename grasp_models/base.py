"""The one interface every grasp model implements, whatever its input.

The detector node and the benchmarks hold a :class:`GraspModel` and never know which
network is behind it: they build a :class:`GraspInput` from what the camera and perception
provide and receive :class:`~grasp_core.Grasp` objects in the robot base frame.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from grasp_core import Grasp, RGBDFrame


@dataclass(frozen=True, eq=False)
class GraspInput:
    """What a model may look at.

    ``frame``: the RGB-D frame (its camera carries intrinsics and ``T_base_camera``).
    ``object_points``: Nx3 segmented object points in the base frame [m] (6-DOF and
    multi-finger models), ``object_labels``: N cluster labels for them (optional).
    ``scene_points``: Mx3 points of everything else in the base frame (optional).
    ``base_frame``: the name of that base frame; default ``frame.camera.base_frame``
    (a model given points but neither raises :class:`~grasp_models.errors.ModelError`).
    """

    frame: RGBDFrame | None = None
    object_points: np.ndarray | None = None
    object_labels: np.ndarray | None = None
    scene_points: np.ndarray | None = None
    base_frame: str | None = None

    def frame_id(self) -> str | None:
        """The base frame's name: ``base_frame``, else the frame's camera's, else None."""
        if self.base_frame:
            return self.base_frame
        return self.frame.camera.base_frame if self.frame is not None else None


class GraspModel(abc.ABC):
    """A grasp detector: input -> grasps in the base frame, best first.

    Subclasses declare ``name`` (the registry key, e.g. ``"ggcnn"``) and ``inputs`` (which
    fields of :class:`GraspInput` they need, e.g. ``("frame",)``).
    """

    name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def predict(self, inp: GraspInput, max_grasps: int = 50) -> list[Grasp]:
        """Grasps in the base frame (``inp.frame.camera.base_frame``), best first."""

    def to(self, device: str) -> GraspModel:
        """Move to ``device`` (``"cpu"``, ``"cuda"``); models without tensors ignore it."""
        return self
