"""Motion: OMPL RRTConnect joint-space planning, straight-line Cartesian segments by IK,
time parameterisation with ruckig, and the checks every trajectory passes.

Time parameterisation: ruckig (community edition) plans jerk-limited point-to-point
motions; it has no intermediate waypoints (a Pro feature), so each path segment is timed
from rest to rest as a 1-D path parameter s in [0, 1] (q = a + s (b - a)) whose limits are
the tightest of the joints' limits divided by their travel (with 7 DoFs and
``Synchronization.Phase`` the samples left the line in our test). Every joint
stays on the straight joint-space segment the collision checker verified, within its own
velocity/acceleration/jerk limits. Paths are simplified (OMPL) or decimated (Cartesian)
first so there are few waypoints; the price is a stop at each, acceptable for
pick-and-place.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from ruckig import ControlInterface, InputParameter, Result, Ruckig
from ruckig import Trajectory as RuckigTrajectory

from grasp_core.se3 import check_transform, rotation_angle
from grasp_core.validation import readonly, require_range
from grasp_planning.collision import PlanningScene
from grasp_planning.errors import MotionPlanningError
from grasp_planning.ik import pose_error, solve_batch
from grasp_planning.robot import RobotModel

_OMPL_READY = False


def _ompl():
    """Import OMPL once, quiet its logging and seed its global RNG."""
    global _OMPL_READY
    from ompl import base as ob
    from ompl import geometric as og
    from ompl import util as ou

    if not _OMPL_READY:
        ou.setLogLevel(ou.LogLevel.LOG_WARN)
        ou.RNG.setSeed(42)
        _OMPL_READY = True
    return ob, og


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A joint trajectory: ``times`` (N,) [s] from its start, ``positions`` (N, nq) [rad],
    ``velocities`` (N, nq) [rad/s], in the order of ``joint_names``."""

    joint_names: tuple[str, ...]
    times: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    accelerations: np.ndarray | None = None

    def __post_init__(self) -> None:
        n, nq = np.shape(self.positions)
        if np.shape(self.times) != (n,) or np.shape(self.velocities) != (n, nq):
            raise MotionPlanningError("Trajectory: times/positions/velocities shapes disagree")
        if len(self.joint_names) != nq:
            raise MotionPlanningError("Trajectory: joint_names do not match positions")
        for name in ("times", "positions", "velocities"):
            object.__setattr__(self, name, readonly(np.asarray(getattr(self, name), float)))
        if self.accelerations is not None:
            object.__setattr__(self, "accelerations", readonly(self.accelerations))

    @property
    def duration(self) -> float:
        return float(self.times[-1])

    @property
    def start(self) -> np.ndarray:
        return self.positions[0].copy()

    @property
    def end(self) -> np.ndarray:
        return self.positions[-1].copy()

    def position_at(self, t: float) -> np.ndarray:
        """Linear interpolation of the positions at ``t`` [s] (clamped to the ends)."""
        return _interp_rows(t, self.times, self.positions)

    def velocity_at(self, t: float) -> np.ndarray:
        """Linear interpolation of the velocities at ``t`` [s] (clamped to the ends)."""
        return _interp_rows(t, self.times, self.velocities)


