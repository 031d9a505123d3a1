"""Motion: RRTConnect paths are collision-free at a fine resolution, Cartesian segments
are straight, trajectories respect limits, workspace bounds and velocity scaling."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from grasp_core.cell import load_layout
from grasp_core.se3 import make_transform, rot_x
from grasp_planning.collision import PlanningScene
from grasp_planning.errors import MotionPlanningError
from grasp_planning.ik import solve_ik
from grasp_planning.motion import (
    MotionParams,
    MotionPlanner,
    Trajectory,
    check_trajectory,
    hold_trajectory,
    start_from,
    time_parameterize,
)
from grasp_planning.robot import RobotModel, load_robot
from grasp_planning.world import add_cell


@pytest.fixture(scope="module")
def panda() -> RobotModel:
    return RobotModel(load_robot("panda"))


@pytest.fixture(scope="module")
def wall_scene(panda: RobotModel) -> PlanningScene:
    s = PlanningScene(panda)
    add_cell(s, load_layout())
    s.add_box("wall", (0.3, 0.04, 0.45), make_transform(t=[0.5, 0.0, 0.225]))
    return s


def _q(panda: RobotModel, p: list[float]) -> np.ndarray:
    res = solve_ik(panda, make_transform(rot_x(np.pi), p), panda.home)
    assert res.success
    return res.q


def _free_q(panda: RobotModel, scene: PlanningScene, p: list[float]) -> np.ndarray:
    res = solve_ik(panda, make_transform(rot_x(np.pi), p), panda.home, n_random_seeds=30)
    free = [q for q in res.solutions if not scene.in_collision(q)]
    assert free, f"no collision-free IK solution at {p}"
    return free[0]


def test_planned_path_never_collides_at_fine_resolution(
    panda: RobotModel, wall_scene: PlanningScene
) -> None:
    planner = MotionPlanner(panda, wall_scene, MotionParams(planning_time=2.0))
    qa, qb = (
        _free_q(panda, wall_scene, [0.5, 0.2, 0.12]),
        _free_q(panda, wall_scene, [0.5, -0.2, 0.12]),
    )
    assert not planner.segment_valid(qa, qb)  # the straight move hits the wall
    W = planner.plan_joint(qa, qb)
    np.testing.assert_allclose(W[0], qa)
    np.testing.assert_allclose(W[-1], qb)
    # re-check every segment at 0.002 rad
    for a, b in pairwise(W):
        n = int(np.ceil(np.abs(b - a).max() / 0.002)) + 1
        assert not wall_scene.in_collision_many(np.linspace(a, b, n)).any()
    traj = planner.timed(W)
    assert not wall_scene.in_collision_many(traj.positions).any()


def test_trajectory_respects_limits_and_scaling(panda: RobotModel) -> None:
    W = np.array([panda.home, panda.home + np.array([0.8, 0.3, -0.5, 0.4, 0.6, -0.5, 1.0])])
    W[1] = panda.clamp(W[1])
    fast = time_parameterize(panda, W, MotionParams(velocity_scaling=0.5, acceleration_scaling=0.5))
    slow = time_parameterize(panda, W, MotionParams(velocity_scaling=0.1, acceleration_scaling=0.1))
    for traj, scale in ((fast, 0.5), (slow, 0.1)):
        assert np.all(np.abs(traj.velocities) <= panda.velocity_limits * scale + 1e-6)
        assert np.all(np.abs(traj.accelerations) <= panda.acceleration_limits * scale + 1e-6)
        np.testing.assert_allclose(traj.positions[-1], W[1])
        np.testing.assert_allclose(traj.velocities[[0, -1]], 0.0)
        assert np.all(np.diff(traj.times) > 0)
        # phase-synchronised: every sample lies on the straight joint-space segment
        s = (traj.positions - W[0]) @ (W[1] - W[0]) / np.sum((W[1] - W[0]) ** 2)
        np.testing.assert_allclose(traj.positions, W[0] + s[:, None] * (W[1] - W[0]), atol=1e-6)
        check_trajectory(panda, traj, MotionParams(velocity_scaling=scale))
    assert slow.duration > 3 * fast.duration
    with pytest.raises(MotionPlanningError, match="velocity"):
        check_trajectory(panda, fast, MotionParams(velocity_scaling=0.1))


def test_a_trajectory_sent_from_off_its_start_begins_where_the_arm_is(panda: RobotModel) -> None:
    """Point 0 (time 0) is the measured configuration; the way to the planned start is a
    jerk-limited move under the scaled limits, then the plan, shifted, unchanged."""
    params = MotionParams()
    W = np.array(
        [panda.home, panda.clamp(panda.home + np.array([0.4, 0.2, -0.3, 0.2, 0.3, -0.2, 0.5]))]
    )
    plan = time_parameterize(panda, W, params)
    q = panda.home + np.array([0.03, -0.02, 0.0, 0.01, 0.0, 0.0, -0.04])  # 0.04 rad off
    sent = start_from(panda, q, plan, params)
    np.testing.assert_allclose(sent.positions[0], q, atol=1e-12)
    np.testing.assert_allclose(sent.velocities[0], 0.0)
    assert sent.times[0] == 0.0 and np.all(np.diff(sent.times) > 0)
    # no setpoint jumps: consecutive setpoints are reachable at the scaled velocity limits
    step = np.abs(np.diff(sent.positions, axis=0)) / np.diff(sent.times)[:, None]
    assert np.all(step <= panda.velocity_limits * params.velocity_scaling + 1e-6)
    check_trajectory(panda, sent, params)
    join = sent.duration - plan.duration
    assert 0.0 < join < 1.5
    # the plan itself follows, shifted by the join
    np.testing.assert_allclose(sent.position_at(join + 0.4), plan.position_at(0.4), atol=1e-9)
    np.testing.assert_allclose(sent.end, plan.end)
    # at the start already, or a hold (point 0 later than 0): sent as planned
    assert start_from(panda, plan.start, plan, params) is plan
    hold = hold_trajectory(panda, panda.home)
    assert start_from(panda, q, hold, params) is hold


def test_workspace_bounds_are_enforced(panda: RobotModel) -> None:
    q_out = _q(panda, [0.5, 0.0, 0.3])
    T = panda.fk(q_out)
    assert T[2, 3] < panda.workspace_max[2]
    low = _q(panda, [0.5, 0.0, -0.05])  # below workspace z min (-0.02)
    traj = time_parameterize(panda, np.array([q_out, low]))
    with pytest.raises(MotionPlanningError, match="workspace"):
        check_trajectory(panda, traj)


def test_cartesian_segment_is_a_straight_line(panda: RobotModel, wall_scene: PlanningScene) -> None:
    planner = MotionPlanner(panda, wall_scene)
    q0 = _q(panda, [0.45, 0.25, 0.25])
    T_goal = panda.fk(q0)
    T_goal[2, 3] -= 0.10
    traj = planner.cartesian_trajectory(q0, T_goal)
    p = panda.fk_batch(traj.positions)[:, :3, 3]
    start = panda.fk(q0)[:3, 3]
    # lateral deviation from the vertical line, and the end point
    assert np.abs(p[:, :2] - start[:2]).max() < 2.5e-3
    np.testing.assert_allclose(p[-1], T_goal[:3, 3], atol=1e-3)
    assert np.all(np.diff(p[:, 2]) <= 1e-6)  # monotonic descent


def test_cartesian_segment_into_an_obstacle_fails(
    panda: RobotModel, wall_scene: PlanningScene
) -> None:
    planner = MotionPlanner(panda, wall_scene)
    q0 = _q(panda, [0.5, 0.0, 0.60])
    T_goal = panda.fk(q0)
    T_goal[2, 3] = 0.35  # down into the wall's top
    with pytest.raises(MotionPlanningError, match="collides"):
        planner.plan_cartesian(q0, T_goal)


def test_trajectory_value_type_is_read_only(panda: RobotModel) -> None:
    traj = time_parameterize(panda, np.array([panda.home, panda.clamp(panda.home + 0.1)]))
    assert isinstance(traj, Trajectory) and traj.duration > 0
    with pytest.raises(ValueError, match="read-only"):
        traj.positions[0, 0] = 1.0
