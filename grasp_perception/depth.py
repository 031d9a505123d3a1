"""Depth image clean-up in metres: hole filling and edge-preserving smoothing (OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np

from grasp_core.validation import as_array, require_range


def valid_depth_mask(depth: np.ndarray) -> np.ndarray:
    """Pixels with a finite, positive depth."""
    return np.isfinite(depth) & (depth > 0)


def _as_depth(depth: np.ndarray) -> np.ndarray:
    depth = as_array("depth", depth, shape=(None, None), dtype=np.float32, finite=False)
    if depth.size == 0:
        from grasp_core.errors import ValidationError

        raise ValidationError("depth: empty image")
    return depth


def fill_holes(depth: np.ndarray, radius: float = 3.0, scale: int = 4) -> np.ndarray:
    """Inpaint missing depth (0, NaN, inf) and return float32 metres with no holes.

    Holes are filled by OpenCV's Navier-Stokes inpainting computed on a 1/``scale`` image (the
    mean of the valid pixels in each block; faster, and big holes fill smoothly), then
    upsampled; valid pixels keep their measured value exactly. ``radius`` [px of the
    scaled image] is the inpainting neighbourhood. An image with no valid pixel comes
    back as zeros (nothing to fill from).
    """
    depth = _as_depth(depth)
    require_range("radius", radius, 1.0, 50.0)
    scale = int(require_range("scale", scale, 1, 16))
    valid = valid_depth_mask(depth)
    if valid.all():
        return depth.copy()
    if not valid.any():
        return np.zeros_like(depth)
    d0 = np.where(valid, depth, 0.0).astype(np.float32)
    h, w = depth.shape
    if scale > 1 and min(h, w) >= 2 * scale:
        size = (max(w // scale, 1), max(h // scale, 1))
        total = cv2.resize(d0, size, interpolation=cv2.INTER_AREA)
        cover = cv2.resize(valid.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        with np.errstate(divide="ignore", invalid="ignore"):
            small = np.where(cover > 0, total / cover, 0.0).astype(np.float32)
        holes = (cover <= 0).astype(np.uint8)
    else:
        small, holes = d0, (~valid).astype(np.uint8)
    # Navier-Stokes, not Telea: OpenCV 5's Telea returns negative values on float32 input
    filled = cv2.inpaint(small, holes, float(radius), cv2.INPAINT_NS) if holes.any() else small
    if filled.shape != depth.shape:
        filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.where(valid, depth, filled).astype(np.float32)


def edge_preserving_filter(
    depth: np.ndarray, diameter: int = 5, sigma_depth: float = 0.01, sigma_space: float = 3.0
) -> np.ndarray:
    """Bilateral filter of a depth image [m]: smooths noise, keeps depth edges.

    ``sigma_depth`` [m] is the range kernel (depth steps much larger than it are kept),
    ``sigma_space`` [px] the spatial one, ``diameter`` [px] the window. Invalid pixels
    stay invalid (0) and do not bleed into their neighbours.
    """
    depth = _as_depth(depth)
    diameter = int(require_range("diameter", diameter, 1, 31))
    require_range("sigma_depth", sigma_depth, 0.0, 1.0, low_inclusive=False)
    require_range("sigma_space", sigma_space, 0.0, 50.0, low_inclusive=False)
    valid = valid_depth_mask(depth)
    d0 = np.where(valid, depth, 0.0).astype(np.float32)
    out = cv2.bilateralFilter(d0, diameter, float(sigma_depth), float(sigma_space))
    return np.where(valid, out, 0.0).astype(np.float32)


def clean_depth(
    depth: np.ndarray,
    fill: bool = True,
    edge_filter: bool = False,
    radius: float = 3.0,
    scale: int = 4,
) -> np.ndarray:
    """The one clean-up path (node, models, benchmarks): optional bilateral filter, then
    optional hole filling; float32 metres, invalid pixels 0 when not filled."""
    depth = _as_depth(depth)
    out = (
        edge_preserving_filter(depth)
        if edge_filter
        else np.where(valid_depth_mask(depth), depth, 0.0).astype(np.float32)
    )
    return fill_holes(out, radius=radius, scale=scale) if fill else out
