"""Inverse kinematics (damped least squares, many seeds, joint limits) and grasp reachability.

The solver runs on a batch of (target, seed) pairs at once with
:meth:`RobotModel.fk_jacobian_batch`: each iteration takes the 6-D error
``e = (p_target - p, log(R_target R^T))`` in the base frame, the step
``dq = J^T (J J^T + λ² I)^-1 e`` (clipped to ``max_step`` [rad]) and clamps ``q`` to the
joint limits. A target's solutions from all seeds that converged are sorted by their
distance to the current configuration, closest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from grasp_core.grasp import Grasp
from grasp_core.se3 import check_transform, make_transform, rot_z
from grasp_core.validation import require_range
from grasp_planning.robot import RobotModel

#: Default convergence tolerances: 0.1 mm and 0.001 rad (0.06°).
POS_TOL = 1e-4
ROT_TOL = 1e-3
#: Pre-grasp distance back along the approach (-Z) and lift height (+Z base) [m].
PREGRASP_DISTANCE = 0.10
LIFT_HEIGHT = 0.10
FLIP_Z = make_transform(rot_z(np.pi))
#: A row whose error did not shrink below STALL_RATIO of its value STALL_WINDOW iterations
#: earlier is stuck (joint limits, out of reach) and dropped from the batch.
STALL_WINDOW = 10
STALL_RATIO = 0.9


def pose_error(T_target: np.ndarray, T: np.ndarray) -> np.ndarray:
    """(N, 6) error (position [m], rotation vector [rad]) from ``T`` to ``T_target``,
    both (N, 4, 4), expressed in the base frame."""
    e = np.empty((T.shape[0], 6))
    e[:, :3] = T_target[:, :3, 3] - T[:, :3, 3]
    R_err = T_target[:, :3, :3] @ np.transpose(T[:, :3, :3], (0, 2, 1))
    e[:, 3:] = log_rotation(R_err)
    return e


def log_rotation(R: np.ndarray) -> np.ndarray:
    """(N, 3) rotation vectors [rad] of (N, 3, 3) rotation matrices (SO(3) log map)."""
    cos = np.clip((np.trace(R, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    angle = np.arccos(cos)
    skew = np.stack(
        [R[:, 2, 1] - R[:, 1, 2], R[:, 0, 2] - R[:, 2, 0], R[:, 1, 0] - R[:, 0, 1]], axis=1
    )
    sin = np.sin(angle)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(angle < 1e-6, 0.5 + angle**2 / 12.0, angle / (2.0 * sin))
    out = skew * factor[:, None]
    near_pi = angle > np.pi - 1e-3
    if near_pi.any():  # the skew part vanishes there: let scipy pick the axis
        out[near_pi] = Rotation.from_matrix(R[near_pi]).as_rotvec()
    return out


def solve_batch(
    robot: RobotModel,
    T_targets: np.ndarray,
    Q_seed: np.ndarray,
    max_iter: int = 80,
    pos_tol: float = POS_TOL,
    rot_tol: float = ROT_TOL,
    damping: float = 0.02,
    max_step: float = 0.4,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve N targets (N,4,4) from N seeds (N,nq) at once.

    Returns ``(Q (N, nq), converged (N,) bool)``; every returned ``q`` is inside the
    joint limits.
    """
    Q = robot.clamp(np.array(Q_seed, dtype=np.float64, copy=True))
    n = Q.shape[0]
    ok = np.zeros(n, dtype=bool)
    active = np.arange(n)
    lam2 = damping**2
    eye6 = np.eye(6)
    err_ref = np.full(n, np.inf)  # error STALL_WINDOW iterations ago, to drop stuck rows
    for it in range(max_iter):
        if active.size == 0:
            break
        T, J = robot.fk_jacobian_batch(Q[active])
        e = pose_error(T_targets[active], T)
        done = (np.linalg.norm(e[:, :3], axis=1) < pos_tol) & (
            np.linalg.norm(e[:, 3:], axis=1) < rot_tol
        )
        ok[active[done]] = True
        keep = ~done
        if it > 0 and it % STALL_WINDOW == 0:
            err = np.linalg.norm(e, axis=1)
            keep &= err < STALL_RATIO * err_ref[active]
            err_ref[active] = err
        active, J, e = active[keep], J[keep], e[keep]
        if active.size == 0:
            break
        A = J @ np.transpose(J, (0, 2, 1)) + lam2 * eye6
        y = np.linalg.solve(A, e[:, :, None])
        dq = (np.transpose(J, (0, 2, 1)) @ y)[:, :, 0]
        big = np.abs(dq).max(axis=1, keepdims=True)
        dq *= np.minimum(1.0, max_step / np.maximum(big, 1e-12))
        Q[active] = robot.clamp(Q[active] + dq)
    return Q, ok


