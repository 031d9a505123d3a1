"""ROS-free heart of the sim driver: trajectory validation, JTC-like following, stepping.

:class:`SimDriver` owns a :class:`~grasp_sim.world.SimWorld` and two controllers named as
in ros2_control's Panda configuration:

- ``arm`` (``panda_joint1..7``): every trajectory must name all seven joints;
- ``hand`` (``panda_finger_joint1``, optionally ``panda_finger_joint2``): a finger joint
  position is half the opening width [m] (both fingers move symmetrically).

Trajectories are followed like ros2_control's joint_trajectory_controller: joints matched
by name (any order), the current position is the implicit point at the start time,
positions interpolated linearly between points, or with cubic Hermite splines when every
point carries velocities; the last point is held. A new trajectory replaces the running
one from its start time (header stamp, or "now" when zero). A rejected trajectory raises
:class:`~grasp_sim.errors.TrajectoryError` with the reason and changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grasp_sim.errors import TrajectoryError
from grasp_sim.robot import ARM_JOINTS, HAND_JOINTS
from grasp_sim.world import SimWorld

#: Positions may exceed a joint limit by this much [rad or m] (float round-off in planners).
LIMIT_TOLERANCE = 1e-4
#: Physics steps per controller update.
CONTROL_STEPS = 2


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A validated trajectory in a controller's joint order.

    ``times`` [s] from the start (strictly increasing, first >= 0), ``positions`` NxJ,
    ``velocities`` NxJ or None.
    """

    times: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray | None


def validate_trajectory(
    controller: str,
    controller_joints: Sequence[str],
    limits: np.ndarray,
    joint_names: Sequence[str],
    times: Sequence[float],
    positions: Sequence[Sequence[float]],
    velocities: Sequence[Sequence[float]] | None = None,
    required: Sequence[str] | None = None,
) -> Trajectory:
    """Check a trajectory against a controller; return it in the controller's joint order.

    Joints of ``controller_joints`` not named keep the value of a named ``required``
    sibling (only the hand's mimic finger uses this). Raises :class:`TrajectoryError`.
    """
    where = f"{controller} trajectory"
    names = list(joint_names)
    if not names:
        raise TrajectoryError(f"{where}: no joint names")
    if len(set(names)) != len(names):
        raise TrajectoryError(f"{where}: duplicate joint names {names}")
    unknown = [n for n in names if n not in controller_joints]
    if unknown:
        raise TrajectoryError(
            f"{where}: unknown joints {unknown}; this controller has {list(controller_joints)}"
        )
    required = list(controller_joints if required is None else required)
    missing = [n for n in required if n not in names]
    if missing:
        raise TrajectoryError(f"{where}: missing joints {missing} (all of {required} needed)")
    n_pts = len(positions)
    if n_pts == 0:
        raise TrajectoryError(f"{where}: no points")
    if len(times) != n_pts:
        raise TrajectoryError(f"{where}: {len(times)} times for {n_pts} points")
    t = np.asarray(times, dtype=np.float64)
    if not np.all(np.isfinite(t)):
        raise TrajectoryError(f"{where}: non-finite time_from_start")
    if t[0] < 0 or np.any(np.diff(t) <= 0):
        raise TrajectoryError(
            f"{where}: time_from_start must be >= 0 and strictly increasing, got {t.tolist()}"
        )
    pos = _matrix(where, "positions", positions, n_pts, len(names))
    vel = None
    if velocities is not None and any(len(v) for v in velocities):
        vel = _matrix(where, "velocities", velocities, n_pts, len(names))
    # reorder into controller order; unnamed joints copy their required sibling
    src = [names.index(j) if j in names else names.index(required[0]) for j in controller_joints]
    pos_c = pos[:, src]
    vel_c = vel[:, src] if vel is not None else None
    lo, hi = limits[:, 0] - LIMIT_TOLERANCE, limits[:, 1] + LIMIT_TOLERANCE
    bad = (pos_c < lo) | (pos_c > hi)
    if bad.any():
        k, j = map(int, np.argwhere(bad)[0])
        raise TrajectoryError(
            f"{where}: point {k} puts {controller_joints[j]} at {pos_c[k, j]:.4f}, outside its "
            f"limits [{limits[j, 0]:.4f}, {limits[j, 1]:.4f}]"
        )
    return Trajectory(
        times=t, positions=np.clip(pos_c, limits[:, 0], limits[:, 1]), velocities=vel_c
    )


def _matrix(where: str, what: str, rows, n: int, m: int) -> np.ndarray:
    for k, row in enumerate(rows):
        if len(row) != m:
            raise TrajectoryError(f"{where}: point {k} has {len(row)} {what} for {m} joints")
    arr = np.asarray([list(r) for r in rows], dtype=np.float64).reshape(n, m)
    if not np.all(np.isfinite(arr)):
        k = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise TrajectoryError(f"{where}: point {k} has non-finite {what}")
    return arr


