"""Refinement: a gradient step raises the evaluator's score; steps are capped; MH."""

from __future__ import annotations

import math

import pytest
import torch

from grasp_core.errors import ValidationError
from grasp_models.graspnet6dof.evaluator import GraspEvaluator
from grasp_models.graspnet6dof.geometry import euler_xyz_to_matrix, pose_from_rt
from grasp_models.graspnet6dof.refine import RefineConfig, gradient_step, refine, score


@pytest.fixture
def setup(seed: int):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    cloud = torch.randn(1, 512, 3, generator=g, dtype=torch.float64) * 0.03
    ev = GraspEvaluator().double().eval()  # float64: an untrained net's score varies little
    e = (torch.rand(32, 3, generator=g, dtype=torch.float64) - 0.5) * 2 * math.pi
    T = pose_from_rt(
        euler_xyz_to_matrix(e), torch.randn(32, 3, generator=g, dtype=torch.float64) * 0.03
    )
    return ev, ev.encode_object(cloud), T


def test_gradient_step_increases_the_evaluator_score(setup) -> None:
    ev, ctx, T = setup
    cfg = RefineConfig(step=0.05, max_translation=1e-4, max_rotation=1e-3)  # first order
    before = score(ev, ctx, T)
    T1, s0 = gradient_step(ev, ctx, T, cfg)
    after = score(ev, ctx, T1)
    assert torch.allclose(s0, before)
    moved = (T1 - T).abs().amax((1, 2)) > 1e-7
    assert moved.sum() >= 16
    # ball query and max-pooling make the score piecewise smooth: a tiny step along the
    # gradient raises it except where it crosses a kink
    assert (after[moved] > before[moved]).float().mean() >= 0.8
    assert after.mean() > before.mean()


def test_gradient_step_is_capped_at_one_centimetre(setup) -> None:
    ev, ctx, T = setup
    T1, _ = gradient_step(ev, ctx, T, RefineConfig(step=1e6))
    assert (T1[:, :3, 3] - T[:, :3, 3]).norm(dim=-1).max() <= 0.01 + 1e-6


def test_refine_keeps_history_and_valid_rotations(setup) -> None:
    ev, ctx, T = setup
    T5, s5, hist = refine(ev, ctx, T, RefineConfig(iterations=5))
    assert len(hist) == 6 and torch.equal(hist[0][0], T) and torch.equal(hist[-1][0], T5)
    R = T5[:, :3, :3]
    assert torch.allclose(
        R @ R.transpose(1, 2), torch.eye(3, dtype=R.dtype).expand(32, 3, 3), atol=1e-4
    )
    assert s5.mean() > hist[0][1].mean()


def test_metropolis_never_accepts_a_worse_grasp_when_all_proposals_are_better_rejected(
    setup, seed: int
) -> None:
    ev, ctx, T = setup
    g = torch.Generator().manual_seed(seed)
    T_out, s_out, hist = refine(ev, ctx, T, RefineConfig(method="metropolis", iterations=3), g)
    assert T_out.shape == T.shape and len(hist) == 4
    assert torch.allclose(s_out, score(ev, ctx, T_out), atol=1e-5)


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ValidationError, match="refine.method"):
        RefineConfig(method="adam")


def test_bf16_refinement_stays_close_to_fp32(seed: int) -> None:
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        pytest.skip("this CPU has no native bf16 (oneDNN check)")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    cloud = torch.randn(1, 512, 3, generator=g) * 0.03
    ev = GraspEvaluator().eval().requires_grad_(False)
    e = (torch.rand(16, 3, generator=g) - 0.5) * 2 * math.pi
    T = pose_from_rt(euler_xyz_to_matrix(e), torch.randn(16, 3, generator=g) * 0.03)
    ctx = ev.encode_object(cloud)
    T16, s16, h16 = refine(ev, ctx, T, RefineConfig(iterations=2, bf16=True))
    assert T16.dtype == torch.float32 and s16.dtype == torch.float32
    assert (score(ev, ctx, T, bf16=True) - score(ev, ctx, T)).abs().max() < 0.03
    assert s16.mean() > h16[0][1].mean()  # bf16 refinement still raises the score
