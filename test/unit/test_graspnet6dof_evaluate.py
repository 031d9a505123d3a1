"""Success / coverage curve and AUC of the held-out evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_models.graspnet6dof.evaluate import _Rows, auc, curve


def test_curve_counts_success_and_coverage_within_two_centimetres() -> None:
    rows = _Rows(
        scores=[np.array([0.9, 0.2])],
        success=[np.array([True, False])],
        positions=[np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])],
        gt=[np.array([[0.015, 0.0, 0.0], [1.0, 0.03, 0.0], [5.0, 0.0, 0.0]])],
    )
    c = curve(rows, (0.0, 0.5, 0.95))
    assert c["success"][:2] == [0.5, 1.0] and np.isnan(c["success"][2])
    assert c["coverage"] == [pytest.approx(1 / 3), pytest.approx(1 / 3), 0.0]


def test_auc_extends_to_zero_coverage() -> None:
    assert auc([0.5, 1.0], [1.0, 1.0]) == pytest.approx(1.0)
    assert auc([0.5, 1.0], [1.0, 1.0], from_zero=False) == pytest.approx(0.5)
    assert auc([0.2], [float("nan")]) == 0.0