def _interp_rows(t: float, times: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.array([np.interp(t, times, rows[:, j]) for j in range(rows.shape[1])])


@dataclass(frozen=True)
class MotionParams:
    """``velocity_scaling`` / ``acceleration_scaling`` in (0, 1] of the robot's limits;
    ``sample_dt`` [s] of the output; ``planning_time`` [s] for OMPL; ``resolution`` [rad]
    of the collision check along a segment; ``cartesian_step`` [m] between IK points and
    ``cartesian_tolerance`` [m] allowed between the straight line and the timed path."""

    velocity_scaling: float = 0.3
    acceleration_scaling: float = 0.3
    sample_dt: float = 0.02
    planning_time: float = 1.0
    resolution: float = 0.01
    cartesian_step: float = 0.005
    cartesian_tolerance: float = 0.002
    simplify: bool = True

    def __post_init__(self) -> None:
        require_range("velocity_scaling", self.velocity_scaling, 0.0, 1.0, low_inclusive=False)
        require_range(
            "acceleration_scaling", self.acceleration_scaling, 0.0, 1.0, low_inclusive=False
        )
        require_range("sample_dt", self.sample_dt, 1e-3, 0.5)
        require_range("planning_time", self.planning_time, 0.0, 60.0, low_inclusive=False)
        require_range("resolution", self.resolution, 1e-4, 0.5)
        require_range("cartesian_step", self.cartesian_step, 1e-4, 0.1)
        require_range("cartesian_tolerance", self.cartesian_tolerance, 1e-5, 0.05)


def time_parameterize(
    robot: RobotModel, waypoints: np.ndarray, params: MotionParams = MotionParams()
) -> Trajectory:
    """Jerk-limited trajectory through ``waypoints`` (M, nq) [rad], at rest at each one,
    under the robot's velocity/acceleration/jerk limits times the scaling factors."""
    W = np.atleast_2d(np.asarray(waypoints, dtype=np.float64))
    if W.shape[1] != robot.nq or not np.all(np.isfinite(W)):
        raise MotionPlanningError(f"waypoints: expected finite (M, {robot.nq}), got {W.shape}")
    keep = [0, *(i for i in range(1, len(W)) if np.abs(W[i] - W[i - 1]).max() > 1e-9)]
    W = W[keep]
    nq = robot.nq
    vmax = robot.velocity_limits * params.velocity_scaling
    amax = robot.acceleration_limits * params.acceleration_scaling
    jmax = robot.jerk_limits * params.acceleration_scaling
    times, pos, vel, acc = [0.0], [W[0]], [np.zeros(nq)], [np.zeros(nq)]
    t0 = 0.0
    otg = Ruckig(1)
    for a, b in pairwise(W):
        # Time the segment as a 1-D path s in [0, 1], q = a + s (b - a): the motion stays
        # on the straight joint-space segment and each joint's limit bounds s's.
        delta = b - a
        mag = np.maximum(np.abs(delta), 1e-12)
        limits = (np.min(vmax / mag), np.min(amax / mag), np.min(jmax / mag))
        traj = _profile_1d(otg, 0.0, 0.0, 1.0, limits)
        if traj is None:
            raise MotionPlanningError("ruckig failed on a segment")
        d = traj.duration
        ts = [*np.arange(params.sample_dt, d, params.sample_dt).tolist(), d]
        for t in ts:
            sp, sv, sa = traj.at_time(t)
            times.append(t0 + t)
            pos.append(a + sp[0] * delta)
            vel.append(sv[0] * delta)
            acc.append(sa[0] * delta)
        vel[-1] = np.zeros(nq)
        acc[-1] = np.zeros(nq)
        pos[-1] = b.copy()
        t0 += d
    return Trajectory(
        robot.joint_names, np.array(times), np.array(pos), np.array(vel), np.array(acc)
    )


def _profile_1d(
    otg: Ruckig,
    position: float,
    velocity: float,
    target: float | None,
    limits: tuple[float, float, float],
) -> RuckigTrajectory | None:
    """Jerk-limited 1-D profile from (``position``, ``velocity``, zero acceleration) to
    rest at ``target`` (None: to rest anywhere, ruckig's velocity interface) under
    ``limits`` (velocity, acceleration, jerk); None when ruckig finds none."""
    inp = InputParameter(1)
    inp.current_position = [position]
    inp.current_velocity = [velocity]
    inp.current_acceleration = [0.0]
    inp.target_velocity = [0.0]
    inp.target_acceleration = [0.0]
    if target is None:
        inp.control_interface = ControlInterface.Velocity
    else:
        inp.target_position = [target]
    inp.max_velocity, inp.max_acceleration, inp.max_jerk = ([float(x)] for x in limits)
    traj = RuckigTrajectory(1)
    return traj if otg.calculate(inp, traj) in (Result.Working, Result.Finished) else None


def check_trajectory(
    robot: RobotModel, traj: Trajectory, params: MotionParams = MotionParams(), tol: float = 1e-6
) -> None:
    """Raise :class:`MotionPlanningError` unless every point is inside the joint limits,
    under the scaled velocity limits, with the TCP inside the workspace bounds."""
    P, V = traj.positions, traj.velocities
    if np.any(P < robot.lower - tol) or np.any(P > robot.upper + tol):
        raise MotionPlanningError("trajectory leaves the joint limits")
    vmax = robot.velocity_limits * params.velocity_scaling
    if np.any(np.abs(V) > vmax * (1 + 1e-3) + tol):
        worst = float(np.max(np.abs(V) / vmax))
        raise MotionPlanningError(f"trajectory exceeds the scaled velocity limits ({worst:.3f}x)")
    p_tcp = robot.fk_batch(P)[:, :3, 3]
    if not robot.in_workspace(p_tcp).all():
        bad = p_tcp[~robot.in_workspace(p_tcp)][0]
        raise MotionPlanningError(
            f"trajectory leaves the workspace bounds at TCP {np.round(bad, 3).tolist()} "
            f"(box {robot.workspace_min.tolist()}..{robot.workspace_max.tolist()})"
        )


class MotionPlanner:
    """Collision-free joint and Cartesian motions for one robot group in one scene."""

    def __init__(
        self, robot: RobotModel, scene: PlanningScene, params: MotionParams = MotionParams()
    ) -> None:
        self.robot = robot
        self.scene = scene
        self.params = params

    # ---- checks -------------------------------------------------------------------------

    def state_valid(
        self, q: np.ndarray, allowed: Iterable[tuple[str, str]] = (), ignore: Iterable[str] = ()
    ) -> bool:
        """In limits, TCP in the workspace, collision-free."""
        if not self.robot.within_limits(q):
            return False
        if not self.robot.in_workspace(self.robot.fk_batch(q)[0, :3, 3]):
            return False
        return not self.scene.in_collision(q, allowed, ignore)

    def segment_valid(
        self,
        qa: np.ndarray,
        qb: np.ndarray,
        allowed: Iterable[tuple[str, str]] = (),
        ignore: Iterable[str] = (),
        resolution: float | None = None,
    ) -> bool:
        """Every configuration on the straight joint-space segment, sampled every
        ``resolution`` [rad] (max over joints), is valid."""
        res = resolution or self.params.resolution
        n = max(2, int(np.ceil(np.abs(np.asarray(qb) - qa).max() / res)) + 1)
        Q = np.linspace(qa, qb, n)
        if not self.robot.in_workspace(self.robot.fk_batch(Q)[:, :3, 3]).all():
            return False
        return not self.scene.in_collision_many(Q, allowed, ignore).any()

    def path_valid(
        self,
        waypoints: np.ndarray,
        allowed: Iterable[tuple[str, str]] = (),
        ignore: Iterable[str] = (),
        resolution: float | None = None,
    ) -> bool:
        allowed, ignore = tuple(allowed), tuple(ignore)
        return all(
            self.segment_valid(a, b, allowed, ignore, resolution) for a, b in pairwise(waypoints)
        )

    # ---- joint space --------------------------------------------------------------------

    def plan_joint(
        self,
        q_start: np.ndarray,
        q_goal: np.ndarray,
        allowed: Iterable[tuple[str, str]] = (),
        ignore: Iterable[str] = (),
        planning_time: float | None = None,
    ) -> np.ndarray:
        """Collision-free joint path (M, nq) [rad] from ``q_start`` to ``q_goal``.

        The straight segment is used when it is free; otherwise OMPL RRTConnect, then path
        simplification, then a re-check at ``params.resolution``.
        """
        robot = self.robot
        qs, qg = robot.check_q(q_start, "q_start"), robot.check_q(q_goal, "q_goal")
        allowed, ignore = tuple(allowed), tuple(ignore)
        for name, q in (("start", qs), ("goal", qg)):
            if not self.state_valid(q, allowed, ignore):
                pairs = self.scene.colliding_pairs(q, allowed, ignore)
                raise MotionPlanningError(
                    f"{name} configuration invalid (limits, workspace or collision {pairs[:3]})"
                )
        if self.segment_valid(qs, qg, allowed, ignore):
            return np.vstack([qs, qg])
        last = "no attempt"
        for _attempt in range(3):
            try:
                return self._rrt_connect(qs, qg, allowed, ignore, planning_time)
            except MotionPlanningError as exc:
                last = str(exc)
        raise MotionPlanningError(f"no joint path after 3 RRTConnect attempts: {last}")

    def _rrt_connect(
        self,
        qs: np.ndarray,
        qg: np.ndarray,
        allowed: tuple,
        ignore: tuple,
        planning_time: float | None,
    ) -> np.ndarray:
        ob, og = _ompl()
        robot = self.robot
        nq = robot.nq
        space = ob.RealVectorStateSpace(nq)
        bounds = ob.RealVectorBounds(nq)
        for j in range(nq):
            bounds.setLow(j, float(robot.lower[j]))
            bounds.setHigh(j, float(robot.upper[j]))
        space.setBounds(bounds)
        ss = og.SimpleSetup(space)
        check = self.scene.validity_fn(allowed, ignore)
        self.validity_calls = 0

        def valid(state) -> bool:
            self.validity_calls += 1
            return check(np.array([state[j] for j in range(nq)]))

        ss.setStateValidityChecker(valid)
        si = ss.getSpaceInformation()
        extent = float(np.linalg.norm(robot.upper - robot.lower))
        # OMPL's resolution is a fraction of the extent in the L2 norm. It checks at
        # 2x our resolution (speed); the result is re-checked at ours below.
        si.setStateValidityCheckingResolution(2.0 * self.params.resolution / extent)
        start, goal = space.allocState(), space.allocState()
        for j in range(nq):
            start[j] = float(qs[j])
            goal[j] = float(qg[j])
        ss.setStartAndGoalStates(start, goal)
        ss.setPlanner(og.RRTConnect(si))
        budget = planning_time or self.params.planning_time
        status = ss.solve(budget)
        if not status or not ss.haveExactSolutionPath():
            raise MotionPlanningError(f"RRTConnect found no path in {budget:.2f} s")
        if self.params.simplify:
            ss.simplifySolution(0.25 * budget)
        path = ss.getSolutionPath()
        W = np.array(
            [[path.getState(i)[j] for j in range(nq)] for i in range(path.getStateCount())]
        )
        W[0], W[-1] = qs, qg
        if not self.path_valid(W, allowed, ignore):
            raise MotionPlanningError("RRTConnect path fails the fine collision check")
        return W

    # ---- Cartesian ----------------------------------------------------------------------

    def plan_cartesian(
        self,
        q_start: np.ndarray,
        T_goal: np.ndarray,
        allowed: Iterable[tuple[str, str]] = (),
        ignore: Iterable[str] = (),
        max_joint_step: float = 0.2,
    ) -> np.ndarray:
        """Joint waypoints (M, nq) moving the TCP on the straight line (and slerped
        orientation) from ``fk(q_start)`` to ``T_goal``, within ``cartesian_tolerance``.

        IK is solved every ``cartesian_step`` [m] seeded by the previous point; a jump
        above ``max_joint_step`` [rad] or a collision aborts. The dense path is then
        decimated to the few waypoints whose straight joint segments stay on the line.
        """
        robot = self.robot
        q0 = robot.check_q(q_start, "q_start")
        T_goal = check_transform("T_goal", T_goal)
        T0 = robot.fk(q0)
        dist = float(np.linalg.norm(T_goal[:3, 3] - T0[:3, 3]))
        ang = rotation_angle(T0[:3, :3], T_goal[:3, :3])
        n = max(2, int(np.ceil(max(dist / self.params.cartesian_step, ang / 0.05))) + 1)
        s = np.linspace(0.0, 1.0, n)
        targets = _interpolate_poses(T0, T_goal, s)
        Q = np.empty((n, robot.nq))
        Q[0] = q0
        for i in range(1, n):
            q, ok = solve_batch(robot, targets[i : i + 1], Q[i - 1 : i], max_iter=60)
            if not ok[0] or np.abs(q[0] - Q[i - 1]).max() > max_joint_step:
                raise MotionPlanningError(
                    f"Cartesian path: IK fails or jumps at {100 * s[i]:.0f}% of the line"
                )
            Q[i] = q[0]
        allowed, ignore = tuple(allowed), tuple(ignore)
        if (
            self.scene.in_collision_many(Q, allowed, ignore).any()
            or not robot.in_workspace(robot.fk_batch(Q)[:, :3, 3]).all()
        ):
            raise MotionPlanningError("Cartesian path collides or leaves the workspace")
        W = self._decimate(Q, targets)
        if not self.path_valid(W, allowed, ignore):
            raise MotionPlanningError("Cartesian path fails the fine collision check")
        return W

    def _decimate(self, Q: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Greedy: keep the fewest dense points whose joint-linear segments keep the TCP
        within ``cartesian_tolerance`` [m] (and 1 deg) of the dense Cartesian points."""
        tol = self.params.cartesian_tolerance
        keep = [0]
        i = 0
        n = len(Q)
        while i < n - 1:
            j = n - 1
            while j > i + 1:
                k = np.arange(i, j + 1)
                alpha = (k - i) / (j - i)
                Qlin = Q[i] + alpha[:, None] * (Q[j] - Q[i])
                e = pose_error(targets[k], self.robot.fk_batch(Qlin))
                if np.linalg.norm(e[:, :3], axis=1).max() <= tol and np.linalg.norm(
                    e[:, 3:], axis=1
                ).max() <= np.radians(1.0):
                    break
                j = i + max(1, (j - i) // 2)
            keep.append(j)
            i = j
        return Q[keep]

    # ---- whole segments -----------------------------------------------------------------

    def joint_trajectory(self, q_start: np.ndarray, q_goal: np.ndarray, **kw: object) -> Trajectory:
        """:meth:`plan_joint` + :func:`time_parameterize` + :func:`check_trajectory`."""
        W = self.plan_joint(q_start, q_goal, **kw)  # type: ignore[arg-type]
        return self.timed(W)

    def cartesian_trajectory(
        self, q_start: np.ndarray, T_goal: np.ndarray, **kw: object
    ) -> Trajectory:
        W = self.plan_cartesian(q_start, T_goal, **kw)  # type: ignore[arg-type]
        return self.timed(W)

    def timed(self, waypoints: np.ndarray) -> Trajectory:
        traj = time_parameterize(self.robot, waypoints, self.params)
        check_trajectory(self.robot, traj, self.params)
        return traj


def _interpolate_poses(T0: np.ndarray, T1: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(len(s), 4, 4) poses: linear position, slerped orientation."""
    from scipy.spatial.transform import Rotation, Slerp

    slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([T0[:3, :3], T1[:3, :3]])))
    out = np.tile(np.eye(4), (len(s), 1, 1))
    out[:, :3, :3] = slerp(s).as_matrix()
    out[:, :3, 3] = T0[:3, 3] + s[:, None] * (T1[:3, 3] - T0[:3, 3])
    return out


