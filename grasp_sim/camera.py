"""Rendering RGB-D (and segmentation) images from MuJoCo cameras, plus a depth noise model.

MuJoCo cameras look along their -Z with +Y up; the optical frame (REP 103) looks along +Z
with +Y down, i.e. ``T_optical = T_mujoco_camera @ rot_x(pi)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
        import cv2  # opencv-python-headless: fast 3x3 min/max filters

        d = np.ascontiguousarray(depth, dtype=np.float32)
        out = d + _gaussian(d.shape, rng) * (np.float32(self.sigma_at_1m) * d * d)
        kernel = np.ones((3, 3), np.uint8)
        jump = cv2.dilate(d, kernel) - cv2.erode(d, kernel)
        u = rng.random(d.shape, dtype=np.float32)
        holes = ((jump > self.edge_jump) & (u < self.edge_dropout)) | (
            u > 1.0 - self.speckle_dropout
        )
        holes |= (d < self.min_depth) | (d > self.max_depth)
        out[holes] = 0.0
        return out


@lru_cache(maxsize=4)
def _gaussian_pool(n: int) -> np.ndarray:
    pool = np.random.default_rng(0x5EED).standard_normal(2 * n, dtype=np.float32)
    pool.setflags(write=False)
    return pool


def _gaussian(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Standard normal samples of ``shape``: a window at a random offset (drawn from ``rng``)
    into a fixed pool of 2x as many samples; 20x cheaper than fresh draws per frame and,
    for a sensor model, as good."""
    n = int(np.prod(shape))
    start = int(rng.integers(0, n))
    return _gaussian_pool(n)[start : start + n].reshape(shape)


class CameraRenderer:
    """Offscreen renderer for one image size, on MuJoCo's low-level GL API.

    Colour and depth come from ONE render pass (``mjr_readPixels`` reads both buffers),
    which ``mujoco.Renderer`` cannot do (it renders once per buffer). The GL context is
    created here and is bound to the creating thread: render from that thread only.
    """

    def __init__(self, model: mujoco.MjModel, width: int, height: int) -> None:
        self.model = model
        self.width = width
        self.height = height
        self._gl = mujoco.GLContext(width, height)
        self._gl.make_current()
        self._con = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._con)
        # reversed Z (0 = far): far better depth precision; converted below
        self._con.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR
        self._scene = mujoco.MjvScene(model, maxgeom=10000)
        self._opt = mujoco.MjvOption()
        self._pert = mujoco.MjvPerturb()
        self._cam = mujoco.MjvCamera()
        self._cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._rect = mujoco.MjrRect(0, 0, width, height)
        self._rgb = np.empty((height, width, 3), dtype=np.uint8)
        self._depth = np.empty((height, width), dtype=np.float32)
        extent = model.stat.extent
        near = np.float32(model.vis.map.znear * extent)
        far = np.float32(model.vis.map.zfar * extent)
        # OpenGL perspective, reversed-Z as MuJoCo renders: metric z = d / (buffer + c)
        c = -(far + near) / (far - near)
        d = -(np.float32(2) * far * near) / (far - near)
        self._c = float(np.float32(-0.5) * c - np.float32(0.5))
        self._d = float(np.float32(-0.5) * d)
        self._far = float(far)

    def _render(self, data: mujoco.MjData, camera: str, segment: bool = False) -> None:
        self._gl.make_current()
        self._cam.fixedcamid = self.model.camera(camera).id
        mujoco.mjv_updateScene(
            self.model,
            data,
            self._opt,
            self._pert,
            self._cam,
            mujoco.mjtCatBit.mjCAT_ALL,
            self._scene,
        )
        self._scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = segment
        self._scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = segment
        mujoco.mjr_render(self._rect, self._scene, self._con)

    def _metric_depth(self) -> np.ndarray:
        z = (self._d / (self._depth.astype(np.float64) + self._c)).astype(np.float32)
        z = np.flipud(z)
        z[z >= 0.999 * self._far] = 0.0  # background: no return
        return np.ascontiguousarray(z)

    def rgb(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        self._render(data, camera)
        mujoco.mjr_readPixels(self._rgb, None, self._rect, self._con)
        return np.flipud(self._rgb).copy()

    def depth(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        """Depth along the optical axis [m] (float32); no geometry reads 0."""
        self._render(data, camera, segment=True)  # flat shading: cheaper, same depth
        mujoco.mjr_readPixels(None, self._depth, self._rect, self._con)
        return self._metric_depth()

    def rgbd(self, data: mujoco.MjData, camera: str) -> tuple[np.ndarray, np.ndarray]:
        """Colour and depth from one render pass (one physics state)."""
        self._render(data, camera)
        mujoco.mjr_readPixels(self._rgb, self._depth, self._rect, self._con)
        return np.flipud(self._rgb).copy(), self._metric_depth()

    def segmentation(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        """HxW geom ids (-1 where no geom)."""
        self._render(data, camera, segment=True)
        mujoco.mjr_readPixels(self._rgb, None, self._rect, self._con)
        img = np.flipud(self._rgb).astype(np.int32)
        segid = img[..., 0] + img[..., 1] * 256 + img[..., 2] * 65536  # 0 = background
        n = self._scene.ngeom
        lut = np.full(n + 1, -1, dtype=np.int32)
        for i in range(n):
            g = self._scene.geoms[i]
            if g.objtype == int(mujoco.mjtObj.mjOBJ_GEOM):
                lut[g.segid + 1] = g.objid
        return lut[np.clip(segid, 0, n)]

    def close(self) -> None:
        if self._gl is not None:
            self._con.free()
            self._gl.free()
            self._gl = None
