"""Rendering RGB-D (and segmentation) images from MuJoCo cameras, plus a depth noise model.

MuJoCo cameras look along their -Z with +Y up; the optical frame (REP 103) looks along +Z
with +Y down, i.e. ``T_optical = T_mujoco_camera @ rot_x(pi)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from grasp_core.se3 import make_transform, rot_x

#: T_mujococamera_optical (and its own inverse).
T_MJCAM_OPTICAL = make_transform(rot_x(np.pi))


@dataclass(frozen=True)
class DepthNoise:
    """A RealSense-like depth error model.

    Gaussian noise with standard deviation ``sigma_at_1m * z**2`` [m] (stereo depth error
    grows with the square of distance; D435 ≈ 2 mm RMS at 1 m), holes where the depth
    jumps by more than ``edge_jump`` [m] within a pixel's 3x3 neighbourhood (dropped with
    probability ``edge_dropout``), random speckle dropout and no return outside
    [``min_depth``, ``max_depth``] [m]. Holes read 0 (as realsense2_camera's 16UC1).
    """

    sigma_at_1m: float = 0.002
    edge_jump: float = 0.02
    edge_dropout: float = 0.6
    speckle_dropout: float = 0.002
    min_depth: float = 0.105
    max_depth: float = 3.0

    def apply(self, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy copy of ``depth`` [m] (float32)."""
        d = np.asarray(depth, dtype=np.float32)
        out = d + rng.standard_normal(d.shape).astype(np.float32) * (
            np.float32(self.sigma_at_1m) * d * d
        )
        pad = np.pad(d, 1, mode="edge")
        h, w = d.shape
        win = [pad[i : i + h, j : j + w] for i in range(3) for j in range(3)]
        jump = np.max(win, axis=0) - np.min(win, axis=0)
        edge = jump > self.edge_jump
        holes = (edge & (rng.random(d.shape) < self.edge_dropout)) | (
            rng.random(d.shape) < self.speckle_dropout
        )
        holes |= (d < self.min_depth) | (d > self.max_depth)
        out[holes] = 0.0
        return out


class CameraRenderer:
    """Offscreen renderer for one image size (created lazily: needs a GL context)."""

    def __init__(self, model: mujoco.MjModel, width: int, height: int) -> None:
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        self.width = width
        self.height = height

    def rgb(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        r = self._renderer
        r.update_scene(data, camera=camera)
        return r.render().copy()

    def depth(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        """Depth along the optical axis [m] (float32); no geometry reads 0."""
        r = self._renderer
        r.enable_depth_rendering()
        try:
            r.update_scene(data, camera=camera)
            d = r.render().astype(np.float32)
        finally:
            r.disable_depth_rendering()
        far = data.model.stat.extent * data.model.vis.map.zfar
        d[d >= 0.999 * far] = 0.0
        return d

    def rgbd(self, data: mujoco.MjData, camera: str) -> tuple[np.ndarray, np.ndarray]:
        """Colour and depth from one scene update (one physics state)."""
        r = self._renderer
        r.update_scene(data, camera=camera)
        rgb = r.render().copy()
        r.enable_depth_rendering()
        try:
            d = r.render().astype(np.float32)
        finally:
            r.disable_depth_rendering()
        far = data.model.stat.extent * data.model.vis.map.zfar
        d[d >= 0.999 * far] = 0.0
        return rgb, d

    def segmentation(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        """HxW geom ids (-1 where no geom)."""
        r = self._renderer
        r.enable_segmentation_rendering()
        try:
            r.update_scene(data, camera=camera)
            seg = r.render()
        finally:
            r.disable_segmentation_rendering()
        ids = seg[..., 0].astype(np.int32)
        ids[seg[..., 1] != int(mujoco.mjtObj.mjOBJ_GEOM)] = -1
        return ids

    def close(self) -> None:
        self._renderer.close()
