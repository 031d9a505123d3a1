"""The one grasp vocabulary every model emits and the executor consumes (DESIGN §3-4).

Grasp frame: origin at the TCP between the fingertips, +Z the approach direction, +X the
closing direction, width the finger opening [m].
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from grasp_core.camera import CameraModel
from grasp_core.errors import ValidationError
from grasp_core.se3 import check_transform, make_transform, matrix_to_quat, pose_from_pq
from grasp_core.validation import readonly, require_finite_scalar, require_range

#: How far the TCP goes beyond the grasped surface along the approach [m]: half the
#: object's depth along it (its height for a top-down grasp), within these bounds. The
#: planar models' synthetic labels and TCP depth, and the grasp filter's seating, use it.
TCP_DEPTH_RANGE = (0.004, 0.03)


def wrap_half_pi(angle: float) -> float:
    """Wrap an angle [rad] to [-pi/2, pi/2): a parallel grasp is the same turned by pi."""
    return float((angle + np.pi / 2) % np.pi - np.pi / 2)


@dataclass(frozen=True)
class GraspRect:
    """A planar grasp in an image.

    ``center`` is ``(u, v)`` [px] (column, row); ``angle`` [rad] is the direction of the
    closing (width) axis measured from the image +u axis towards +v, wrapped to
    [-pi/2, pi/2); ``width`` [px] is the opening along that axis, ``length`` [px] the jaw
    size across it; ``quality`` in [0, 1].
    """

    center: tuple[float, float]
    angle: float
    width: float
    length: float
    quality: float = 1.0

    def __post_init__(self) -> None:
        if len(self.center) != 2:
            raise ValidationError(f"GraspRect.center: expected (u, v), got {self.center!r}")
        center = (
            require_finite_scalar("GraspRect.center[0]", self.center[0]),
            require_finite_scalar("GraspRect.center[1]", self.center[1]),
        )
        object.__setattr__(self, "center", center)
        angle = require_finite_scalar("GraspRect.angle", self.angle)
        object.__setattr__(self, "angle", wrap_half_pi(angle))
        require_range("GraspRect.width", self.width, 0.0, None, low_inclusive=False)
        require_range("GraspRect.length", self.length, 0.0, None, low_inclusive=False)
        require_range("GraspRect.quality", self.quality, 0.0, 1.0)

    def corners(self) -> np.ndarray:
        """4x2 array of ``(u, v)`` corners, going round the rectangle."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        along = np.array([c, s]) * self.width / 2  # closing axis
        across = np.array([-s, c]) * self.length / 2
        ctr = np.asarray(self.center)
        return np.array(
            [ctr - along - across, ctr + along - across, ctr + along + across, ctr - along + across]
        )

    def to_grasp(
        self,
        depth: np.ndarray,
        camera: CameraModel,
        model: str = "",
        depth_offset: float = 0.0,
        window: int = 5,
        surface_depth: float | None = None,
    ) -> Grasp:
        """6-DOF grasp of this rectangle seen by ``camera`` over ``depth`` [m].

        The TCP is placed on the camera ray through the centre, ``depth_offset`` [m]
        beyond the surface depth (``surface_depth`` [m] when given, else the median of the
        valid pixels in a ``window`` square round the centre); it approaches along the
        camera's +Z and closes along the rectangle's axis.
        The width is converted to metres at that depth. The pose is in the camera's
        base frame (``camera.T_base_camera``).
        """
        depth = np.asarray(depth, dtype=np.float64)
        if depth.shape != (camera.height, camera.width):
            raise ValidationError(
                f"depth: shape {depth.shape} does not match the camera's "
                f"{(camera.height, camera.width)}"
            )
        u, v = self.center
        r = max(window // 2, 0)
        iu, iv = int(round(u)), int(round(v))
        if not (0 <= iu < camera.width and 0 <= iv < camera.height):
            raise ValidationError(
                f"GraspRect.center ({u:.1f}, {v:.1f}) lies outside the "
                f"{camera.width}x{camera.height} image"
            )
        if surface_depth is not None:
            z = require_range("surface_depth", surface_depth, 0.0, None, low_inclusive=False)
        else:
            patch = depth[max(iv - r, 0) : iv + r + 1, max(iu - r, 0) : iu + r + 1]
            valid = patch[np.isfinite(patch) & (patch > 0)]
            if valid.size == 0:
                raise ValidationError(
                    f"depth: no valid depth around grasp centre ({u:.1f}, {v:.1f})"
                )
            z = float(np.median(valid))
        p_cam = camera.backproject(u, v, z)
        # the jaw axis in pixels, in metres at depth z per pixel of opening (fx may differ
        # from fy: a stream resized to another aspect ratio)
        metric = np.array([np.cos(self.angle) / camera.fx, np.sin(self.angle) / camera.fy])
        per_px = float(np.linalg.norm(metric))
        x_axis = np.array([*(metric / per_px), 0.0])
        z_axis = np.array([0.0, 0.0, 1.0])
        R = np.column_stack([x_axis, np.cross(z_axis, x_axis), z_axis])
        T_camera_grasp = make_transform(R, p_cam + z_axis * depth_offset)
        width_m = self.width * z * per_px
        return Grasp(
            pose=camera.T_base_camera @ T_camera_grasp,
            width=width_m,
            quality=self.quality,
            model=model,
            frame_id=camera.base_frame,
            rect=self,
        )


@dataclass(frozen=True, eq=False)
class Grasp:
    """A 6-DOF parallel-jaw grasp: ``pose`` is ``T_<frame_id>_tcp`` (4x4), ``width`` the
    opening [m], ``quality`` in [0, 1], ``model`` the producer, ``rect`` the image
    rectangle for planar models."""

    pose: np.ndarray
    width: float
    quality: float = 1.0
    model: str = ""
    frame_id: str = "panda_link0"
    rect: GraspRect | None = field(default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pose", readonly(check_transform("Grasp.pose", self.pose)))
        object.__setattr__(
            self, "width", require_range("Grasp.width", self.width, 0.0, None, low_inclusive=False)
        )
        object.__setattr__(self, "quality", require_range("Grasp.quality", self.quality, 0.0, 1.0))
        if not isinstance(self.frame_id, str) or not self.frame_id:
            raise ValidationError(
                f"Grasp.frame_id: expected a non-empty frame name, got {self.frame_id!r}"
            )

    @classmethod
    def from_pq(
        cls, position: np.ndarray, quaternion: np.ndarray, width: float, **kwargs: object
    ) -> Grasp:
        """Build from a position [m] and a unit quaternion ``(x, y, z, w)``."""
        return cls(pose=pose_from_pq(position, quaternion), width=width, **kwargs)  # type: ignore[arg-type]

    @property
    def position(self) -> np.ndarray:
        return self.pose[:3, 3].copy()

    @property
    def quaternion(self) -> np.ndarray:
        return matrix_to_quat(self.pose[:3, :3])

    @property
    def approach(self) -> np.ndarray:
        """Unit approach direction (+Z of the grasp frame) in ``frame_id``."""
        return self.pose[:3, 2].copy()

    @property
    def closing(self) -> np.ndarray:
        """Unit closing direction (+X of the grasp frame) in ``frame_id``."""
        return self.pose[:3, 0].copy()

    def transformed(self, T_new_old: np.ndarray, frame_id: str) -> Grasp:
        """The same grasp expressed in ``frame_id``, given ``T_<frame_id>_<self.frame_id>``."""
        return replace(self, pose=np.asarray(T_new_old) @ self.pose, frame_id=frame_id)

    def offset_along_approach(self, distance: float) -> np.ndarray:
        """Pose moved ``distance`` [m] along +Z (negative: back off, e.g. pre-grasp)."""
        T = self.pose.copy()
        T[:3, 3] += T[:3, 2] * distance
        return T
