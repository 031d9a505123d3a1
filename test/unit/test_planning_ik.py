"""IK: round trips, limits, closest-first ordering, unreachable poses, grasp reachability."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_core.grasp import Grasp
from grasp_core.se3 import make_transform, rot_x, rotation_angle
from grasp_planning.ik import check_grasp_reachable, solve_ik
from grasp_planning.robot import RobotModel, load_robot


@pytest.fixture(scope="module")
def panda() -> RobotModel:
    return RobotModel(load_robot("panda"))


def test_ik_round_trips_random_reachable_poses(panda: RobotModel, rng: np.random.Generator) -> None:
    # random configurations away from the joint limits give reachable poses
    margin = 0.15 * (panda.upper - panda.lower)
    Q = rng.uniform(panda.lower + margin, panda.upper - margin, size=(30, panda.nq))
    for i, q in enumerate(Q):
        T = panda.fk(q)
        res = solve_ik(panda, T, panda.home, seed=i)
        assert res.success, f"pose {i} not solved"
        T_got = panda.fk(res.q)
        assert np.linalg.norm(T_got[:3, 3] - T[:3, 3]) < 1e-3
        assert np.degrees(rotation_angle(T_got[:3, :3], T[:3, :3])) < 0.5
        assert panda.within_limits(res.q)


def test_ik_reports_unreachable_pose(panda: RobotModel) -> None:
    T = make_transform(rot_x(np.pi), [1.5, 0.0, 0.3])  # 1.5 m away: beyond the 0.855 m reach
    res = solve_ik(panda, T, panda.home)
    assert not res.success and res.q is None


def test_ik_returns_solution_closest_to_seed_first(panda: RobotModel) -> None:
    q_cur = np.array([0.4, -0.2, 0.1, -2.0, 0.0, 1.8, 0.7])
    res = solve_ik(panda, panda.fk(q_cur), q_cur, n_random_seeds=16)
    assert res.success
    np.testing.assert_allclose(res.q, q_cur, atol=1e-2)
    dists = [np.linalg.norm(s - q_cur) for s in res.solutions]
    assert dists == sorted(dists)


def test_ik_respects_joint_limits_when_seeded_outside(panda: RobotModel) -> None:
    T = panda.fk(panda.home)
    seed = panda.upper + 0.5  # outside: clamped first
    res = solve_ik(panda, T, np.clip(seed, -10, 10))
    assert res.success and panda.within_limits(res.q)


def _top_grasp(p: list[float], width: float = 0.05) -> Grasp:
    return Grasp(pose=make_transform(rot_x(np.pi), p), width=width, quality=0.9)


def test_grasp_reachable_with_pregrasp_and_lift(panda: RobotModel) -> None:
    res = check_grasp_reachable(panda, _top_grasp([0.5, 0.0, 0.05]), panda.home)
    assert res.reachable, res.reason
    T_pre, T_g, T_lift = (panda.fk(q) for q in (res.q_pregrasp, res.q_grasp, res.q_lift))
    np.testing.assert_allclose(T_g[:3, 3], [0.5, 0.0, 0.05], atol=1e-3)
    # pre-grasp 10 cm back along the approach (+Z of the grasp points down: back is up)
    np.testing.assert_allclose(T_pre[:3, 3] - T_g[:3, 3], [0.0, 0.0, 0.10], atol=1e-3)
    np.testing.assert_allclose(T_lift[:3, 3] - T_g[:3, 3], [0.0, 0.0, 0.10], atol=1e-3)


def test_grasp_out_of_reach_or_wrong_frame_is_unreachable(panda: RobotModel) -> None:
    far = check_grasp_reachable(panda, _top_grasp([0.9, 0.6, 0.05]), panda.home)
    assert not far.reachable
    g = Grasp(pose=make_transform(rot_x(np.pi), [0.5, 0, 0.05]), width=0.05, frame_id="camera")
    other = check_grasp_reachable(panda, g, panda.home)
    assert not other.reachable and "camera" in other.reason


def test_flipped_variant_used_when_wrist_limit_blocks(panda: RobotModel) -> None:
    # yawing a top grasp far past joint 7's range is only reachable turned by pi
    from grasp_core.se3 import rot_z

    T = make_transform(rot_z(2.9) @ rot_x(np.pi), [0.45, 0.0, 0.1])
    res = check_grasp_reachable(panda, Grasp(pose=T, width=0.05), panda.home)
    assert res.reachable
    np.testing.assert_allclose(panda.fk(res.q_grasp), res.T_base_tcp, atol=1e-3)
    np.testing.assert_allclose(res.T_base_tcp[:3, 2], T[:3, 2], atol=1e-9)  # same approach
