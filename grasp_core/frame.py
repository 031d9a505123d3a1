"""One synchronised RGB-D observation."""

from __future__ import annotations

import functools
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


#: The 8 neighbours of a pixel as (row, column) offsets into a 1-pixel padded image.
_NEIGHBOURS = tuple((i, j) for i in range(3) for j in range(3) if (i, j) != (1, 1))


def reproject(
    frame: RGBDFrame, camera: CameraModel, gap_neighbours: int = 5, gap_passes: int = 2
) -> RGBDFrame:
    """``frame`` as ``camera`` (other intrinsics and mount, same base frame) would see it.

    Every valid pixel moves to where ``camera`` sees its 3-D point; where several land on
    one pixel the nearest wins (a z-buffer), and its colour comes with it. Forward
    projection leaves one-pixel gaps where ``camera`` samples a surface more finely than
    the frame did: a hole with at least ``gap_neighbours`` of its 8 neighbours valid
    takes the nearest of them, ``gap_passes`` times. What the frame's camera did not see
    (behind objects, outside its image) stays 0, no return. Depth is along ``camera``'s
    optical axis [m]; stamps are kept, the frame id becomes ``camera``'s.
    """
    src = frame.camera
    if camera.base_frame != src.base_frame:
        raise ValidationError(
            f"reproject: camera base frame {camera.base_frame!r} is not the frame's "
            f"{src.base_frame!r}"
        )
    if not 1 <= gap_neighbours <= 8:
        raise ValidationError(f"reproject: gap_neighbours {gap_neighbours} is not in 1..8")
    rx, ry = _ray_planes(src)
    d = np.where(frame.valid_mask(), frame.depth, np.float32(np.nan))
    T = (camera.T_camera_base @ src.T_base_camera).astype(np.float32)  # frame cam -> camera
    R, t = T[:3, :3], T[:3, 3]
    x = d * (R[0, 0] * rx + R[0, 1] * ry + R[0, 2]) + t[0]
    y = d * (R[1, 0] * rx + R[1, 1] * ry + R[1, 2]) + t[1]
    z = d * (R[2, 0] * rx + R[2, 1] * ry + R[2, 2]) + t[2]
    with np.errstate(invalid="ignore", divide="ignore"):
        ahead = z > 1e-6  # NaN (no return) is not
        z = z[ahead]
        pu = np.rint(np.float32(camera.fx) * x[ahead] / z + np.float32(camera.cx))
        pv = np.rint(np.float32(camera.fy) * y[ahead] / z + np.float32(camera.cy))
    inside = (pu >= 0) & (pu < camera.width) & (pv >= 0) & (pv < camera.height)
    flat = pv[inside].astype(np.int64) * camera.width + pu[inside].astype(np.int64)
    z = z[inside]
    depth = np.full(camera.width * camera.height, np.inf, np.float32)
    np.minimum.at(depth, flat, z)
    color = None
    if frame.color is not None:
        src_flat = np.flatnonzero(ahead)[inside]
        won = z == depth[flat]  # the nearest point of each pixel (ties: any of them)
        color = np.zeros((camera.width * camera.height, 3), np.uint8)
        color[flat[won]] = frame.color.reshape(-1, 3)[src_flat[won]]
        color = color.reshape(camera.height, camera.width, 3)
    depth = depth.reshape(camera.height, camera.width)
    depth[~np.isfinite(depth)] = 0.0
    depth, color = _fill_gaps(depth, color, gap_neighbours, gap_passes)
    return RGBDFrame(
        depth=depth,
        camera=camera,
        color=color,
        stamp=frame.stamp,
        frame_id=camera.frame_id,
        stamp_ns=frame.stamp_ns,
    )


def _ray_planes(camera: CameraModel) -> tuple[np.ndarray, np.ndarray]:
    """x/z and y/z of every pixel's ray (HxW float32 each; cached per intrinsics)."""
    return _ray_planes_of(np.ascontiguousarray(camera.K).tobytes(), camera.width, camera.height)


@functools.lru_cache(maxsize=8)
def _ray_planes_of(k_bytes: bytes, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    K = np.frombuffer(k_bytes, dtype=np.float64).reshape(3, 3)
    v, u = np.mgrid[0:height, 0:width]
    rx = ((u - K[0, 2]) / K[0, 0]).astype(np.float32)
    ry = ((v - K[1, 2]) / K[1, 1]).astype(np.float32)
    rx.setflags(write=False)
    ry.setflags(write=False)
    return rx, ry


def _fill_gaps(
    depth: np.ndarray, color: np.ndarray | None, need: int, passes: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Holes (depth 0) with at least ``need`` valid neighbours take the nearest one's depth
    and colour, ``passes`` times."""
    h, w = depth.shape
    di = np.array([i for i, _ in _NEIGHBOURS]) - 1
    dj = np.array([j for _, j in _NEIGHBOURS]) - 1
    for _ in range(passes):
        valid = depth > 0
        padded = np.pad(valid, 1).astype(np.uint8)
        n_valid = sum(padded[i : i + h, j : j + w] for i, j in _NEIGHBOURS)
        rows, cols = np.nonzero(~valid & (n_valid >= need))
        if rows.size == 0:
            break
        near = np.pad(np.where(valid, depth, np.inf), 1, constant_values=np.inf)
        candidates = near[rows + 1 + di[:, None], cols + 1 + dj[:, None]]  # 8 x gaps
        best = np.argmin(candidates, axis=0)
        depth = depth.copy()
        depth[rows, cols] = candidates[best, np.arange(best.size)]
        if color is not None:
            color = color.copy()
            color[rows, cols] = color[rows + di[best], cols + dj[best]]
    return depth, color
