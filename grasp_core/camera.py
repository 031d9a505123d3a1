"""Pinhole camera model (distortion-free) with its mounting in the robot base frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grasp_core.errors import ValidationError
from grasp_core.se3 import check_transform, invert, transform_points
from grasp_core.validation import as_array, readonly


@dataclass(frozen=True, eq=False)
class CameraModel:
    """Intrinsics ``K`` of an image ``width`` x ``height`` [px] and the extrinsic ``T_base_camera``.

    The camera frame is an optical frame (REP 103: +Z forward, +X right, +Y down).
    ``T_base_camera`` maps points in the camera frame to the robot base frame.
    """

    K: np.ndarray
    width: int
    height: int
    T_base_camera: np.ndarray = field(default_factory=lambda: np.eye(4))
    frame_id: str = "camera_color_optical_frame"
    base_frame: str = "panda_link0"

    def __post_init__(self) -> None:
        K = as_array("CameraModel.K", self.K, shape=(3, 3))
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise ValidationError(
                f"CameraModel.K: focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]}"
            )
        if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0 or K[2, 0] != 0:
            raise ValidationError(f"CameraModel.K: not an upper-triangular intrinsic matrix: {K}")
        for name in ("width", "height"):
            v = getattr(self, name)
            if int(v) != v or v <= 0:
                raise ValidationError(f"CameraModel.{name}: expected a positive integer, got {v!r}")
        T = check_transform("CameraModel.T_base_camera", self.T_base_camera)
        object.__setattr__(self, "K", readonly(K))
        object.__setattr__(self, "T_base_camera", readonly(T))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @classmethod
    def from_intrinsics(
        cls,
        fx: float,
        fy: float,
        cx: float,
        cy: float,
        width: int,
        height: int,
        **kwargs: object,
    ) -> CameraModel:
        """Build from focal lengths and principal point [px]."""
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        return cls(K=K, width=width, height=height, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_fovy(cls, fovy_deg: float, width: int, height: int, **kwargs: object) -> CameraModel:
        """Square-pixel camera with vertical field of view ``fovy_deg`` [deg] (MuJoCo's way)."""
        f = 0.5 * height / np.tan(np.deg2rad(fovy_deg) / 2)
        return cls.from_intrinsics(f, f, (width - 1) / 2, (height - 1) / 2, width, height, **kwargs)

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def T_camera_base(self) -> np.ndarray:
        return invert(self.T_base_camera)

    def with_extrinsic(self, T_base_camera: np.ndarray) -> CameraModel:
        """Same intrinsics, new mounting (e.g. a wrist camera after the arm moved)."""
        return CameraModel(
            K=self.K,
            width=self.width,
            height=self.height,
            T_base_camera=T_base_camera,
            frame_id=self.frame_id,
            base_frame=self.base_frame,
        )

    def cropped(self, top: int, left: int, height: int, width: int) -> CameraModel:
        """Camera model of a ``height`` x ``width`` crop whose top-left pixel is (top, left)."""
        K = self.K.copy()
        K[0, 2] -= left
        K[1, 2] -= top
        return CameraModel(
            K=K,
            width=width,
            height=height,
            T_base_camera=self.T_base_camera,
            frame_id=self.frame_id,
            base_frame=self.base_frame,
        )

    def project(self, points_camera: np.ndarray) -> np.ndarray:
        """Pixel coordinates ``(u, v)`` (Nx2, column then row) of Nx3 camera-frame points [m]."""
        p = np.atleast_2d(np.asarray(points_camera, dtype=np.float64))
        z = p[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.fx * p[:, 0] / z + self.cx
            v = self.fy * p[:, 1] / z + self.cy
        return np.column_stack([u, v])

    def project_base(self, points_base: np.ndarray) -> np.ndarray:
        """Pixel coordinates of Nx3 points given in the base frame."""
        return self.project(transform_points(self.T_camera_base, points_base))

    def backproject(self, u: np.ndarray, v: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Camera-frame points (Nx3) [m] of pixels ``(u, v)`` at ``depth`` [m] along +Z."""
        u = np.asarray(u, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        z = np.asarray(depth, dtype=np.float64)
        x = (u - self.cx) * z / self.fx
        y = (v - self.cy) * z / self.fy
        return np.stack([x, y, z], axis=-1)

    def pixel_rays(self) -> np.ndarray:
        """HxWx3 array of camera-frame rays with z = 1 for every pixel (cache it if hot)."""
        u, v = np.meshgrid(np.arange(self.width), np.arange(self.height))
        return self.backproject(u, v, np.ones_like(u, dtype=np.float64))

    def depth_to_points(self, depth: np.ndarray, frame: str = "camera") -> np.ndarray:
        """Organised HxWx3 cloud [m] of a depth image [m]; invalid depth (<=0, NaN) gives NaN.

        ``frame`` is ``"camera"`` or ``"base"``.
        """
        depth = np.asarray(depth, dtype=np.float64)
        if depth.shape != (self.height, self.width):
            raise ValidationError(
                f"depth: expected shape {(self.height, self.width)} for this camera, got {depth.shape}"
            )
        d = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan)
        pts = self.pixel_rays() * d[..., None]
        if frame == "base":
            pts = transform_points(self.T_base_camera, pts.reshape(-1, 3)).reshape(pts.shape)
        elif frame != "camera":
            raise ValidationError(f"frame: {frame!r} is not one of 'camera', 'base'")
        return pts

    def to_dict(self) -> dict:
        """JSON-friendly description (for model cards and recordings)."""
        return {
            "K": self.K.tolist(),
            "width": self.width,
            "height": self.height,
            "T_base_camera": self.T_base_camera.tolist(),
            "frame_id": self.frame_id,
            "base_frame": self.base_frame,
        }

    @classmethod
    def from_dict(cls, d: dict) -> CameraModel:
        return cls(
            K=np.asarray(d["K"]),
            width=d["width"],
            height=d["height"],
            T_base_camera=np.asarray(d.get("T_base_camera", np.eye(4))),
            frame_id=d.get("frame_id", "camera_color_optical_frame"),
            base_frame=d.get("base_frame", "panda_link0"),
        )
