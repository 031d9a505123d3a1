"""The rectangle metric for planar grasps (Jiang et al. 2011, as used by GG-CNN).

A predicted rectangle matches a ground-truth one when their Jaccard index (IoU of the
rotated rectangles) exceeds ``iou_threshold`` (0.25) and their closing axes differ by less
than ``angle_threshold_deg`` (30°, modulo 180°). An image counts as a success at top-k when
any of its first k predictions matches any ground-truth rectangle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from grasp_core import GraspRect
from grasp_core.validation import require_range


def _cv_rect(r: GraspRect) -> tuple:
    return ((r.center[0], r.center[1]), (r.width, r.length), math.degrees(r.angle))


def rect_iou(a: GraspRect, b: GraspRect) -> float:
    """Intersection over union of two rotated rectangles (OpenCV's exact polygon clip)."""
    status, pts = cv2.rotatedRectangleIntersection(_cv_rect(a), _cv_rect(b))
    if status == cv2.INTERSECT_NONE or pts is None or len(pts) < 3:
        return 0.0
    inter = float(cv2.contourArea(cv2.convexHull(pts.astype(np.float32))))
    union = a.width * a.length + b.width * b.length - inter
    return inter / union if union > 0 else 0.0


def angle_difference(a: float, b: float) -> float:
    """Smallest difference [rad] between two closing-axis angles, which repeat every pi."""
    d = (a - b) % math.pi
    return min(d, math.pi - d)


@dataclass(frozen=True)
class RectangleMetric:
    """Thresholds of the rectangle metric."""

    iou_threshold: float = 0.25
    angle_threshold_deg: float = 30.0

    def __post_init__(self) -> None:
        require_range("iou_threshold", self.iou_threshold, 0.0, 1.0)
        require_range("angle_threshold_deg", self.angle_threshold_deg, 0.0, 90.0)

    def match(self, pred: GraspRect, gt: GraspRect) -> bool:
        """Whether ``pred`` matches the ground-truth rectangle ``gt``."""
        if angle_difference(pred.angle, gt.angle) >= math.radians(self.angle_threshold_deg):
            return False
        return rect_iou(pred, gt) > self.iou_threshold

    def match_any(self, pred: GraspRect, gts: Sequence[GraspRect]) -> bool:
        return any(self.match(pred, g) for g in gts)

    def success_at_k(
        self, preds: Sequence[GraspRect], gts: Sequence[GraspRect], k: int = 1
    ) -> bool:
        """Whether any of the first ``k`` predictions matches any ground truth."""
        return any(self.match_any(p, gts) for p in list(preds)[:k])


def accuracy_at_k(
    per_image: Sequence[tuple[Sequence[GraspRect], Sequence[GraspRect]]],
    ks: Sequence[int] = (1, 5),
    metric: RectangleMetric | None = None,
) -> dict[int, float]:
    """Fraction of images ``(predictions best first, ground truths)`` that succeed at each k."""
    metric = metric or RectangleMetric()
    if not per_image:
        return {k: float("nan") for k in ks}
    return {k: float(np.mean([metric.success_at_k(p, g, k) for p, g in per_image])) for k in ks}