class TrajectoryFollower:
    """Setpoints of one controller over time (the JTC interpolation)."""

    def __init__(self, joints: Sequence[str], hold: np.ndarray) -> None:
        self.joints = tuple(joints)
        self._hold = np.asarray(hold, dtype=np.float64).copy()
        self._traj: Trajectory | None = None
        self._start = 0.0
        self._q0 = self._hold.copy()
        self._zero = np.zeros_like(self._hold)
        self._zero.setflags(write=False)

    def start(self, traj: Trajectory, start_time: float, q_now: np.ndarray) -> None:
        """Follow ``traj`` from ``start_time`` [s], beginning at the current ``q_now``."""
        self._traj = traj
        self._start = float(start_time)
        self._q0 = np.asarray(q_now, dtype=np.float64).copy()

    def hold(self, q: np.ndarray) -> None:
        """Stop any trajectory and hold ``q``."""
        self._traj = None
        self._hold = np.asarray(q, dtype=np.float64).copy()

    @property
    def active(self) -> bool:
        return self._traj is not None

    def goal(self) -> np.ndarray:
        return self._traj.positions[-1].copy() if self._traj is not None else self._hold.copy()

    def setpoint(self, t: float) -> np.ndarray:
        """Position setpoint at simulated time ``t`` [s]."""
        return self.sample(t)[0]

    def sample(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Position and velocity setpoints at simulated time ``t`` [s]."""
        tr = self._traj
        if tr is None:
            return self._hold, self._zero
        zero = self._zero
        s = t - self._start
        if s <= 0.0:
            return self._q0, zero
        lead = tr.times[0] > 0  # the current position is the implicit first point
        times = np.concatenate([[0.0], tr.times]) if lead else tr.times
        pos = np.vstack([self._q0, tr.positions]) if lead else tr.positions
        if s >= times[-1]:
            self._hold = tr.positions[-1].copy()
            self._traj = None
            return self._hold, zero
        k = int(np.searchsorted(times, s, side="right") - 1)
        t0, t1 = times[k], times[k + 1]
        h = t1 - t0
        u = (s - t0) / h
        p0, p1 = pos[k], pos[k + 1]
        if tr.velocities is None:
            return p0 + (p1 - p0) * u, (p1 - p0) / h
        vel = np.vstack([zero, tr.velocities]) if lead else tr.velocities
        m0, m1 = vel[k] * h, vel[k + 1] * h
        q = (
            (2 * u**3 - 3 * u**2 + 1) * p0
            + (u**3 - 2 * u**2 + u) * m0
            + (-2 * u**3 + 3 * u**2) * p1
            + (u**3 - u**2) * m1
        )
        dq = (
            (6 * u**2 - 6 * u) * p0
            + (3 * u**2 - 4 * u + 1) * m0
            + (-6 * u**2 + 6 * u) * p1
            + (3 * u**2 - 2 * u) * m1
        ) / h
        return q, dq


class SimDriver:
    """Steps a :class:`SimWorld` and makes its arm and hand follow joint trajectories.

    Thread-safe: ``submit``/``reset`` may be called from other threads than ``step``.
    """

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self._lock = threading.RLock()
        q = world.joint_positions()
        self.arm = TrajectoryFollower(ARM_JOINTS, q[:7])
        self.hand = TrajectoryFollower(HAND_JOINTS, q[7:9])
        self.hand.hold(np.full(2, world.gripper_width() / 2))
        self._arm_limits = world.arm_limits
        self._hand_limits = world.hand_limits

    @property
    def time(self) -> float:
        return self.world.time

    @property
    def lock(self) -> threading.RLock:
        """Hold it to read several world quantities from one physics state."""
        return self._lock

    def submit(
        self,
        controller: str,
        joint_names: Sequence[str],
        times: Sequence[float],
        positions: Sequence[Sequence[float]],
        velocities: Sequence[Sequence[float]] | None = None,
        start_time: float | None = None,
    ) -> Trajectory:
        """Validate and start a trajectory on ``"arm"`` or ``"hand"``; ``start_time`` [s]
        of simulated time (None or 0: now). Raises TrajectoryError (nothing changes)."""
        if controller == "arm":
            traj = validate_trajectory(
                "arm", ARM_JOINTS, self._arm_limits, joint_names, times, positions, velocities
            )
            follower, idx = self.arm, slice(0, 7)
        elif controller == "hand":
            traj = validate_trajectory(
                "hand",
                HAND_JOINTS,
                self._hand_limits,
                joint_names,
                times,
                positions,
                velocities,
                required=[n for n in HAND_JOINTS if n in joint_names][:1] or [HAND_JOINTS[0]],
            )
            follower, idx = self.hand, slice(7, 9)
        else:
            raise TrajectoryError(f"controller {controller!r} is not one of 'arm', 'hand'")
        with self._lock:
            now = self.world.time
            start = now if not start_time else float(start_time)
            q_now = follower.setpoint(now) if follower.active else self.world.joint_positions()[idx]
            follower.start(traj, start, q_now)
        return traj

    def step(self, n: int = 1) -> None:
        """Advance ``n`` physics steps; servo targets are updated every
        :data:`CONTROL_STEPS` steps (250 Hz with the 2 ms timestep, like a JTC update rate)."""
        with self._lock:
            w = self.world
            left = int(n)
            while left > 0:
                k = min(CONTROL_STEPS, left)
                t = w.time
                q, dq = self.arm.sample(t)
                hand = self.hand.setpoint(t)
                w._set_targets_unchecked(q, dq, float(hand[0] + hand[1]))
                w.step(k)
                left -= k

    def reset(self, seed: int | None = None) -> None:
        """Reset the world (objects re-dropped, arm home) and hold the home pose.

        Simulated time keeps running across the reset: nodes following ``/clock`` (timers,
        timeouts, message stamps) expect it never to go backwards.
        """
        with self._lock:
            t = self.world.time
            self.world.reset(seed)
            self.world.data.time = t
            q = self.world.joint_positions()
            self.arm.hold(q[:7])
            self.hand.hold(np.full(2, self.world.gripper_width() / 2))

    def idle(self) -> bool:
        """No trajectory running on either controller."""
        return not (self.arm.active or self.hand.active)