@dataclass(frozen=True)
class IKResult:
    """``success``; ``q`` the solution closest to ``q_current`` (None when none);
    ``solutions`` every distinct converged solution, closest first; errors of ``q``
    (position [m], rotation [rad])."""

    success: bool
    q: np.ndarray | None
    solutions: tuple[np.ndarray, ...] = ()
    position_error: float = float("inf")
    rotation_error: float = float("inf")


def default_seeds(
    robot: RobotModel, q_current: np.ndarray, n_random: int, rng: np.random.Generator
) -> np.ndarray:
    """Current configuration, home, then ``n_random`` uniform samples."""
    return np.vstack([q_current, robot.home, robot.random_configurations(n_random, rng)])


def solve_ik(
    robot: RobotModel,
    T_base_tcp: np.ndarray,
    q_seed: np.ndarray,
    n_random_seeds: int = 12,
    seed: int = 0,
    pos_tol: float = POS_TOL,
    rot_tol: float = ROT_TOL,
    max_iter: int = 150,
) -> IKResult:
    """IK of the grasp TCP to ``T_base_tcp`` starting from ``q_seed`` (also the reference
    for "closest first"), home and ``n_random_seeds`` random seeds (``seed``ed)."""
    T = check_transform("T_base_tcp", T_base_tcp)
    q_seed = robot.check_q(q_seed, "q_seed")
    rng = np.random.default_rng(seed)
    seeds = default_seeds(robot, q_seed, n_random_seeds, rng)
    targets = np.broadcast_to(T, (seeds.shape[0], 4, 4))
    Q, ok = solve_batch(robot, targets, seeds, max_iter, pos_tol, rot_tol)
    if not ok.any():
        return IKResult(False, None)
    sols = Q[ok]
    order = np.argsort(np.linalg.norm(sols - q_seed, axis=1))
    distinct: list[np.ndarray] = []
    for i in order:
        if all(np.abs(sols[i] - d).max() > 1e-3 for d in distinct):
            distinct.append(sols[i])
    best = distinct[0]
    e = pose_error(T[None], robot.fk(best)[None])[0]
    return IKResult(
        True,
        best,
        tuple(distinct),
        float(np.linalg.norm(e[:3])),
        float(np.linalg.norm(e[3:])),
    )


def pregrasp_pose(T_base_tcp: np.ndarray, distance: float = PREGRASP_DISTANCE) -> np.ndarray:
    """The grasp pose moved ``distance`` [m] back along its approach axis (-Z)."""
    T = np.array(T_base_tcp, dtype=np.float64, copy=True)
    T[..., :3, 3] -= T[..., :3, 2] * distance
    return T


def lift_pose(T_base_tcp: np.ndarray, height: float = LIFT_HEIGHT) -> np.ndarray:
    """The grasp pose moved ``height`` [m] up along the base +Z."""
    T = np.array(T_base_tcp, dtype=np.float64, copy=True)
    T[..., 2, 3] += height
    return T


@dataclass(frozen=True)
class ReachResult:
    """Reachability of a grasp with its pre-grasp and lift: configurations [rad] of each
    (None when unreachable), the TCP pose actually used (the grasp, or the grasp turned
    by pi about its Z when ``flipped`` — a parallel gripper is symmetric) and a reason."""

    reachable: bool
    reason: str = ""
    q_grasp: np.ndarray | None = None
    q_pregrasp: np.ndarray | None = None
    q_lift: np.ndarray | None = None
    T_base_tcp: np.ndarray | None = None
    flipped: bool = False
    extras: dict = field(default_factory=dict)


