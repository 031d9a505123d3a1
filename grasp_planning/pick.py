"""Pick-and-place: plan every segment of a pick, then run them as a state machine.

ROS-free: :class:`PickAndPlace` is given callables that send an arm trajectory, send a
gripper width, read the latest joint state and tell the time (the executor node wires
them to topics; tests wire them to a simulated robot). Sequence:
pre-grasp -> approach -> close -> verify hold (finger gap above a threshold) -> lift ->
place above the bin -> [lower into the bin until contact] -> release -> retreat -> home.
Every arm segment waits for the joint state to reach its goal within a timeout;
:meth:`PickAndPlace.stop` halts at once.

The guarded lower (``PickParams.place_descent`` > 0) moves the held object straight down
into the bin and stops as soon as the joint efforts say something pushes up on the hand
(the estimated wrench, ``-pinv(J^T) (tau - tau_start - (g(q) - g(q_start)))`` with the
model's gravity torques ``g``, has an upward force above ``contact_force``), so a tall
object is set down on the bin floor or on what already lies there instead of being
dropped from above the rim. It needs joint efforts (:attr:`RobotIO.joint_effort`):
without them the object is released above the rim, and if they stop during the lower the
arm stops there too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from grasp_core.cell import CellLayout
from grasp_core.errors import GraspBringupError
from grasp_core.grasp import Grasp
from grasp_core.se3 import axis_angle_to_matrix, make_transform, rot_x, rot_z
from grasp_core.validation import require_range
from grasp_planning.collision import PlanningScene
from grasp_planning.errors import MotionPlanningError
from grasp_planning.grasp_filter import RankedGrasp
from grasp_planning.ik import solve_batch
from grasp_planning.motion import (
    MotionParams,
    MotionPlanner,
    Trajectory,
    check_trajectory,
    hold_trajectory,
    start_from,
    stop_trajectory,
    time_parameterize,
)
from grasp_planning.robot import RobotModel
from grasp_planning.world import place_position

if TYPE_CHECKING:
    from grasp_planning.backend import PlanningBackend


#: The fingers must stop at least this far [m] above their closing target to count as
#: holding (stopped by the object, not by reaching the target).
HOLD_MARGIN = 0.002
#: The fingers must end at least this much below their pre-grasp opening [m] for a hold.
FINGERS_MOVED = 0.002
#: The fingers count as at rest when their gap changes less than this [m] over
#: ``GRIPPER_STILL_WINDOW`` [s] (5 mm/s; a Franka hand's width reads to ~0.1 mm).
GRIPPER_STILL = 0.0005
GRIPPER_STILL_WINDOW = 0.1
#: A held object is laid down only from a grasp whose approach is within this angle [rad]
#: of straight down (it then hangs along the approach axis, as ``hang`` assumes).
LAY_MAX_TILT = np.radians(30.0)
#: Room [m] left between a laid-down object's ends and the bin walls.
LAY_MARGIN = 0.01
#: Largest joint move [rad] accepted for recovery's straight lift (else another IK branch).
RECOVER_MAX_JOINT_STEP = 0.5


class PickState(str, enum.Enum):
    IDLE = "idle"
    PLANNING = "planning"
    PREGRASP = "pregrasp"
    APPROACH = "approach"
    CLOSE = "close"
    VERIFY = "verify"
    LIFT = "lift"
    PLACE = "place"
    LOWER = "lower"
    RELEASE = "release"
    RETREAT = "retreat"
    HOME = "home"
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class PickParams:
    """Distances [m], widths [m], times [s] of a pick.

    ``place_clearance``: TCP height above the bin rim when releasing, on top of the height
    the object hangs below the TCP; ``retreat_distance``: how far up after release;
    ``min_hold_width``: finger gap below which the grasp is deemed empty;
    ``close_width``: the fingers are commanded to ``min(close_width, grasp width)``, well
    below any object, so the hand's force limit (not the predicted width, often 1-3 cm
    off for a learned model) stops them on the object, like a Franka ``grasp`` with a
    small target width; the hold needs the gap to stay ``HOLD_MARGIN`` above that target
    and above ``min_hold_width``;
    ``open_full``: open the gripper fully before the approach (the collision checks
    assume fully open fingers, and a learned width or position 1-3 cm off then still
    straddles the object: with ``width + open_margin`` the approach stalled, the arm
    blocked short of its goal, in 6 of 21 single-object GG-CNN trials); else
    ``open_margin`` beyond the grasp width;
    ``goal_tolerance`` [rad]; ``timeout_factor`` / ``timeout_margin``: a segment must
    reach its goal within ``duration * factor + margin``; ``gripper_time``: time given to
    the gripper to move (also sent to its controller); ``gripper_settle``: how much longer
    the fingers may take to come to rest (0: not waited for); ``lay_down``: an object
    taller than ``lay_down_ratio`` times the bin's wall height, grasped top-down, is laid
    along the bin's longer side (:func:`lying_place_configurations`), else placed standing; ``retry_radius`` / ``retry_memory``: a grasp whose TCP lies within
    ``retry_radius`` of one that failed during execution in the last ``retry_memory``
    failed picks is tried only after every other feasible grasp (a model tends to
    propose the same failing grasp again while the scene is unchanged); a placed pick
    clears the memory, ``retry_memory`` 0 turns it off;
    ``place_descent``: how far [m] the hand may lower the object into the bin after the
    place, guarded (0: release above the rim); the object's bottom stops at least
    ``floor_margin`` above the bin floor; ``contact_force`` [N]: the upward force on the
    hand, estimated from the joint efforts, that ends the lower; ``lower_scaling``: the
    lower's velocity and acceleration scaling (slow: the arm's own inertia also moves the
    efforts, and a slow lower presses less before it stops); ``lower_settle`` [s]: the
    arm rests this long after the place before the efforts are read as the no-contact
    reference (they still swing as the arm and the held object come to rest).
    """

    place_clearance: float = 0.05
    retreat_distance: float = 0.08
    min_hold_width: float = 0.002
    close_width: float = 0.0
    open_margin: float = 0.02
    open_full: bool = True
    goal_tolerance: float = 0.02
    timeout_factor: float = 1.5
    timeout_margin: float = 2.0
    gripper_time: float = 1.0
    gripper_settle: float = 2.0
    lay_down: bool = False
    lay_down_ratio: float = 1.0
    poll_period: float = 0.01
    retry_radius: float = 0.02
    retry_memory: int = 3
    place_descent: float = 0.0
    floor_margin: float = 0.01
    contact_force: float = 15.0
    lower_scaling: float = 0.05
    lower_settle: float = 0.3

    def __post_init__(self) -> None:
        require_range("place_descent", self.place_descent, 0.0, 1.0)
        require_range("floor_margin", self.floor_margin, 0.0, 0.5)
        require_range("contact_force", self.contact_force, 0.0, None, low_inclusive=False)
        require_range("lower_scaling", self.lower_scaling, 0.0, 1.0, low_inclusive=False)
        require_range("lower_settle", self.lower_settle, 0.0, 10.0)
        require_range("gripper_settle", self.gripper_settle, 0.0, 30.0)
        require_range("lay_down_ratio", self.lay_down_ratio, 0.0, 10.0)


@dataclass(frozen=True)
class Segment:
    """One step of a pick: an arm ``trajectory``, a gripper ``width`` [m], or ``rise_to``:
    back up to this configuration [rad] from wherever a guarded lower stopped (planned
    when it runs, the lower's path being checked already)."""

    state: PickState
    trajectory: Trajectory | None = None
    width: float | None = None
    rise_to: np.ndarray | None = None


@dataclass(frozen=True)
class PickPlan:
    """``place``: "standing" (the object released as it stood on the table) or "lying"
    (laid along the bin's longer side, :func:`lying_place_configurations`)."""

    grasp: RankedGrasp
    segments: tuple[Segment, ...]
    planning_time: float
    place: str = "standing"

    @property
    def arm_duration(self) -> float:
        return float(sum(s.trajectory.duration for s in self.segments if s.trajectory))


@dataclass(frozen=True)
class PickResult:
    """``success``; the ``state`` reached (DONE, FAILED, STOPPED); a human ``reason``;
    the grasp used (None if none was feasible); times [s]."""

    success: bool
    state: PickState
    reason: str
    grasp: RankedGrasp | None = None
    planning_time: float = 0.0
    execution_time: float = 0.0
    details: dict = field(default_factory=dict)


def place_configuration(
    robot: RobotModel,
    scene: PlanningScene,
    layout: CellLayout,
    q_lift: np.ndarray,
    hang: float,
    clearance: float,
    target: str | None,
    R_grasp: np.ndarray | None = None,
) -> np.ndarray:
    """Configuration [rad] with the TCP over the bin centre and the object (hanging
    ``hang`` [m] below the TCP) ``clearance`` [m] above the rim; yaw chosen among 8 for the
    solution closest to ``q_lift``. With ``R_grasp`` (the TCP orientation the object was
    grasped with) the hand keeps that orientation up to the yaw, so the object arrives as
    it stood on the table and ``hang`` holds (a 35 deg tilted rim grasp turned to point
    down swung a bowl into the bin walls); the approach pointing down is the fallback."""
    p = place_position(layout, clearance + hang)
    yaws = np.linspace(-np.pi, np.pi, 8, endpoint=False)
    orientations = [rot_x(np.pi)] if R_grasp is None else [R_grasp, rot_x(np.pi)]
    for R in orientations:
        try:
            return _place_ik(robot, scene, q_lift, p, yaws, R, target)
        except MotionPlanningError as exc:
            last = exc
    raise last


def lying_place_configurations(
    robot: RobotModel,
    scene: PlanningScene,
    layout: CellLayout,
    q_lift: np.ndarray,
    R_grasp: np.ndarray,
    size: np.ndarray,
    hang: float,
    clearance: float,
    taller_than: float | None = None,
) -> list[np.ndarray] | None:
    """Configurations [rad] laying a held object taller than ``taller_than`` [m] (default:
    the bin's walls) along the bin's longer side, closest to ``q_lift`` first (up to four:
    two turns of the hand, two ways to tip it), or None when that does not apply (the
    object is not that tall or does not fit lying, or the grasp is not top-down within
    ``LAY_MAX_TILT``).

    The hand is turned about the grasp's closing axis to lie along the bin's long side,
    then tipped 90 deg about the horizontal axis across it: the approach (along which the
    object hangs ``hang`` [m] below the TCP) becomes horizontal and the fingers vertical,
    so the object's weight is held by the friction of both finger pads, not by the torsion
    of a pivot between them. The object's middle is over the bin centre, its underside
    ``clearance`` [m] above the rim. Meant for a tall object that, released standing on
    the objects already in a shallow bin, tips over its wall; in the simulated clutter runs
    it did not keep more objects in the bin (docs/planning.md), so ``lay_down`` is off by
    default.
    Raises :class:`MotionPlanningError` when no such configuration is reachable and
    collision-free with the object held."""
    size = np.asarray(size, dtype=float)
    height = float(size[2])
    long_axis = 0 if layout.bin_size[0] >= layout.bin_size[1] else 1
    low = layout.bin_size[2] if taller_than is None else taller_than
    if height <= low or height + 2 * LAY_MARGIN > layout.bin_size[long_axis]:
        return None
    if np.arccos(np.clip(-R_grasp[2, 2], -1.0, 1.0)) > LAY_MAX_TILT:
        return None
    u = np.eye(3)[long_axis]  # the bin's long side
    across = np.cross([0.0, 0.0, 1.0], u)  # horizontal, across it
    c = R_grasp[:, 1]  # the fingers' closing axis
    turn = np.arctan2(u[1], u[0]) - np.arctan2(c[1], c[0])
    radius = 0.5 * float(max(size[0], size[1]))  # the object's half thickness, lying
    candidates = []
    for yaw in (turn, turn + np.pi):
        for tip in (np.pi / 2, -np.pi / 2):
            R = axis_angle_to_matrix(across, tip) @ rot_z(yaw) @ R_grasp
            approach = R[:, 2]
            p = np.array([*layout.bin_center[:2], layout.bin_top_z + clearance + radius])
            p[:2] -= approach[:2] * (hang - height / 2)  # the object's middle over the centre
            candidates.append((R, p))
    last: MotionPlanningError | None = None
    found = []
    for R, p in candidates:
        try:
            found.append(_place_ik(robot, scene, q_lift, p, np.zeros(1), R, None))
        except MotionPlanningError as exc:
            last = exc
    if not found:
        raise MotionPlanningError(f"no configuration laying the object in the bin ({last})")
    return sorted(found, key=lambda q: float(np.abs(q - q_lift).max()))


def _place_ik(
    robot: RobotModel,
    scene: PlanningScene,
    q_lift: np.ndarray,
    p: np.ndarray,
    yaws: np.ndarray,
    R: np.ndarray,
    target: str | None,
) -> np.ndarray:
    T = np.array([make_transform(rot_z(y) @ R, p) for y in yaws])
    ignore = (target,) if target else ()
    rng = np.random.default_rng(0)
    # seeds: the lift configuration (closest), home, then a few random ones
    for seed_q in (q_lift, robot.home, *robot.random_configurations(4, rng)):
        Q, ok = solve_batch(robot, T, np.broadcast_to(seed_q, (len(yaws), robot.nq)), max_iter=100)
        cand = [i for i in np.flatnonzero(ok) if not scene.in_collision(Q[i], ignore=ignore)]
        if cand:
            break
    if not cand:
        raise MotionPlanningError(
            f"no collision-free place configuration above the bin at {p.round(3)}"
        )
    best = min(cand, key=lambda i: float(np.abs(Q[i] - q_lift).max()))
    return Q[best]


def _approach_waypoints(
    planner: MotionPlanner, ranked: RankedGrasp, allowed: tuple[tuple[str, str], ...]
) -> np.ndarray:
    """Straight approach pre-grasp -> grasp; if IK along the line fails from the
    pre-grasp side, it is solved backwards from the grasp configuration (retreat) and
    reversed, which also moves the pre-grasp configuration onto that branch."""
    try:
        return planner.plan_cartesian(ranked.q_pregrasp, ranked.T_base_tcp, allowed=allowed)
    except MotionPlanningError as forward:
        T_pre = planner.robot.fk(ranked.q_pregrasp)
        try:
            return planner.plan_cartesian(ranked.q_grasp, T_pre, allowed=allowed)[::-1].copy()
        except MotionPlanningError:
            raise MotionPlanningError(f"approach: {forward}") from forward


def plan_pick(
    planner: MotionPlanner,
    ranked: RankedGrasp,
    q_current: np.ndarray,
    layout: CellLayout,
    params: PickParams = PickParams(),
) -> PickPlan:
    """Plan every segment of a pick of ``ranked`` starting at ``q_current`` (all
    time-parameterised). Raises :class:`MotionPlanningError` naming the failing segment."""
    t0 = time.perf_counter()
    robot, scene = planner.robot, planner.scene
    target = ranked.target
    allowed = scene.finger_contacts(target)
    ignore = (target,) if target else ()
    width_open = (
        robot.gripper.max_width
        if params.open_full
        else min(robot.gripper.max_width, ranked.grasp.width + params.open_margin)
    )
    segs: list[Segment] = [Segment(PickState.PREGRASP, width=width_open)]

    def step(state: PickState, make: Callable[[], Trajectory]) -> Trajectory:
        try:
            traj = make()
        except MotionPlanningError as exc:
            raise MotionPlanningError(f"{state.value}: {exc}") from exc
        segs.append(Segment(state, trajectory=traj))
        return traj

    W_approach = _approach_waypoints(planner, ranked, allowed)
    step(PickState.PREGRASP, lambda: planner.joint_trajectory(q_current, W_approach[0]))
    grasp_traj = step(PickState.APPROACH, lambda: planner.timed(W_approach))
    close = max(0.0, min(params.close_width, ranked.grasp.width))
    segs.append(Segment(PickState.CLOSE, width=close))
    q_grasp = grasp_traj.end
    hang = 0.0
    if target is not None:
        hang = max(0.0, float(ranked.T_base_tcp[2, 3] - scene.objects[target].aabb_min[2]))
    # lift straight up by the lift height, or higher: to the transport height at which the
    # object is released over the bin, so the move there is level and short
    T_lift = robot.fk(ranked.q_lift)
    T_high = T_lift.copy()
    T_high[2, 3] = max(T_lift[2, 3], place_position(layout, params.place_clearance + hang)[2])

    def lift() -> Trajectory:
        try:
            return planner.cartesian_trajectory(q_grasp, T_high, ignore=ignore)
        except MotionPlanningError:  # too high for this arm pose: the checked 10 cm lift
            return planner.cartesian_trajectory(q_grasp, T_lift, ignore=ignore)

    lift_traj = step(PickState.LIFT, lift)
    # the transport to the bin is checked with the target attached to the hand
    carry = scene.carrying(target, q_grasp) if target is not None else contextlib.nullcontext()
    lying = _lying_place(planner, layout, params, ranked, q_grasp, lift_traj.end, hang, width_open)
    if lying is not None:
        segs.extend(lying)
        return PickPlan(ranked, tuple(segs), time.perf_counter() - t0, "lying")
    with carry:
        try:
            q_place = place_configuration(
                robot,
                scene,
                layout,
                lift_traj.end,
                hang,
                params.place_clearance,
                None,
                ranked.T_base_tcp[:3, :3],
            )
        except MotionPlanningError as exc:
            raise MotionPlanningError(f"place: {exc}") from exc
        place_traj = step(PickState.PLACE, lambda: planner.joint_trajectory(lift_traj.end, q_place))
        lower = _lower_trajectory(planner, layout, params, q_place, hang, ignore)
    if lower is not None:
        segs.append(Segment(PickState.LOWER, trajectory=lower))
    segs.append(Segment(PickState.RELEASE, width=width_open))
    if lower is not None:
        segs.append(Segment(PickState.RETREAT, rise_to=q_place))
    T_retreat = robot.fk(place_traj.end)
    T_retreat[2, 3] += params.retreat_distance
    retreat = step(
        PickState.RETREAT,
        lambda: planner.cartesian_trajectory(place_traj.end, T_retreat, ignore=ignore),
    )
    step(PickState.HOME, lambda: planner.joint_trajectory(retreat.end, robot.home, ignore=ignore))
    return PickPlan(ranked, tuple(segs), time.perf_counter() - t0)


def _lying_place(
    planner: MotionPlanner,
    layout: CellLayout,
    params: PickParams,
    ranked: RankedGrasp,
    q_grasp: np.ndarray,
    q_lift: np.ndarray,
    hang: float,
    width_open: float,
) -> list[Segment] | None:
    """The segments from the lift on that lay the held target down
    (:func:`lying_place_configurations`): the transport, planned with the target attached,
    the release, a level retreat sliding the fingers back off the object along the
    approach, and home. None when laying does not apply or any of them has no path (the
    object is then placed standing)."""
    target = ranked.target
    if not params.lay_down or target is None:
        return None
    robot, scene = planner.robot, planner.scene
    obj = scene.objects[target]
    ignore = (target,)
    try:
        with scene.carrying(target, q_grasp):
            options = lying_place_configurations(
                robot,
                scene,
                layout,
                q_lift,
                ranked.T_base_tcp[:3, :3],
                obj.aabb_max - obj.aabb_min,
                hang,
                params.place_clearance,
                params.lay_down_ratio * float(layout.bin_size[2]),
            )
    except MotionPlanningError:
        return None
    for q_lie in options or ():
        try:
            with scene.carrying(target, q_grasp):
                place = planner.joint_trajectory(q_lift, q_lie)
            T_back = robot.fk(q_lie)
            T_back[:3, 3] -= T_back[:3, 2] * params.retreat_distance
            retreat = planner.cartesian_trajectory(q_lie, T_back, ignore=ignore)
            home = planner.joint_trajectory(retreat.end, robot.home, ignore=ignore)
        except MotionPlanningError:
            continue
        break
    else:
        return None
    return [
        Segment(PickState.PLACE, trajectory=place),
        Segment(PickState.RELEASE, width=width_open),
        Segment(PickState.RETREAT, trajectory=retreat),
        Segment(PickState.HOME, trajectory=home),
    ]


def _lower_trajectory(
    planner: MotionPlanner,
    layout: CellLayout,
    params: PickParams,
    q_place: np.ndarray,
    hang: float,
    ignore: tuple[str, ...],
) -> Trajectory | None:
    """Straight down from the place configuration by ``place_descent``, at most until the
    object's bottom is ``floor_margin`` above the bin floor, checked with the object held
    (when that path collides, e.g. the fingers of an object of unknown size would reach
    the floor, 2 cm shorter ones are tried); None when there is nothing to lower or no
    such path (the object is then released above the rim)."""
    T_place = planner.robot.fk(q_place)
    floor = layout.bin_center[2] + layout.bin_wall + params.floor_margin
    slow = dataclasses.replace(
        planner.params,
        velocity_scaling=params.lower_scaling,
        acceleration_scaling=params.lower_scaling,
    )
    depth = min(params.place_descent, T_place[2, 3] - hang - floor)
    while depth >= 0.005:
        T = T_place.copy()
        T[2, 3] -= depth
        try:
            W = planner.plan_cartesian(q_place, T, ignore=ignore)
            traj = time_parameterize(planner.robot, W, slow)
            check_trajectory(planner.robot, traj, slow)
            return traj
        except MotionPlanningError:
            depth -= 0.02
    return None


def contact_wrench(robot: RobotModel, q: np.ndarray, d_effort: np.ndarray) -> np.ndarray:
    """External wrench [N, N m] (base frame, at the TCP) that explains the change
    ``d_effort`` [N m] of the arm's joint efforts at ``q``: the servos answer a push ``F``
    with ``-J^T F``."""
    return -np.linalg.pinv(robot.jacobian(q).T) @ d_effort


@dataclass
class RobotIO:
    """How the state machine talks to the robot.

    ``send_arm(traj)`` starts an arm trajectory (replacing any running one);
    ``send_gripper(width [m], duration [s])`` commands the fingers; ``joint_state()``
    returns the latest ``{joint name: position}`` (or None before the first message);
    ``now()`` the time [s] on the robot's clock; ``on_state(state, text)`` is told
    about every transition; ``joint_effort()`` the latest ``{joint name: effort [N m]}``
    or None (no efforts: the guarded lower is skipped).
    """

    send_arm: Callable[[Trajectory], None]
    send_gripper: Callable[[float, float], None]
    joint_state: Callable[[], dict[str, float] | None]
    now: Callable[[], float] = time.monotonic
    on_state: Callable[[PickState, str], None] = lambda s, t: None
    joint_effort: Callable[[], dict[str, float] | None] = lambda: None


class _NoState(Exception):
    """No fresh joint state to hold the arm at."""


class _Halt(Exception):
    def __init__(self, state: PickState, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason


class PickAndPlace:
    """Filter, plan and execute picks; one at a time, stoppable from another thread."""

    def __init__(
        self,
        backend: PlanningBackend,
        io: RobotIO,
        params: PickParams = PickParams(),
        max_plan_attempts: int = 5,
    ) -> None:
        self.backend = backend
        self.robot = backend.robot
        self.io = io
        self.params = params
        self.max_plan_attempts = max_plan_attempts
        self.state = PickState.IDLE
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._running: tuple[Trajectory, float] | None = None  # last arm motion, sent at
        self._busy = threading.Lock()
        #: TCP positions [m, base frame] of grasps that failed during execution, newest last
        self.failed_positions: list[np.ndarray] = []

    # ---- public -------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy.locked()

    def stop(self) -> None:
        """Halt at once: a running motion brakes to rest along its path
        (:func:`~grasp_planning.motion.stop_trajectory`), an idle arm is held where it
        is, and the pick ends STOPPED. Never raises (a service callback calls it)."""
        with self._send_lock:  # no segment can be sent between the flag and the hold
            self._stop.set()
            try:
                self.io.send_arm(self._halt_trajectory())
            except _NoState:
                pass  # no fresh joint state: nothing is sent (the controller keeps its own)
            except GraspBringupError as exc:  # never out of a service callback
                self.io.on_state(PickState.STOPPED, f"stop: no halt trajectory: {exc}")

    def _halt_trajectory(self) -> Trajectory:
        if self._running is not None:
            traj, sent = self._running
            t = self.io.now() - sent
            if t < traj.duration:
                return stop_trajectory(self.robot, traj, t, self._motion_params())
        q = self.current_q()
        if q is None:
            raise _NoState()
        return hold_trajectory(self.robot, q)

    def _motion_params(self) -> MotionParams:
        planner = getattr(self.backend, "planner", None)
        return getattr(planner, "params", None) or MotionParams()

    def current_q(self) -> np.ndarray | None:
        return self._arm_vector(self.io.joint_state())

    def current_effort(self) -> np.ndarray | None:
        return self._arm_vector(self.io.joint_effort())

    def _arm_vector(self, values: dict[str, float] | None) -> np.ndarray | None:
        if values is None or any(n not in values for n in self.robot.joint_names):
            return None
        q = np.array([values[n] for n in self.robot.joint_names], dtype=float)
        return q if np.all(np.isfinite(q)) else None  # NaN: unknown, never planned from

    def finger_width(self) -> float | None:
        js = self.io.joint_state()
        g = self.robot.gripper
        if js is None or any(n not in js for n in g.joints):
            return None
        return g.width_from_joints(np.array([js[n] for n in g.joints]))

    def plan(
        self, grasps: Sequence[Grasp], q_current: np.ndarray
    ) -> tuple[PickPlan | None, str, dict]:
        """Filter ``grasps`` and plan the best feasible ones until one plan succeeds."""
        t0 = time.perf_counter()
        rep = self.backend.filter(grasps, q_current)
        details: dict = {
            "candidates": len(grasps),
            "feasible": len(rep.ranked),
            "rejected": rep.reasons(),
        }
        if not rep.ranked:
            return (
                None,
                f"no feasible grasp among {len(grasps)} candidates {rep.reasons()}",
                details,
            )
        ranked_grasps = self.demote_failed(rep.ranked)
        details["demoted"] = sum(a is not b for a, b in zip(ranked_grasps, rep.ranked, strict=True))
        errors = []
        for ranked in ranked_grasps[: self.max_plan_attempts]:
            try:
                plan = self.backend.plan_pick(ranked, q_current, self.params)
                details["planning_time"] = time.perf_counter() - t0
                return plan, "", details
            except MotionPlanningError as exc:
                errors.append(str(exc))
        details["plan_errors"] = errors
        return None, f"no motion plan for the best {len(errors)} grasps: {errors[0]}", details

    def demote_failed(self, ranked: Sequence[RankedGrasp]) -> list[RankedGrasp]:
        """``ranked`` with the grasps near a recent execution failure moved to the end
        (order otherwise kept)."""
        if not self.failed_positions or self.params.retry_memory <= 0:
            return list(ranked)
        failed = np.array(self.failed_positions)
        pos = np.array([r.T_base_tcp[:3, 3] for r in ranked])
        near = (
            np.linalg.norm(pos[:, None] - failed[None], axis=2) <= self.params.retry_radius
        ).any(1)
        return [r for r, n in zip(ranked, near, strict=True) if not n] + [
            r for r, n in zip(ranked, near, strict=True) if n
        ]

    def _remember(self, result: PickResult) -> None:
        if result.state is PickState.DONE:
            self.failed_positions.clear()
        elif result.state is PickState.FAILED and result.grasp is not None:
            self.failed_positions.append(np.array(result.grasp.T_base_tcp[:3, 3], dtype=float))
            del self.failed_positions[
                : max(0, len(self.failed_positions) - self.params.retry_memory)
            ]

    def pick(self, grasps: Sequence[Grasp]) -> PickResult:
        """Filter, plan and execute one pick-and-place; never raises for planning or
        execution failures (they are in the result)."""
        if not self._busy.acquire(blocking=False):
            return PickResult(False, PickState.FAILED, "a pick is already running")
        try:
            self._stop.clear()
            self._set(PickState.PLANNING, f"{len(grasps)} candidates")
            q = self.current_q()
            if q is None:
                return self._end(PickResult(False, PickState.FAILED, "no joint state received yet"))
            t0 = time.perf_counter()
            plan, reason, details = self.plan(grasps, q)
            if plan is None:
                return self._end(PickResult(False, PickState.FAILED, reason, details=details))
            if self._stop.is_set():
                return self._end(PickResult(False, PickState.STOPPED, "stopped before motion"))
            result = self.execute(plan, planning_time=time.perf_counter() - t0, details=details)
            self._remember(result)
            return result
        finally:
            self._busy.release()

    def execute(
        self, plan: PickPlan, planning_time: float = 0.0, details: dict | None = None
    ) -> PickResult:
        """Run the segments of ``plan``; verify the hold after closing."""
        t0 = self.io.now()
        details = dict(details or {})
        try:
            for seg in plan.segments:
                self._check_stop()
                if seg.state is PickState.PLACE:
                    details["place"] = plan.place  # how it was placed, once it is
                self._set(seg.state, "")
                if seg.rise_to is not None:
                    self._rise(seg)
                elif seg.state is PickState.LOWER:
                    self._lower(seg)
                elif seg.trajectory is not None:
                    self._run_arm(seg)
                else:
                    self._move_gripper(float(seg.width))
                if seg.state in (PickState.CLOSE, PickState.LIFT):
                    self._verify_hold(plan)  # after closing, and again once lifted
        except _Halt as h:
            res = PickResult(
                False, h.state, h.reason, plan.grasp, planning_time, self.io.now() - t0, details
            )
            if h.state is PickState.FAILED:
                left = self._recover(h.reason)
                if left:
                    res = dataclasses.replace(res, reason=f"{h.reason}; not home: {left}")
            return self._end(res)
        return self._end(
            PickResult(
                True,
                PickState.DONE,
                "placed in the bin",
                plan.grasp,
                planning_time,
                self.io.now() - t0,
                details,
            )
        )

    # ---- internals ----------------------------------------------------------------------

    def _set(self, state: PickState, text: str) -> None:
        self.state = state
        self.io.on_state(state, text)

    def _end(self, result: PickResult) -> PickResult:
        self._set(result.state, result.reason)
        return result

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Halt(PickState.STOPPED, f"stopped during {self.state.value}")

    def _wait(self, seconds: float) -> None:
        end = self.io.now() + seconds
        while self.io.now() < end:
            self._check_stop()
            self._stop.wait(self.params.poll_period)
        self._check_stop()

    def _move_gripper(self, width: float, must_settle: bool = True) -> None:
        """Command the fingers to ``width``, give them ``gripper_time``, then wait until
        they are at rest (``GRIPPER_STILL``), at most ``gripper_settle`` longer: a slow
        hand still closing would read as a hold, one still opening would meet the object
        on the approach. Still moving then: FAILED (with ``must_settle``; recovery goes
        on). Without a finger state there is nothing to wait for (the hold check then
        fails the pick)."""
        p = self.params
        self.io.send_gripper(width, p.gripper_time)
        self._wait(p.gripper_time)
        end = self.io.now() + p.gripper_settle
        w0 = self.finger_width()
        while p.gripper_settle > 0 and w0 is not None and np.isfinite(w0):
            self._wait(GRIPPER_STILL_WINDOW)
            w1 = self.finger_width()
            if w1 is None or not np.isfinite(w1) or abs(w1 - w0) <= GRIPPER_STILL:
                return
            if self.io.now() >= end:
                if must_settle:
                    raise _Halt(
                        PickState.FAILED,
                        f"{self.state.value}: fingers still moving "
                        f"{p.gripper_time + p.gripper_settle:.1f} s after the command "
                        f"(gap {w1:.4f} m, target {width:.4f} m)",
                    )
                return
            w0 = w1

    def _lower(self, seg: Segment) -> None:
        """The guarded lower: stops at the first contact, or where the efforts stop coming;
        skipped without joint efforts."""
        self._wait(self.params.lower_settle)
        e0, q0 = self.current_effort(), self.current_q()
        if e0 is None or q0 is None:
            self._set(seg.state, "no joint efforts: releasing above the rim")
            return
        g0 = self.robot.gravity(q0)
        stopped: list[tuple[str, np.ndarray]] = []  # why, and where

        def touched(q: np.ndarray) -> bool:
            e = self.current_effort()
            if e is None:
                stopped.append(("joint efforts lost", q))
                return True
            # what the descent itself changes: the gravity torques of the arm's new pose
            push = (e - e0) - (self.robot.gravity(q) - g0)
            if contact_wrench(self.robot, q, push)[2] <= self.params.contact_force:
                return False
            stopped.append(("contact", q))
            return True

        if self._run_arm(seg, touched):
            why, q = stopped[0]
            self._set(seg.state, f"{why}, TCP at z = {self.robot.fk(q)[2, 3]:.3f} m")
        else:
            self._set(seg.state, "no contact down to the bin floor")

    def _rise(self, seg: Segment) -> None:
        """Back up to ``seg.rise_to`` from where the lower ended (the hand straddles the
        object it just set down, so no scene object is checked, as in recovery)."""
        q = self.current_q()
        if q is None:
            raise _Halt(PickState.FAILED, f"{seg.state.value}: no joint state")
        assert seg.rise_to is not None
        if np.abs(q - seg.rise_to).max() <= self.params.goal_tolerance:
            return
        try:
            traj = self.backend.plan_joint(q, seg.rise_to, ignore=tuple(self.backend.scene.objects))
        except MotionPlanningError as exc:
            raise _Halt(PickState.FAILED, f"{seg.state.value}: {exc}") from exc
        self._run_arm(Segment(seg.state, trajectory=traj))

    def _run_arm(self, seg: Segment, guard: Callable[[np.ndarray], bool] | None = None) -> bool:
        """Run ``seg``'s trajectory to its goal; with ``guard``, stop (hold) as soon as
        ``guard(q)`` is true and return True."""
        traj = seg.trajectory
        assert traj is not None
        q = self.current_q()
        if q is None:
            raise _Halt(PickState.FAILED, f"{seg.state.value}: no fresh joint state of the arm")
        if np.abs(q - traj.start).max() > 5 * self.params.goal_tolerance:
            raise _Halt(PickState.FAILED, f"{seg.state.value}: arm is not at the segment start")
        traj = start_from(self.robot, q, traj, self._motion_params())
        with self._send_lock:  # a stop either comes first (no send) or holds after this send
            self._check_stop()
            self.io.send_arm(traj)
            self._running = (traj, self.io.now())
        start = self.io.now()
        timeout = traj.duration * self.params.timeout_factor + self.params.timeout_margin
        goal = traj.end
        while True:
            self._check_stop()
            q = self.current_q()
            elapsed = self.io.now() - start
            if guard is not None and q is not None and guard(q):
                with self._send_lock:
                    self._check_stop()
                    self.io.send_arm(self._halt_trajectory())
                return True
            if (
                q is not None
                and elapsed >= traj.duration
                and np.abs(q - goal).max() <= self.params.goal_tolerance
            ):
                return False
            if elapsed > timeout:
                if q is not None:
                    self.io.send_arm(hold_trajectory(self.robot, q))
                err = float(np.abs(q - goal).max()) if q is not None else float("nan")
                raise _Halt(
                    PickState.FAILED,
                    f"{seg.state.value}: goal not reached in {timeout:.1f} s (error {err:.3f} rad)",
                )
            self._stop.wait(self.params.poll_period)

    def _verify_hold(self, plan: PickPlan) -> None:
        """Something is between the fingers: the gap is known, stayed above the closing
        target (they stopped on the object), and is below where they were opened to (they
        did close: a gripper that ignored the command, e.g. a real Franka hand behind
        franka_gripper's actions, shows its open gap)."""
        self._set(PickState.VERIFY, "")
        w = self.finger_width()
        close = next((sg.width for sg in plan.segments if sg.state is PickState.CLOSE), 0.0)
        opened = next((sg.width for sg in plan.segments if sg.state is PickState.PREGRASP), None)
        need = max(self.params.min_hold_width, float(close or 0.0) + HOLD_MARGIN)
        if w is None or not np.isfinite(w):
            raise _Halt(PickState.FAILED, f"grasp unknown: finger gap {w} (no finger state)")
        if w < need:
            raise _Halt(PickState.FAILED, f"grasp empty: finger gap {w:.4f} m < {need:.4f} m")
        if opened is not None and w > float(opened) - FINGERS_MOVED:
            raise _Halt(
                PickState.FAILED,
                f"fingers did not close: gap {w:.4f} m, opened to {float(opened):.4f} m "
                "(blocked at once by something as wide as the opening, or a gripper that "
                "ignores its commands: is its controller running?)",
            )

    def _recover(self, reason: str) -> str:
        """After a failure: open the gripper, lift the hand straight up by
        ``retreat_distance`` (every scene object ignored: the hand came down from above
        and may rest on the table or against the target, inside the collision padding,
        where no path home would start), then go home with only the perceived objects
        ignored. Returns "" when home was reached, else why not (the arm then stays where
        it is)."""
        if self._stop.is_set():
            return "stopped"
        q = self.current_q()
        if q is None:
            return "no joint state"
        scene = self.backend.scene
        everything = tuple(scene.objects)
        perceived = tuple(n for n in everything if n.startswith("object_"))
        try:
            self._move_gripper(self.robot.gripper.max_width, must_settle=False)
            T_up = self.robot.fk(q)
            T_up[2, 3] += self.params.retreat_distance
            q_up = self.backend.ik(T_up, q)
            if q_up is not None and np.abs(q_up - q).max() <= RECOVER_MAX_JOINT_STEP:
                try:
                    up = self.backend.plan_joint(q, q_up, ignore=everything)
                except MotionPlanningError:
                    pass  # try home from where the arm is
                else:
                    self._set(PickState.RETREAT, f"recovering after: {reason}")
                    self._run_arm(Segment(PickState.RETREAT, trajectory=up))
                    q = self.current_q()
            traj = self.backend.plan_joint(q, self.robot.home, ignore=perceived)
            self._set(PickState.HOME, f"recovering after: {reason}")
            self._run_arm(Segment(PickState.HOME, trajectory=traj))
        except MotionPlanningError as exc:
            return f"no path home: {exc}"
        except _Halt as h:
            return h.reason
        return ""