def stop_trajectory(
    robot: RobotModel, running: Trajectory, t: float, params: MotionParams = MotionParams()
) -> Trajectory:
    """Brake ``running``, sent ``t`` [s] ago, to rest along its own path.

    A controller continues from its setpoint (``running`` at ``t``, moving), so a hold at
    one point 50 ms later asked up to 5x the Panda's acceleration limits at speed. Here
    the path parameter tau (``running``'s own time) slows from 1 to 0 s/s with ruckig; the
    braking adds at most the scaled acceleration and jerk limits to each joint's (that
    bound over the rest of the path's speeds), and the arm stops on the path it was
    planned and checked on. At or past the end: a hold at the end."""
    T = running.duration
    if t >= T - 1e-9:
        return hold_trajectory(robot, running.end)
    rate = running.velocity_at(t)
    remaining = running.velocities[running.times >= t]
    speed = np.maximum(np.abs(np.vstack([rate, remaining])).max(axis=0), 1e-9)
    amax = robot.acceleration_limits * params.acceleration_scaling
    jmax = robot.jerk_limits * params.acceleration_scaling
    limits = (1.0, np.min(amax / speed), np.min(jmax / speed))
    brake = _profile_1d(Ruckig(1), float(t), 1.0, None, limits)
    if brake is None:
        return hold_trajectory(robot, running.position_at(t))
    d = brake.duration
    times = [*np.arange(params.sample_dt, d, params.sample_dt).tolist(), max(d, params.sample_dt)]
    pos, vel = [], []
    for s in times:
        tau, dtau = brake.at_time(min(s, d))[:2]
        tau = min(float(tau[0]), T)
        pos.append(running.position_at(tau))
        vel.append(running.velocity_at(tau) * float(dtau[0]))
    vel[-1] = np.zeros(robot.nq)
    return Trajectory(robot.joint_names, np.array(times), np.array(pos), np.array(vel))


