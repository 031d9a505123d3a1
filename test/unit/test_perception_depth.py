"""Depth clean-up: hole filling keeps metres, the bilateral filter keeps edges."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_core.errors import ValidationError
from grasp_perception.depth import clean_depth, edge_preserving_filter, fill_holes


def _ramp(h: int = 120, w: int = 160) -> np.ndarray:
    v, u = np.mgrid[0:h, 0:w]
    return (0.6 + 0.001 * u + 0.0005 * v).astype(np.float32)


@pytest.mark.parametrize("scale", [1, 4])
def test_fill_holes_restores_smooth_surface_in_metres(scale: int, rng) -> None:
    truth = _ramp()
    depth = truth.copy()
    depth[40:60, 50:80] = 0.0  # a block hole
    depth[rng.random(depth.shape) < 0.05] = np.nan  # speckle
    out = fill_holes(depth, scale=scale)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out)) and np.all(out > 0)
    valid = np.isfinite(depth) & (depth > 0)
    np.testing.assert_array_equal(out[valid], depth[valid])  # measured pixels untouched
    err = np.abs(out - truth)[~valid]
    assert err.max() < 0.02 and np.median(err) < 0.005


def test_fill_holes_edge_cases() -> None:
    full = _ramp()
    np.testing.assert_array_equal(fill_holes(full), full)
    assert np.all(fill_holes(np.full((10, 12), np.nan, np.float32)) == 0)
    with pytest.raises(ValidationError, match="depth"):
        fill_holes(np.zeros(5, np.float32))
    with pytest.raises(ValidationError, match="radius"):
        fill_holes(full, radius=0)


def test_edge_preserving_filter_smooths_noise_keeps_step(rng) -> None:
    depth = np.full((100, 100), 0.8, np.float32)
    depth[:, 50:] = 0.7  # 10 cm step
    noisy = depth + rng.normal(0, 0.002, depth.shape).astype(np.float32)
    noisy[10, 10] = 0.0
    out = edge_preserving_filter(noisy, diameter=7, sigma_depth=0.01, sigma_space=3.0)
    assert out[10, 10] == 0.0  # holes stay holes
    flat = out[20:80, 5:45]
    assert flat.std() < 0.5 * noisy[20:80, 5:45].std()
    # the step is still 10 cm one pixel either side of the edge
    assert abs(out[50, 48] - 0.8) < 0.005 and abs(out[50, 51] - 0.7) < 0.005


def test_clean_depth_without_fill_marks_holes_zero() -> None:
    d = _ramp()
    d[0, 0] = np.nan
    out = clean_depth(d, fill=False)
    assert out[0, 0] == 0 and out[1, 1] == d[1, 1]
    assert clean_depth(d, fill=True)[0, 0] > 0
