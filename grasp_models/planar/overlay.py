"""Quality image for rviz: the crop's quality map as a heat map over the depth (or colour)
image, with the detected rectangles drawn in."""

from __future__ import annotations

import cv2
import numpy as np

from grasp_models.planar import processing as P
from grasp_models.planar.inference import PlanarOutput


def quality_overlay(
    depth: np.ndarray, out: PlanarOutput, rgb: np.ndarray | None = None, alpha: float = 0.5
) -> np.ndarray:
    """HxWx3 uint8 RGB image of the full frame: background (colour, else depth in grey),
    the quality map warped back from the crop, rectangles (best in green, others yellow)."""
    h, w = depth.shape
    if rgb is not None:
        base = np.asarray(rgb, dtype=np.uint8).copy()
    else:
        d = P.fill_invalid(depth)
        lo, hi = float(d.min()), float(d.max())
        grey = ((d - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8)
        base = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    Minv = P.invert_affine(out.M)
    q = cv2.warpAffine(out.quality.astype(np.float32), Minv, (w, h), flags=cv2.INTER_LINEAR)
    heat = cv2.cvtColor(
        cv2.applyColorMap((np.clip(q, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET),
        cv2.COLOR_BGR2RGB,
    )
    a = (alpha * np.clip(q, 0, 1))[..., None]
    img = (base * (1 - a) + heat * a).astype(np.uint8)
    for i, r in enumerate(out.rects):
        colour = (0, 255, 0) if i == 0 else (255, 255, 0)
        cv2.polylines(img, [np.round(r.corners()).astype(np.int32)], True, colour, 2)
    return img