def reach_batch(
    robot: RobotModel,
    T_grasps: np.ndarray,
    q_current: np.ndarray,
    n_random_seeds: int = 4,
    seed: int = 0,
    pregrasp_distance: float = PREGRASP_DISTANCE,
    lift_height: float = LIFT_HEIGHT,
    max_joint_jump: float = 0.6,
    max_iter: int = 30,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grasp, pre-grasp and lift IK for N grasp poses (N,4,4) at once.

    The grasp is solved from ``q_current``, home and random seeds; pre-grasp and lift
    are solved from the grasp solution and must stay within ``max_joint_jump`` [rad] of
    it on every joint (so the straight approach / lift is one smooth branch).
    Returns ``(ok (N,), Q_grasp, Q_pre, Q_lift)`` (rows of failures are NaN).
    """
    n = T_grasps.shape[0]
    nq = robot.nq
    rng = np.random.default_rng(seed)
    Qg = np.full((n, nq), np.nan)
    ok = np.zeros(n, dtype=bool)
    # stage 1: the current configuration as seed; stage 2, for the rest: home and random
    # seeds all in one batch (one iteration loop), keeping the solution closest to q_current
    Q, conv = solve_batch(robot, T_grasps, np.broadcast_to(q_current, (n, nq)), max_iter=max_iter)
    Qg[conv] = Q[conv]
    ok[conv] = True
    todo = np.flatnonzero(~conv)
    seeds = [*robot.random_configurations(n_random_seeds, rng)]
    if np.abs(robot.home - q_current).max() > 1e-3:
        seeds.insert(0, robot.home)
    if todo.size and seeds:
        S = np.array(seeds)
        k = len(S)
        T_rep = np.repeat(T_grasps[todo], k, axis=0)
        Q, conv = solve_batch(robot, T_rep, np.tile(S, (todo.size, 1)), max_iter=max_iter)
        Q = Q.reshape(todo.size, k, nq)
        conv = conv.reshape(todo.size, k)
        dist = np.where(conv, np.linalg.norm(Q - q_current, axis=2), np.inf)
        best = np.argmin(dist, axis=1)
        hit = conv.any(axis=1)
        Qg[todo[hit]] = Q[hit, best[hit]]
        ok[todo[hit]] = True
    idx = np.flatnonzero(ok)
    Qp = np.full((n, nq), np.nan)
    Ql = np.full((n, nq), np.nan)
    if idx.size:
        T_pre = pregrasp_pose(T_grasps[idx], pregrasp_distance)
        T_lift = lift_pose(T_grasps[idx], lift_height)
        both_T = np.concatenate([T_pre, T_lift])
        both_seed = np.concatenate([Qg[idx], Qg[idx]])
        Q, conv = solve_batch(robot, both_T, both_seed, max_iter=max_iter)
        m = idx.size
        jump = np.abs(Q - both_seed).max(axis=1) <= max_joint_jump
        good = conv & jump
        ok_idx = good[:m] & good[m:]
        Qp[idx[ok_idx]] = Q[:m][ok_idx]
        Ql[idx[ok_idx]] = Q[m:][ok_idx]
        ok[idx[~ok_idx]] = False
        Qg[idx[~ok_idx]] = np.nan
    return ok, Qg, Qp, Ql


def check_grasp_reachable(
    robot: RobotModel,
    grasp: Grasp,
    q_current: np.ndarray,
    allow_flip: bool = True,
    pregrasp_distance: float = PREGRASP_DISTANCE,
    lift_height: float = LIFT_HEIGHT,
    seed: int = 0,
) -> ReachResult:
    """Is ``grasp`` (in the robot's base frame) reachable with its pre-grasp
    (``pregrasp_distance`` [m] back along +Z) and lift (``lift_height`` [m] up)?

    With ``allow_flip`` the grasp turned by pi about its approach axis is tried too; the
    reachable variant whose grasp configuration is closest to ``q_current`` wins.
    """
    q_current = robot.check_q(q_current, "q_current")
    require_range("pregrasp_distance", pregrasp_distance, 0.0, 0.5)
    require_range("lift_height", lift_height, 0.0, 0.5)
    if grasp.frame_id != robot.config.base_frame:
        return ReachResult(
            False, f"grasp frame {grasp.frame_id!r} is not the base {robot.config.base_frame!r}"
        )
    Ts = [grasp.pose, grasp.pose @ FLIP_Z] if allow_flip else [grasp.pose]
    T = np.array(Ts)
    if not robot.in_workspace(np.concatenate([T[:, :3, 3], lift_pose(T)[:, :3, 3]])).all():
        return ReachResult(False, "outside the workspace bounds")
    ok, Qg, Qp, Ql = reach_batch(
        robot, T, q_current, seed=seed, pregrasp_distance=pregrasp_distance, lift_height=lift_height
    )
    if not ok.any():
        return ReachResult(False, "no IK solution for grasp + pre-grasp + lift")
    cand = np.flatnonzero(ok)
    best = cand[np.argmin(np.linalg.norm(Qg[cand] - q_current, axis=1))]
    return ReachResult(True, "", Qg[best], Qp[best], Ql[best], T[best], flipped=bool(best == 1))
