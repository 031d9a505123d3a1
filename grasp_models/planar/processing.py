"""THE pre-/post-processing path of the planar models (DESIGN §1.4).

Training, evaluation, the detector node and the benchmarks all go through these
functions: a similarity transform ``M`` (2x3, full image -> crop pixels) picks the crop
(blind: centred on the image or on a workspace point; ground-truth-centred only as an
evaluation option) and, in training, adds rotation and zoom; the depth is normalised
(mean removed, clipped); the network's quality, cos2θ, sin2θ and width maps are blurred,
their local maxima become :class:`GraspRect` in crop pixels, mapped back to the full image
with ``M``'s inverse, and turned into base-frame :class:`Grasp` with the camera model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from grasp_core import CameraModel, Grasp, GraspRect
from grasp_core.errors import ValidationError
from grasp_core.grasp import TCP_DEPTH_RANGE
from grasp_core.validation import require_range

#: Width map target is ``width_px / WIDTH_SCALE`` clipped to [0, 1] (300 px crops).
WIDTH_SCALE = 150.0


@dataclass(frozen=True)
class ProcessingConfig:
    """Crop size [px], depth clip [m after mean removal], blur sigmas [px], peak finding."""

    size: int = 300
    depth_clip: float = 1.0
    q_sigma: float = 2.0
    angle_sigma: float = 2.0
    width_sigma: float = 1.0
    min_distance: int = 10
    threshold: float = 0.1
    border: int = 0  # peaks this close to the crop's edge [px] are ignored
    jaw_ratio: float = 0.5  # predicted rectangle length = jaw_ratio * opening (GG-CNN's)
    width_scale: float = WIDTH_SCALE
    #: the training images' scale at the table: focal length / camera-table distance
    #: [px/m]; inference zooms a frame of another scale to it (None: never zoomed)
    pixels_per_metre: float | None = None

    def __post_init__(self) -> None:
        require_range("size", self.size, 16, 2048)
        require_range("depth_clip", self.depth_clip, 0.0, None, low_inclusive=False)
        require_range("min_distance", self.min_distance, 1, None)
        require_range("threshold", self.threshold, 0.0, 1.0)
        require_range("border", self.border, 0, self.size // 2 - 1)
        if self.pixels_per_metre is not None:
            require_range("pixels_per_metre", self.pixels_per_metre, 0.0, None, low_inclusive=False)


def crop_transform(
    center: tuple[float, float], size: int, rotation: float = 0.0, zoom: float = 1.0
) -> np.ndarray:
    """2x3 affine taking full-image pixels to a ``size`` crop centred on ``center`` (u, v).

    ``rotation`` [rad] turns the image content (a rectangle at angle a appears at
    a + rotation); ``zoom`` > 1 magnifies.
    """
    c, s = math.cos(rotation) * zoom, math.sin(rotation) * zoom
    half = (size - 1) / 2.0
    A = np.array([[c, -s], [s, c]])
    t = np.array([half, half]) - A @ np.asarray(center, dtype=np.float64)
    return np.hstack([A, t[:, None]])


def image_center(shape: tuple[int, ...]) -> tuple[float, float]:
    """Centre (u, v) of an image of ``shape`` (H, W, ...): the default blind crop centre."""
    return ((shape[1] - 1) / 2.0, (shape[0] - 1) / 2.0)


def invert_affine(M: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(M, dtype=np.float64))


def warp(image: np.ndarray, M: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Apply ``M`` to ``image``; pixels from outside the image are 0 (no depth)."""
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.warpAffine(
        image, M, (size, size), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def transform_rect(rect: GraspRect, M: np.ndarray) -> GraspRect:
    """``rect`` under the similarity ``M`` (centre, axis direction and sizes)."""
    M = np.asarray(M, dtype=np.float64)
    u, v = M[:, :2] @ np.asarray(rect.center) + M[:, 2]
    d = M[:, :2] @ np.array([math.cos(rect.angle), math.sin(rect.angle)])
    scale = float(np.hypot(*d))
    return GraspRect(
        center=(float(u), float(v)),
        angle=math.atan2(d[1], d[0]),
        width=rect.width * scale,
        length=rect.length * scale,
        quality=rect.quality,
    )


def fill_invalid(depth: np.ndarray) -> np.ndarray:
    """Depth [m] with missing returns (0, NaN, inf) replaced by the nearest valid value."""
    depth = np.asarray(depth, dtype=np.float32)
    invalid = ~(np.isfinite(depth) & (depth > 0))
    if not invalid.any():
        return depth
    if invalid.all():
        return np.zeros_like(depth)
    idx = ndimage.distance_transform_edt(invalid, return_distances=False, return_indices=True)
    return depth[tuple(idx)]


def fill_unseen(
    depth: np.ndarray, color: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """A top-down view re-rendered from a tilted camera (:func:`grasp_core.frame.reproject`)
    with what that camera did not see filled in as table: the table's depth
    (:func:`table_depth`; the unseen parts are the table behind objects and beyond the
    image) and its colour (the median colour of the seen pixels within 1 cm of that
    depth). :func:`fill_invalid` would stretch each object's top over the table it hides
    instead."""
    depth = np.asarray(depth, dtype=np.float32)
    unseen = ~(np.isfinite(depth) & (depth > 0))
    if not unseen.any() or unseen.all():
        return depth, color
    sub = depth[::4, ::4]  # a sixteenth of the pixels: the same medians, faster
    table = table_depth(sub)
    depth = np.where(unseen, np.float32(table), depth).astype(np.float32)
    if color is not None:
        on_table = np.abs(sub - table) < 0.01
        colour = np.median(color[::4, ::4][on_table], axis=0) if on_table.any() else 0
        color = np.where(unseen[..., None], np.asarray(colour, np.uint8), color)
    return depth, color


def normalise_depth(depth_crop: np.ndarray, clip: float = 1.0) -> np.ndarray:
    """Network input from a depth crop [m]: holes filled, mean removed, clipped to ±clip."""
    d = fill_invalid(depth_crop)
    return np.clip(d - d.mean(), -clip, clip).astype(np.float32)


def prepare_input(
    depth: np.ndarray,
    M: np.ndarray,
    cfg: ProcessingConfig,
    rgb: np.ndarray | None = None,
) -> np.ndarray:
    """CxSxS float32 network input: normalised depth (+ RGB scaled to ±0.5 when given)."""
    depth = np.asarray(depth, dtype=np.float32)
    valid = (np.isfinite(depth) & (depth > 0)).astype(np.uint8)
    crop = warp(np.where(valid > 0, depth, 0).astype(np.float32), M, cfg.size)
    mask = warp(valid, M, cfg.size, nearest=True)
    crop = np.where(mask > 0, crop, 0)
    channels = [normalise_depth(crop, cfg.depth_clip)]
    if rgb is not None:
        colour = warp(np.asarray(rgb, dtype=np.uint8), M, cfg.size).astype(np.float32)
        channels.extend(np.moveaxis(colour / 255.0 - 0.5, -1, 0))
    return np.stack(channels).astype(np.float32)


def grasp_maps(
    rects: Sequence[GraspRect], size: int, width_scale: float = WIDTH_SCALE
) -> np.ndarray:
    """4xSxS training targets (quality, cos2θ, sin2θ, width/width_scale) of crop rectangles.

    Each rectangle paints its centre third along the closing axis (GG-CNN's target).
    """
    out = np.zeros((4, size, size), dtype=np.float32)
    for r in rects:
        inner = GraspRect(r.center, r.angle, max(r.width / 3.0, 1.0), r.length, r.quality)
        poly = np.round(inner.corners()).astype(np.int32)
        values = (
            1.0,
            math.cos(2 * r.angle),
            math.sin(2 * r.angle),
            min(r.width / width_scale, 1.0),
        )
        for channel, value in zip(out, values, strict=True):
            cv2.fillConvexPoly(channel, poly, float(value))
    return out


def postprocess(maps: np.ndarray, cfg: ProcessingConfig) -> tuple[np.ndarray, ...]:
    """Blurred quality [0,1], angle [rad] and opening width [px] maps of raw 4xSxS outputs."""
    q, cos2, sin2, w = (np.asarray(m, dtype=np.float32) for m in maps)
    q = cv2.GaussianBlur(np.clip(q, 0.0, 1.0), (0, 0), cfg.q_sigma)
    cos2 = cv2.GaussianBlur(cos2, (0, 0), cfg.angle_sigma)
    sin2 = cv2.GaussianBlur(sin2, (0, 0), cfg.angle_sigma)
    angle = 0.5 * np.arctan2(sin2, cos2)
    width = cv2.GaussianBlur(np.clip(w, 0.0, 1.0), (0, 0), cfg.width_sigma) * cfg.width_scale
    return q, angle, width


def local_maxima(
    q: np.ndarray, n: int, min_distance: int, threshold: float, border: int = 0
) -> list[tuple[int, int]]:
    """Up to ``n`` (row, col) peaks of ``q`` above ``threshold``, ``min_distance`` apart,
    best first; the global maximum when none clears the threshold. Peaks within
    ``border`` px of the edge are ignored (the network sees half its receptive field
    padded there: on a bare table it raises a ridge of quality along the crop's edge)."""
    if border:
        inner = np.full(q.shape, -np.inf, dtype=np.float32)
        inner[border:-border, border:-border] = q[border:-border, border:-border]
        q = inner
    peaks_mask = ndimage.maximum_filter(q, size=2 * min_distance + 1, mode="nearest") == q
    peaks_mask &= q > threshold
    rows, cols = np.nonzero(peaks_mask)
    order = np.argsort(-q[rows, cols], kind="stable")
    picked: list[tuple[int, int]] = []
    for i in order:  # plateaus give several equal peaks: keep them min_distance apart
        r, c = int(rows[i]), int(cols[i])
        if all(max(abs(r - pr), abs(c - pc)) > min_distance for pr, pc in picked):
            picked.append((r, c))
            if len(picked) >= n:
                break
    if not picked:
        r, c = np.unravel_index(int(np.argmax(q)), q.shape)
        picked = [(int(r), int(c))]
    return picked


def detect_rects(maps: np.ndarray, cfg: ProcessingConfig, n: int = 1) -> list[GraspRect]:
    """Grasp rectangles in crop pixels from raw network outputs, best first."""
    q, angle, width = postprocess(maps, cfg)
    out = []
    for r, c in local_maxima(q, n, cfg.min_distance, cfg.threshold, cfg.border):
        w = max(float(width[r, c]), 2.0)
        out.append(
            GraspRect(
                center=(float(c), float(r)),
                angle=float(angle[r, c]),
                width=w,
                length=max(w * cfg.jaw_ratio, 1.0),
                quality=float(np.clip(q[r, c], 0.0, 1.0)),
            )
        )
    return out


#: How far the TCP goes below the grasped surface: half the object's height above the
#: table, within these bounds [m] (grasp_core's rule). The synthetic labels were made
#: with the same rule.
DEPTH_OFFSET_RANGE = TCP_DEPTH_RANGE


def table_depth(depth: np.ndarray) -> float:
    """Depth [m] of the table: the median valid depth of an overhead image (the table
    fills most of it)."""
    valid = depth[np.isfinite(depth) & (depth > 0)]
    return float(np.median(valid)) if valid.size else 0.0


#: Percentile of the depth between the jaws taken as the grasped surface (the nearest
#: surface, robust to a few noisy pixels).
SURFACE_PERCENTILE = 10.0


def surface_depth(rect: GraspRect, depth: np.ndarray) -> float | None:
    """Depth [m] of the surface the jaws close on: the nearest valid depth
    (:data:`SURFACE_PERCENTILE`) inside ``rect``'s footprint, None when it holds none.

    The centre pixel alone misleads at an object's edge (a peak 2 cm off a bottle's axis
    reads the table) and under a tall, narrow part (a neck above the shoulder the centre
    sees): the TCP then went so deep that the palm hit the object."""
    h, w = depth.shape
    corners = rect.corners()
    lo = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    hi = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 1, [w, h])
    if np.any(hi <= lo):
        return None
    mask = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
    cv2.fillConvexPoly(mask, np.round(corners - lo).astype(np.int32), 1)
    patch = depth[lo[1] : hi[1], lo[0] : hi[0]][mask.astype(bool)]
    valid = patch[np.isfinite(patch) & (patch > 0)]
    return float(np.percentile(valid, SURFACE_PERCENTILE)) if valid.size else None


def adaptive_depth_offset(surface: float, table: float) -> float:
    """TCP depth below a surface at depth ``surface`` [m]: half its height above the table
    (``table`` depth [m]), clipped to :data:`DEPTH_OFFSET_RANGE`."""
    top = max(table - surface, 0.0)
    return float(np.clip(top / 2, *DEPTH_OFFSET_RANGE))


def rects_to_grasps(
    rects_image: Sequence[GraspRect],
    depth: np.ndarray,
    camera: CameraModel,
    model: str,
    depth_offset: float | None = None,
) -> list[Grasp]:
    """Base-frame grasps of full-image rectangles; ones without valid depth are dropped.

    The TCP goes below the surface between the jaws (:func:`surface_depth`) by
    ``depth_offset`` [m]; ``None`` uses :func:`adaptive_depth_offset`, the rule the
    training labels were made with.
    """
    depth = np.asarray(depth, dtype=np.float64)
    table = table_depth(depth) if depth_offset is None else 0.0
    grasps = []
    for r in rects_image:
        z = surface_depth(r, depth)
        if z is None:
            continue  # no depth between the jaws: not a usable grasp
        offset = adaptive_depth_offset(z, table) if depth_offset is None else depth_offset
        try:
            grasps.append(
                r.to_grasp(depth, camera, model=model, depth_offset=offset, surface_depth=z)
            )
        except ValidationError:
            continue  # centre outside the image: not a usable grasp
    return grasps
