"""Rectangle metric: IoU of rotated rectangles and angle threshold."""

from __future__ import annotations

import math

import pytest

from grasp_core import GraspRect
from grasp_models.metrics import RectangleMetric, accuracy_at_k, angle_difference, rect_iou


def test_identical_rectangles_match() -> None:
    r = GraspRect((120.0, 80.0), 0.4, 50.0, 25.0)
    assert rect_iou(r, r) == pytest.approx(1.0, abs=1e-6)
    assert RectangleMetric().match(r, r)


def test_rotated_31_degrees_does_not_match_but_29_does() -> None:
    r = GraspRect((120.0, 80.0), 0.4, 50.0, 25.0)
    assert not RectangleMetric().match(GraspRect(r.center, r.angle + math.radians(31), 50, 25), r)
    assert RectangleMetric().match(GraspRect(r.center, r.angle + math.radians(29), 50, 25), r)
    assert RectangleMetric(angle_threshold_deg=35).match(
        GraspRect(r.center, r.angle + math.radians(31), 50, 25), r
    )


def test_iou_of_shifted_rectangles_is_analytic() -> None:
    a = GraspRect((0.0, 0.0), 0.0, 40.0, 20.0)
    b = GraspRect((10.0, 5.0), 0.0, 40.0, 20.0)  # overlap 30 x 15
    inter = 30 * 15
    assert rect_iou(a, b) == pytest.approx(inter / (2 * 800 - inter), rel=1e-4)


def test_iou_of_crossed_squares_is_analytic() -> None:
    # A square and the same square turned 45°: the intersection is a regular octagon.
    side = 20.0
    a = GraspRect((50.0, 50.0), 0.0, side, side)
    b = GraspRect((50.0, 50.0), math.pi / 4, side, side)
    octagon = 2 * (math.sqrt(2) - 1) * side**2  # area of the octagon of inradius side/2
    assert rect_iou(a, b) == pytest.approx(octagon / (2 * side**2 - octagon), rel=1e-4)


def test_disjoint_rectangles_have_zero_iou() -> None:
    a = GraspRect((0.0, 0.0), 0.0, 10.0, 10.0)
    assert rect_iou(a, GraspRect((100.0, 0.0), 0.0, 10.0, 10.0)) == 0.0


def test_angle_difference_wraps_at_pi() -> None:
    assert angle_difference(math.radians(89), math.radians(-89)) == pytest.approx(math.radians(2))
    assert angle_difference(0.0, math.pi) == pytest.approx(0.0)


def test_iou_threshold_is_an_option() -> None:
    a = GraspRect((0.0, 0.0), 0.0, 40.0, 20.0)
    b = GraspRect((20.0, 0.0), 0.0, 40.0, 20.0)  # IoU = 1/3
    assert RectangleMetric(iou_threshold=0.25).match(a, b)
    assert not RectangleMetric(iou_threshold=0.4).match(a, b)


def test_top_k() -> None:
    gt = [GraspRect((0.0, 0.0), 0.0, 40.0, 20.0)]
    wrong = GraspRect((300.0, 0.0), 0.0, 40.0, 20.0)
    right = GraspRect((2.0, 1.0), 0.1, 40.0, 20.0)
    per_image = [([wrong, right], gt), ([right], gt)]
    acc = accuracy_at_k(per_image, ks=(1, 2))
    assert acc == {1: 0.5, 2: 1.0}


def test_bad_thresholds_are_rejected() -> None:
    with pytest.raises(ValueError, match="iou_threshold"):
        RectangleMetric(iou_threshold=1.5)


def test_pooled_top1_counts_each_image_once() -> None:
    from grasp_models.planar.evaluate import pooled_top1

    a = {"images": 52, "top1": 45 / 52, "top5": 47 / 52}
    b = {"images": 131, "top1": 105 / 131, "top5": 118 / 131}
    assert pooled_top1(a, b) == pytest.approx(150 / 183)  # not the mean of the two rates
    assert pooled_top1(a, b, k=5) == pytest.approx(165 / 183)
    assert pooled_top1(a) == pytest.approx(45 / 52)
    assert math.isnan(pooled_top1({"images": 0, "top1": float("nan")}))
