"""Top-down parallel-jaw grasp candidates on a rendered depth image, and a geometric
antipodal check that labels them (used by the synthetic generator; physics trials, when
the simulator offers them, confirm or overrule these labels).

Heights are measured above the table plane seen by an overhead camera: ``h = table_depth
- depth`` [m]. A candidate (centre on the object, closing-axis angle) is positive when,
along the closing axis and across the finger pads, the object's extent plus clearance fits
the gripper stroke, the finger pads land on free space below the grasp height, and the
surface normals at both contacts lie inside the friction cone. The fingers open
symmetrically about the grasp centre, so the farther side of the object decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from grasp_core import GraspRect


@dataclass(frozen=True)
class GripperGeometry:
    """Parallel-jaw geometry [m] and the contact friction coefficient."""

    max_opening: float = 0.08
    finger_width: float = 0.02  # pad size across the closing axis
    finger_thickness: float = 0.01  # along the closing axis
    clearance: float = 0.006  # each side, beyond the object's extent
    grasp_depth: float = 0.03  # how far the pads reach below the object's top [m]
    min_height: float = 0.006  # what counts as object above the table [m]
    friction: float = 0.6


def height_map(depth: np.ndarray, table_depth: float) -> np.ndarray:
    """Height above the table [m]; holes read 0."""
    d = np.asarray(depth, dtype=np.float32)
    h = np.where(np.isfinite(d) & (d > 0), table_depth - d, 0.0)
    return np.clip(h, 0.0, None).astype(np.float32)


def label_candidates(
    height: np.ndarray,
    centers: np.ndarray,
    angles: np.ndarray,
    px_per_m: float,
    gripper: GripperGeometry | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(positive flags, opening widths [px])`` of N candidates (centres Nx2 (u, v) [px],
    angles N [rad]) on a height map [m] with ``px_per_m`` pixels per metre at the table."""
    g = gripper or GripperGeometry()
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    angles = np.asarray(angles, dtype=np.float64).reshape(-1)
    n = len(centers)
    reach = int(math.ceil((g.max_opening / 2 + g.finger_thickness) * px_per_m)) + 2
    s = np.arange(-reach, reach + 1, dtype=np.float64)  # along the closing axis
    half_pad = g.finger_width * px_per_m / 2
    t = np.array([-half_pad, 0.0, half_pad])  # across it (pad edges and centre)
    ax = np.stack([np.cos(angles), np.sin(angles)], 1)  # closing axis (u, v)
    ac = np.stack([-np.sin(angles), np.cos(angles)], 1)
    pts = (
        centers[:, None, None, :]
        + s[None, None, :, None] * ax[:, None, None, :]
        + t[None, :, None, None] * ac[:, None, None, :]
    )  # N x 3 x S x 2
    prof = ndimage.map_coordinates(
        height, [pts[..., 1].ravel(), pts[..., 0].ravel()], order=0, mode="constant", cval=0.0
    ).reshape(n, len(t), len(s))
    on = prof > g.min_height
    mid = reach
    centre_on = on[:, 1, mid]
    # Extent of the object run through the centre, widened over the three pad lines.
    left = np.zeros(n, dtype=np.int64)
    right = np.zeros(n, dtype=np.int64)
    ok_run = np.ones(n, dtype=bool)
    for k in range(len(t)):
        row = on[:, k]
        # first free pixel left and right of the centre
        lfree = np.where(~row[:, :mid][:, ::-1], np.arange(mid)[None], mid + 10)
        rfree = np.where(~row[:, mid + 1 :], np.arange(len(s) - mid - 1)[None], mid + 10)
        lk = lfree.min(1)
        rk = rfree.min(1)
        ok_run &= (lk < mid) & (rk < len(s) - mid - 1)
        left = np.maximum(left, lk)
        right = np.maximum(right, rk)
    clearance = g.clearance * px_per_m
    # The fingers open symmetrically about the grasp centre: the farther side decides.
    half_extent = np.maximum(left, right) + 0.5
    opening_px = 2 * (half_extent + clearance)
    fits = opening_px <= g.max_opening * px_per_m
    # Pads: between the clearance position and one finger thickness further out, the
    # height must be below the grasp height (object top minus grasp depth).
    top = prof.max(axis=(1, 2))
    grasp_h = np.maximum(top - g.grasp_depth, g.min_height)
    thick = g.finger_thickness * px_per_m
    idx = np.arange(len(s))[None, :] - mid
    inner = half_extent[:, None] + clearance  # where the open pads' inner faces are
    pad_l = (idx <= -inner) & (idx >= -(inner + thick))
    pad_r = (idx >= inner) & (idx <= inner + thick)
    pads = pad_l | pad_r
    pad_free = np.all(np.where(pads[:, None, :], prof < grasp_h[:, None, None], True), axis=(1, 2))
    # Antipodal: outward surface normals at the contacts within the friction cone.
    mask = (height > g.min_height).astype(np.float32)
    sm = cv2.GaussianBlur(mask, (0, 0), 2.0)
    gu = cv2.Sobel(sm, cv2.CV_32F, 1, 0, ksize=3)
    gv = cv2.Sobel(sm, cv2.CV_32F, 0, 1, ksize=3)
    cone = math.cos(math.atan(g.friction))
    antipodal = np.ones(n, dtype=bool)
    for sign, ext in ((-1, left), (1, right)):
        c = centers + sign * (ext[:, None] + 0.5) * ax
        nu = ndimage.map_coordinates(gu, [c[:, 1], c[:, 0]], order=1)
        nv = ndimage.map_coordinates(gv, [c[:, 1], c[:, 0]], order=1)
        norm = np.hypot(nu, nv) + 1e-9
        # the mask gradient points inwards; the outward normal is its negative
        cos_angle = -(nu * ax[:, 0] + nv * ax[:, 1]) * sign / norm
        antipodal &= cos_angle >= cone
    positive = centre_on & ok_run & fits & pad_free & antipodal
    return positive, opening_px.astype(np.float64)


def sample_candidates(
    height: np.ndarray,
    rng: np.random.Generator,
    n: int,
    min_height: float = 0.006,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random candidates: centres on object pixels (u, v) and angles in [-pi/2, pi/2)."""
    v, u = np.nonzero(height > min_height)
    if len(u) == 0:
        return np.zeros((0, 2)), np.zeros(0)
    pick = rng.integers(0, len(u), n)
    centers = np.stack([u[pick], v[pick]], 1).astype(np.float64) + rng.uniform(-0.5, 0.5, (n, 2))
    return centers, rng.uniform(-math.pi / 2, math.pi / 2, n)


def thin_rects(
    rects: list[GraspRect], min_dist: float, min_angle: float, limit: int
) -> list[GraspRect]:
    """Greedy subset of ``rects`` whose members differ in centre or angle (in order)."""
    kept: list[GraspRect] = []
    for r in rects:
        close = False
        for k in kept:
            d = math.hypot(r.center[0] - k.center[0], r.center[1] - k.center[1])
            da = abs((r.angle - k.angle + math.pi / 2) % math.pi - math.pi / 2)
            if d < min_dist and da < min_angle:
                close = True
                break
        if not close:
            kept.append(r)
            if len(kept) >= limit:
                break
    return kept
