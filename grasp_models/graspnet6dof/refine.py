"""Grasp refinement (paper §3.3): gradient ascent on the evaluator's success through the
gripper points w.r.t. translation and XYZ Euler angles, and Metropolis–Hastings.

Gradient steps are taken in local coordinates: each step perturbs the current pose by
(δt, δe) around zero, T' = [R(δe) R, t + δt], so Euler singularities never occur. The
step η·∇ is capped per grasp so that the translation moves at most ``max_translation``
(1 cm in the paper) and the rotation at most ``max_rotation`` [rad].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from grasp_core.validation import require_choice, require_range
from grasp_models.graspnet6dof.evaluator import FastContext, GraspEvaluator, ObjectContext
from grasp_models.graspnet6dof.geometry import euler_xyz_to_matrix, pose_from_rt

METHODS = ("gradient", "metropolis")


@dataclass(frozen=True)
class RefineConfig:
    """``method`` gradient|metropolis; ``iterations``.

    Gradient: the update is ``step`` × ∂s/∂(t, e) of the success probability s, capped per
    grasp at ``max_translation`` [m] and ``max_rotation`` [rad]. Metropolis: Gaussian
    proposals with std ``sigma_translation`` [m] and ``sigma_rotation`` [rad]. ``bf16``:
    run the evaluator in CPU bfloat16 (poses and their updates stay float32). ``fast``: the
    inference path :meth:`GraspEvaluator.forward_fast` (weights cast once per cloud);
    ``False``: the reference path (autograd through the modules, bf16 by autocast), which
    gives the same poses and scores within rounding (tested) and is kept for checks and
    the speed benchmark.
    """

    method: str = "gradient"
    iterations: int = 10
    step: float = 0.05
    max_translation: float = 0.01
    max_rotation: float = 0.1
    sigma_translation: float = 0.005
    sigma_rotation: float = 0.05
    bf16: bool = False
    fast: bool = True

    def __post_init__(self) -> None:
        require_choice("refine.method", self.method, METHODS)
        require_range("refine.iterations", self.iterations, 0, 1000)
        for name in (
            "step",
            "max_translation",
            "max_rotation",
            "sigma_translation",
            "sigma_rotation",
        ):
            require_range(f"refine.{name}", getattr(self, name), 0.0, None, low_inclusive=False)


def perturb(T: torch.Tensor, dt: torch.Tensor, de: torch.Tensor) -> torch.Tensor:
    """[R(δe) R, t + δt] for poses (B, 4, 4), δt (B, 3) [m], δe (B, 3) [rad]."""
    R = euler_xyz_to_matrix(de) @ T[:, :3, :3]
    return pose_from_rt(R, T[:, :3, 3] + dt)


Context = ObjectContext | FastContext


def logits(
    evaluator: GraspEvaluator, ctx: Context, T: torch.Tensor, bf16: bool = False
) -> torch.Tensor:
    """Evaluator logits (B,) in ``T``'s dtype: the fast path for a :class:`FastContext`
    (its dtype), else the reference path, optionally under bf16 autocast."""
    if isinstance(ctx, FastContext):
        return evaluator.forward_fast(ctx, T)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = evaluator.forward_context(ctx, T)
    return out.to(T.dtype)


def context(evaluator: GraspEvaluator, ctx: Context, cfg: RefineConfig) -> Context:
    """The context ``cfg`` asks for: :class:`FastContext` (bf16 if ``cfg.bf16``) when
    ``cfg.fast``, else the :class:`ObjectContext` of the reference path."""
    if isinstance(ctx, FastContext):
        ctx = ctx.ctx
    if not cfg.fast:
        return ctx
    return evaluator.fast_context(ctx, torch.bfloat16 if cfg.bf16 else None)


def score(
    evaluator: GraspEvaluator, ctx: Context, T: torch.Tensor, bf16: bool = False
) -> torch.Tensor:
    """Success probabilities (B,) without gradients."""
    with torch.no_grad():
        return torch.sigmoid(logits(evaluator, ctx, T, bf16))


def gradient_step(
    evaluator: GraspEvaluator, ctx: Context, T: torch.Tensor, cfg: RefineConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """One capped ascent step; returns (new poses, success probabilities at the old ones)."""
    B = T.shape[0]
    dt = torch.zeros(B, 3, dtype=T.dtype, device=T.device, requires_grad=True)
    de = torch.zeros(B, 3, dtype=T.dtype, device=T.device, requires_grad=True)
    with torch.enable_grad():
        s = torch.sigmoid(logits(evaluator, ctx, perturb(T.detach(), dt, de), cfg.bf16))
        gt, ge = torch.autograd.grad(s.sum(), (dt, de))
    eta_t = torch.clamp(cfg.max_translation / (cfg.step * gt.norm(dim=-1) + 1e-12), max=1.0)
    eta_r = torch.clamp(cfg.max_rotation / (cfg.step * ge.norm(dim=-1) + 1e-12), max=1.0)
    step_t = cfg.step * eta_t[:, None] * gt
    step_r = cfg.step * eta_r[:, None] * ge
    return perturb(T.detach(), step_t, step_r).detach(), s.detach()


def metropolis_step(
    evaluator: GraspEvaluator,
    ctx: Context,
    T: torch.Tensor,
    s: torch.Tensor,
    cfg: RefineConfig,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random-walk proposal, accepted with probability min(1, s'/s)."""
    B = T.shape[0]
    kw = {"generator": generator, "device": T.device, "dtype": T.dtype}
    dt = torch.randn(B, 3, **kw) * cfg.sigma_translation
    de = torch.randn(B, 3, **kw) * cfg.sigma_rotation
    proposal = perturb(T, dt, de)
    s_new = score(evaluator, ctx, proposal, cfg.bf16)
    u = torch.rand(B, **kw)
    accept = u * s.clamp_min(1e-9) <= s_new
    T_out = torch.where(accept[:, None, None], proposal, T)
    return T_out, torch.where(accept, s_new, s)


def refine(
    evaluator: GraspEvaluator,
    ctx: Context,
    T_centroid_grasp: torch.Tensor,
    cfg: RefineConfig,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Refine grasps (B, 4, 4) ``cfg.iterations`` times.

    Returns the final poses, their success probabilities, and the history
    ``[(poses, probabilities)]`` of every iterate (0 = the input) for ablations.
    """
    ctx = context(evaluator, ctx, cfg)
    T = T_centroid_grasp.detach()
    history: list[tuple[torch.Tensor, torch.Tensor]] = []
    if cfg.method == "gradient":
        for _ in range(cfg.iterations):
            T_new, s = gradient_step(evaluator, ctx, T, cfg)
            history.append((T, s))
            T = T_new
        s = score(evaluator, ctx, T, cfg.bf16)
    else:
        s = score(evaluator, ctx, T, cfg.bf16)
        for _ in range(cfg.iterations):
            history.append((T, s))
            T, s = metropolis_step(evaluator, ctx, T, s, cfg, generator)
    history.append((T, s))
    return T, s, history
