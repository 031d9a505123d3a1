"""Geometric top-down grasp labels on analytic height maps."""

from __future__ import annotations

import math

import numpy as np

from grasp_models.datasets.labelling import GripperGeometry, label_candidates

PX_PER_M = 1000.0  # 1 px = 1 mm


def box_height(w_u_mm: int, w_v_mm: int, h: float = 0.05) -> np.ndarray:
    hm = np.zeros((240, 240), np.float32)
    c = 120
    hm[c - w_v_mm // 2 : c + w_v_mm // 2, c - w_u_mm // 2 : c + w_u_mm // 2] = h
    return hm


def test_box_is_graspable_across_its_narrow_side_only() -> None:
    hm = box_height(40, 100)  # 4 cm along u, 10 cm along v
    centers = np.array([[119.5, 119.5], [119.5, 119.5], [119.5, 119.5]])
    angles = np.array([0.0, math.pi / 2, math.pi / 4])
    ok, opening = label_candidates(hm, centers, angles, PX_PER_M)
    assert ok.tolist() == [True, False, False]  # 45°: corners, not antipodal / too wide
    g = GripperGeometry()
    assert abs(opening[0] - 2 * (20 + g.clearance * PX_PER_M)) <= 2.0  # pixel rounding


def test_off_centre_grasp_fails_when_the_far_side_exceeds_half_the_stroke() -> None:
    hm = box_height(60, 30)  # 6 cm wide: fits centred (6 + 1.2 < 8), not 1.5 cm off centre
    centers = np.array([[119.5, 119.5], [134.5, 119.5]])
    ok, _ = label_candidates(hm, centers, np.zeros(2), PX_PER_M)
    assert ok.tolist() == [True, False]


def test_centre_off_the_object_and_blocked_pads_are_negative() -> None:
    hm = box_height(40, 40)
    hm[100:140, 150:160] = 0.08  # a taller wall where the right pad would go down
    centers = np.array([[30.0, 30.0], [119.5, 119.5], [119.5, 119.5]])
    ok, _ = label_candidates(hm, centers, np.array([0.0, 0.0, math.pi / 2]), PX_PER_M)
    assert ok.tolist() == [False, False, True]
