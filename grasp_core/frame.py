"""One synchronised RGB-D observation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasp_core.camera import CameraModel
from grasp_core.errors import ValidationError


@dataclass(frozen=True, eq=False)
class RGBDFrame:
    """Colour (HxWx3 uint8 RGB, optional), depth (HxW float32 [m], 0 or NaN = no return),
    the camera that took them, a stamp [s] and the optical frame id.

    ``stamp_ns``: the same stamp in integer nanoseconds where the source has it exactly (a
    ROS header); outputs stamped with it carry the input's stamp bit for bit, which a float
    cannot (it holds an epoch time to ~0.2 µs). None: ``stamp`` is all there is.
    """

    depth: np.ndarray
    camera: CameraModel
    color: np.ndarray | None = None
    stamp: float = 0.0
    frame_id: str = ""
    stamp_ns: int | None = None

    def __post_init__(self) -> None:
        depth = np.asarray(self.depth)
        if depth.ndim != 2:
            raise ValidationError(f"RGBDFrame.depth: expected HxW, got shape {depth.shape}")
        if depth.dtype != np.float32:
            if depth.dtype.kind != "f":
                raise ValidationError(
                    f"RGBDFrame.depth: expected float metres, got dtype {depth.dtype} "
                    "(convert 16UC1 millimetres with depth_mm_to_m)"
                )
            depth = depth.astype(np.float32)
        if depth.shape != (self.camera.height, self.camera.width):
            raise ValidationError(
                f"RGBDFrame.depth: shape {depth.shape} does not match the camera's "
                f"{(self.camera.height, self.camera.width)}"
            )
        if self.color is not None:
            color = np.asarray(self.color)
            if color.shape != (*depth.shape, 3) or color.dtype != np.uint8:
                raise ValidationError(
                    f"RGBDFrame.color: expected {(*depth.shape, 3)} uint8, "
                    f"got {color.shape} {color.dtype}"
                )
            object.__setattr__(self, "color", color)
        object.__setattr__(self, "depth", depth)
        if not self.frame_id:
            object.__setattr__(self, "frame_id", self.camera.frame_id)

    @property
    def shape(self) -> tuple[int, int]:
        return self.depth.shape  # type: ignore[return-value]

    def valid_mask(self) -> np.ndarray:
        """Pixels with a finite, positive depth."""
        return np.isfinite(self.depth) & (self.depth > 0)


def depth_mm_to_m(depth_mm: np.ndarray) -> np.ndarray:
    """16UC1 millimetres (0 = no return) to float32 metres (0 stays 0)."""
    return np.asarray(depth_mm, dtype=np.float32) * np.float32(1e-3)


def depth_m_to_mm(depth_m: np.ndarray) -> np.ndarray:
    """Float metres to 16UC1 millimetres; NaN, negative and out-of-range values become 0."""
    d = np.asarray(depth_m, dtype=np.float64) * 1000.0
    d = np.where(np.isfinite(d) & (d > 0) & (d < 65535.5), np.rint(d), 0.0)
    return d.astype(np.uint16)
