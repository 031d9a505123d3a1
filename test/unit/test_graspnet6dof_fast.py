"""The fast evaluator path (inference) gives the reference path's scores and poses."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from grasp_models.graspnet6dof.evaluator import FastContext, GraspEvaluator, max_pool
from grasp_models.graspnet6dof.geometry import euler_xyz_to_matrix, pose_from_rt
from grasp_models.graspnet6dof.inference import GraspNet6DofParams, load_graspnet6dof
from grasp_models.graspnet6dof.refine import (
    RefineConfig,
    context,
    gradient_step,
    logits,
    refine,
    score,
)
from grasp_models.registry import WEIGHTS_DIR


def poses(n: int, g: torch.Generator, dtype: torch.dtype, spread: float = 0.03) -> torch.Tensor:
    e = (torch.rand(n, 3, generator=g, dtype=dtype) - 0.5) * 2 * math.pi
    return pose_from_rt(
        euler_xyz_to_matrix(e), torch.randn(n, 3, generator=g, dtype=dtype) * spread
    )


@pytest.fixture
def setup64(seed: int):
    """float64 evaluator (untrained), a 512-point cloud, 32 poses around it."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    cloud = torch.randn(1, 512, 3, generator=g, dtype=torch.float64) * 0.03
    ev = GraspEvaluator().double().eval().requires_grad_(False)
    return ev, ev.encode_object(cloud), poses(32, g, torch.float64)


def test_max_pool_values_and_gradient_with_duplicated_rows(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(5, 4, 7, generator=g, dtype=torch.float64) + 0.1  # distinct, > 0
    x[:, 2] = x[:, 0]  # ball-query padding: a neighbour repeated
    a = x.clone().requires_grad_(True)
    b = x.clone().requires_grad_(True)
    w = torch.randn(5, 7, generator=g, dtype=torch.float64)
    (max_pool(a) * w).sum().backward()
    (b.max(dim=-2).values * w).sum().backward()
    assert torch.equal(max_pool(x), x.max(dim=-2).values)
    # the gradient of the repeated row is split between its copies; per distinct row it
    # is the same as max()'s
    ga, gb = a.grad.clone(), b.grad.clone()
    for grad in (ga, gb):
        grad[:, 0] += grad[:, 2]
        grad[:, 2] = 0
    assert torch.allclose(ga, gb, atol=1e-12)
    assert (ga != 0).any()


def test_fast_logits_and_step_equal_the_reference_in_float64(setup64) -> None:
    ev, ctx, T = setup64
    fctx = context(ev, ctx, RefineConfig())
    assert isinstance(fctx, FastContext) and fctx.dtype == torch.float64
    ref, fast = logits(ev, ctx, T), logits(ev, fctx, T)
    assert torch.allclose(ref, fast, rtol=0, atol=1e-10)
    assert ref.std() > 1e-3  # the scores vary: the comparison can fail
    cfg = RefineConfig(fast=False)
    T_ref, s_ref = gradient_step(ev, ctx, T, cfg)
    T_fast, s_fast = gradient_step(ev, fctx, T, cfg)
    assert (T_ref - T).abs().max() > 1e-4  # the step moved the poses
    assert torch.allclose(T_ref, T_fast, rtol=0, atol=1e-10)
    assert torch.allclose(s_ref, s_fast, rtol=0, atol=1e-10)


def test_fast_refinement_equals_the_reference_in_float64(setup64) -> None:
    ev, ctx, T = setup64
    T_ref, s_ref, h_ref = refine(ev, ctx, T, RefineConfig(iterations=5, fast=False))
    T_fast, s_fast, h_fast = refine(ev, ctx, T, RefineConfig(iterations=5))
    assert torch.allclose(T_ref, T_fast, rtol=0, atol=1e-9)
    assert torch.allclose(s_ref, s_fast, rtol=0, atol=1e-9)
    assert len(h_ref) == len(h_fast) == 6
    assert s_fast.mean() > h_fast[0][1].mean()


def test_fast_bf16_scores_stay_close_to_float32(seed: int) -> None:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    cloud = torch.randn(1, 1024, 3, generator=g) * 0.03
    ev = GraspEvaluator().eval().requires_grad_(False)
    T = poses(200, g, torch.float32)
    ctx = ev.encode_object(cloud)
    fctx = context(ev, ctx, RefineConfig(bf16=True))
    assert fctx.dtype == torch.bfloat16
    s16 = score(ev, fctx, T)
    assert s16.dtype == torch.float32
    assert (s16 - score(ev, ctx, T)).abs().max() < 0.03


@pytest.mark.skipif(
    not (Path(WEIGHTS_DIR) / "graspnet6dof_evaluator.pt").is_file(), reason="no shipped weights"
)
def test_propose_fast_equals_reference_with_the_shipped_weights(rng) -> None:
    """100 samples + 5 iterations, float32: a grasp at a ball-query boundary may take
    another branch from a rounding difference, so most (not all) grasps must agree."""
    params = GraspNet6DofParams(num_samples=100, iterations=5, threshold=0.0, precision="fp32")
    model = load_graspnet6dof(params=params)
    u = rng.normal(size=(3000, 3))
    pts = u / np.linalg.norm(u, axis=1, keepdims=True) * [0.04, 0.03, 0.06] + [0.5, 0.0, 0.06]
    pts = pts[pts[:, 0] < 0.5]
    ref = model.propose(pts, replace(params, fast=False), seed=3)
    fast = model.propose(pts, params, seed=3)
    assert np.abs(ref.T_centroid_grasp[:, :3, 3]).max() > 0.01
    d = np.abs(ref.T_centroid_grasp - fast.T_centroid_grasp).max((1, 2))
    assert (d < 1e-4).mean() >= 0.95
    assert (np.abs(ref.scores - fast.scores) < 1e-4).mean() >= 0.95