def start_from(
    robot: RobotModel,
    q: np.ndarray,
    traj: Trajectory,
    params: MotionParams = MotionParams(),
    tol: float = 1e-6,
) -> Trajectory:
    """``traj`` beginning at the measured ``q``: a jerk-limited straight joint move from
    ``q`` to ``traj.start`` (at rest at both ends) is put in front of it.

    A planned trajectory's point 0 (time 0) is where the plan began, the previous goal,
    which the arm reached within a tolerance; a joint_trajectory_controller given it steps
    its setpoint there (a Franka stops on the velocity discontinuity). With the join, point
    0 is where the arm is and every setpoint after it is reached under the scaled limits.
    Unchanged when ``q`` is within ``tol`` [rad] of the start."""
    q = robot.check_q(q)
    if traj.times[0] > 0 or np.abs(q - traj.start).max() <= tol:
        return traj  # (point 0 later than 0: a controller starts from where it is)
    join = time_parameterize(robot, np.vstack([q, traj.start]), params)
    t0 = join.duration
    acc = None
    if traj.accelerations is not None and join.accelerations is not None:
        acc = np.vstack([join.accelerations, traj.accelerations[1:]])
    return Trajectory(
        traj.joint_names,
        np.concatenate([join.times, t0 + traj.times[1:]]),
        np.vstack([join.positions, traj.positions[1:]]),
        np.vstack([join.velocities, traj.velocities[1:]]),
        acc,
    )


def hold_trajectory(robot: RobotModel, q: np.ndarray, settle: float = 0.05) -> Trajectory:
    """One-point trajectory reaching ``q`` (zero velocity) after ``settle`` [s]: sent to
    halt the arm where it is (a controller interpolates from its current setpoint)."""
    q = robot.check_q(q)
    return Trajectory(robot.joint_names, np.array([settle]), q[None], np.zeros((1, robot.nq)))


def elapsed(t0: float) -> float:
    return time.perf_counter() - t0
