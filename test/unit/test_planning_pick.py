"""Pick-and-place state machine driven against a kinematic stand-in for the controllers
(trajectories are followed exactly, on a clock running ``SPEEDUP`` times real time)."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

from grasp_core.cell import load_layout
from grasp_core.grasp import Grasp
from grasp_core.se3 import make_transform, rot_x, rot_z
from grasp_planning.backend import EmbeddedBackend
from grasp_planning.collision import PlanningScene
from grasp_planning.motion import MotionParams, Trajectory
from grasp_planning.pick import PickAndPlace, PickParams, PickState, RobotIO
from grasp_planning.robot import RobotModel, load_robot
from grasp_planning.scenarios import cluttered_scene
from grasp_planning.world import add_cell

SPEEDUP = 25.0
#: Arm efforts [N m] of the stand-in at rest (gravity and friction, as a real arm has)
REST_EFFORT = np.array([0.5, -20.0, 0.8, 15.0, -1.0, 2.0, 0.1])
#: Upward force [N] on the hand below the stand-in's ``contact_z``
CONTACT_PUSH = 20.0


class KinematicRobot:
    """Follows every trajectory exactly; fingers stop at ``object_width`` when closing.
    With ``efforts``, reports arm efforts: ``REST_EFFORT`` (an offset), the gravity torques
    of its pose, and the servos' answer to an upward push of ``CONTACT_PUSH`` while the TCP
    is below ``contact_z``."""

    def __init__(
        self,
        robot: RobotModel,
        object_width: float = 0.05,
        frozen: bool = False,
        efforts: bool = False,
        contact_z: float | None = None,
        speedup: float = SPEEDUP,
    ) -> None:
        self.robot = robot
        self.speedup = speedup
        self.efforts = efforts
        self.contact_z = contact_z
        #: efforts stop (None) while the TCP is below this height [m]
        self.efforts_above_z: float | None = None
        #: (state, arm configuration) at every transition
        self.visits: list[tuple[PickState, np.ndarray]] = []
        self.q = robot.home.copy()
        self.traj: Trajectory | None = None
        self.t_start = 0.0
        self.width = robot.gripper.max_width
        self.object_width = object_width
        self.frozen = frozen
        self.sent: list[Trajectory] = []
        self.states: list[PickState] = []
        #: len(sent) when each state was entered: its trajectory is sent[that index]
        self.sends_before: dict[PickState, int] = {}
        self._t0 = time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> float:
        return (time.monotonic() - self._t0) * self.speedup

    def _q(self) -> np.ndarray:
        if self.traj is None:
            return self.q
        return self.traj.position_at(self.now() - self.t_start)

    def send_arm(self, traj: Trajectory) -> None:
        with self._lock:
            self.sent.append(traj)
            if self.frozen:
                return
            self.q = self._q()
            self.traj, self.t_start = traj, self.now()

    def send_gripper(self, width: float, duration: float) -> None:
        self.width = max(width, self.object_width) if width < self.width else width

    def joint_state(self) -> dict[str, float]:
        with self._lock:
            q = self._q()
        js = dict(zip(self.robot.joint_names, q, strict=True))
        g = self.robot.gripper
        js.update(zip(g.joints, g.joint_positions(self.width), strict=True))
        return js

    def joint_effort(self) -> dict[str, float] | None:
        if not self.efforts:
            return None
        with self._lock:
            q = self._q()
        if self.efforts_above_z is not None and self.robot.fk(q)[2, 3] < self.efforts_above_z:
            return None
        F = np.zeros(6)
        if self.contact_z is not None and self.robot.fk(q)[2, 3] < self.contact_z:
            F[2] = CONTACT_PUSH
        tau = REST_EFFORT + self.robot.gravity(q) - self.robot.jacobian(q).T @ F
        return dict(zip(self.robot.joint_names, tau, strict=True))

    def _on_state(self, state: PickState, text: str) -> None:
        self.sends_before.setdefault(state, len(self.sent))
        self.states.append(state)
        with self._lock:
            self.visits.append((state, self._q().copy()))

    def io(self) -> RobotIO:
        return RobotIO(
            self.send_arm,
            self.send_gripper,
            self.joint_state,
            self.now,
            self._on_state,
            self.joint_effort,
        )

    def z_at(self, state: PickState) -> float:
        """TCP height [m] when ``state`` was entered (the first time)."""
        return float(self.robot.fk(next(q for s, q in self.visits if s is state))[2, 3])


@pytest.fixture(scope="module")
def panda() -> RobotModel:
    return RobotModel(load_robot("panda"))


@pytest.fixture
def setup(panda: RobotModel, rng: np.random.Generator):
    scene, names = cluttered_scene(panda, rng, n_objects=3)
    obj = scene.objects[names[0]]
    grasps = [
        Grasp(
            pose=make_transform(rot_x(np.pi), [*obj.center[:2], obj.aabb_max[2] - 0.02]),
            width=0.05,
            quality=0.8,
        )
    ]
    return EmbeddedBackend(panda, scene, load_layout()), grasps


def test_pick_runs_every_stage_and_ends_home(panda: RobotModel, setup) -> None:
    backend, grasps = setup
    arm = KinematicRobot(panda)
    result = PickAndPlace(backend, arm.io()).pick(grasps)
    assert result.success, result.reason
    order = [s for s in arm.states if s not in (PickState.PLANNING,)]
    expected = [
        PickState.PREGRASP,
        PickState.APPROACH,
        PickState.CLOSE,
        PickState.VERIFY,
        PickState.LIFT,
        PickState.VERIFY,
        PickState.PLACE,
        PickState.RELEASE,
        PickState.RETREAT,
        PickState.HOME,
        PickState.DONE,
    ]
    dedup = [s for i, s in enumerate(order) if i == 0 or order[i - 1] != s]
    assert dedup == expected
    np.testing.assert_allclose(arm._q(), panda.home, atol=1e-6)
    assert len(arm.sent) == 6 and arm.width == pytest.approx(0.08)  # opened fully
    narrow = KinematicRobot(panda)
    PickAndPlace(backend, narrow.io(), PickParams(open_full=False)).pick(grasps)
    assert narrow.width == pytest.approx(min(0.08, 0.05 + 0.02))


class OffsetArm(KinematicRobot):
    """Reports its arm joints ``OFFSET`` from where it is (a servo's steady-state error
    under gravity, a calibration offset): each segment starts that far from its plan."""

    OFFSET = np.array([0.015, -0.01, 0.0, 0.012, 0.0, 0.0, -0.015])  # < goal_tolerance

    def __init__(self, robot: RobotModel) -> None:
        super().__init__(robot)
        #: the measured arm configuration when each trajectory was sent
        self.measured_at_send: list[np.ndarray] = []

    def joint_state(self) -> dict[str, float]:
        js = super().joint_state()
        for name, d in zip(self.robot.joint_names, self.OFFSET, strict=True):
            js[name] += d
        return js

    def send_arm(self, traj: Trajectory) -> None:
        with self._lock:
            q = self._q() + self.OFFSET
        self.measured_at_send.append(q)
        super().send_arm(traj)


def test_every_trajectory_starts_where_the_arm_is_measured(panda: RobotModel, setup) -> None:
    """A controller steps its setpoint to point 0 (time 0): each sent trajectory begins at
    the measured configuration, then reaches the planned one within the limits."""
    backend, grasps = setup
    arm = OffsetArm(panda)
    result = PickAndPlace(backend, arm.io()).pick(grasps)
    assert result.success, result.reason
    timed_from_zero = [
        (q, tr) for q, tr in zip(arm.measured_at_send, arm.sent, strict=True) if tr.times[0] == 0
    ]
    assert len(timed_from_zero) == 6
    vmax = panda.velocity_limits * MotionParams().velocity_scaling
    for q, tr in timed_from_zero:
        np.testing.assert_allclose(tr.positions[0], q, atol=1e-9)
        step = np.abs(np.diff(tr.positions, axis=0)) / np.diff(tr.times)[:, None]
        assert np.all(step <= vmax + 1e-6)


def test_empty_grasp_fails_verification_and_recovers_home(panda: RobotModel, setup) -> None:
    backend, grasps = setup
    arm = KinematicRobot(panda, object_width=0.0)  # nothing between the fingers
    result = PickAndPlace(backend, arm.io(), PickParams(min_hold_width=0.004)).pick(grasps)
    assert not result.success and result.state is PickState.FAILED
    assert "grasp empty" in result.reason
    np.testing.assert_allclose(arm._q(), panda.home, atol=1e-6)


@pytest.mark.parametrize("object_width", [0.02, 0.03, 0.05])
def test_close_holds_objects_narrower_than_the_predicted_width(
    panda: RobotModel, setup, object_width: float
) -> None:
    # a learned width is often 1-3 cm too wide: the fingers close towards ~0 and stop on
    # the object, and a gap clearly above the target counts as held
    backend, grasps = setup  # predicted width 5 cm
    arm = KinematicRobot(panda, object_width=object_width)
    sent: list[float] = []
    io = arm.io()
    send = io.send_gripper

    def record(width: float, duration: float) -> None:
        sent.append(width)
        send(width, duration)

    io = dataclasses.replace(io, send_gripper=record)
    result = PickAndPlace(backend, io).pick(grasps)
    assert result.success, result.reason
    assert min(sent) == pytest.approx(0.0)  # closing target: fully closed, force-limited


def test_close_target_is_capped_by_the_grasp_width(panda: RobotModel, setup) -> None:
    backend, grasps = setup
    arm = KinematicRobot(panda, object_width=0.045)
    plan, reason, _ = PickAndPlace(backend, arm.io(), PickParams(close_width=0.07)).plan(
        grasps, arm._q()
    )
    assert plan is not None, reason
    close = [s.width for s in plan.segments if s.state is PickState.CLOSE]
    assert close == [pytest.approx(0.05)]


def test_stop_mid_motion_halts_the_arm(panda: RobotModel, setup) -> None:
    """A stop during the approach brakes to rest along that approach, short of its goal,
    and the arm stays there. The stop is sent once the approach trajectory itself is
    running, on a clock 5x real time: stopping when the APPROACH state appeared raced
    the trajectory's sending (a stop before it holds the arm at the pre-grasp, no brake),
    and at 25x a loaded machine could let the whole approach finish first."""
    backend, grasps = setup
    arm = KinematicRobot(panda, speedup=5.0)
    pnp = PickAndPlace(backend, arm.io())
    out: list = []
    worker = threading.Thread(target=lambda: out.append(pnp.pick(grasps)))
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        k = arm.sends_before.get(PickState.APPROACH)
        if k is not None and len(arm.sent) > k:
            break
        time.sleep(0.002)
    pnp.stop()
    worker.join(10)
    assert k is not None and out and out[0].state is PickState.STOPPED
    running, brake = arm.sent[k], arm.sent[-1]  # brakes to rest along the approach
    assert len(arm.sent) == k + 2
    np.testing.assert_allclose(brake.velocities[-1], 0.0)
    time.sleep(brake.duration / arm.speedup + 0.05)
    q1 = arm._q()
    time.sleep(0.2)  # 1 s of robot time
    np.testing.assert_allclose(arm._q(), q1)
    np.testing.assert_allclose(q1, brake.end)
    # every braking point lies on the interrupted path, short of its goal
    taus = np.linspace(0.0, running.duration, 2001)
    path = np.array([running.position_at(t) for t in taus])
    for q in brake.positions:
        assert np.abs(path - q).max(axis=1).min() < 2e-3
    assert np.abs(brake.end - running.end).max() > 1e-3


def test_stop_at_speed_brakes_within_the_acceleration_limits(panda: RobotModel, setup) -> None:
    """A controller continues from its moving setpoint: a one-point hold 50 ms away asked
    ~5x the Panda's acceleration limits at speed. The brake starts at the running
    velocity and decelerates within twice the scaled limits (path + braking)."""
    backend, grasps = setup
    arm = KinematicRobot(panda)
    pnp = PickAndPlace(backend, arm.io())
    worker = threading.Thread(target=pnp.pick, args=(grasps,))
    worker.start()
    deadline = time.monotonic() + 60
    v = None
    while time.monotonic() < deadline:
        time.sleep(0.002)
        tr, t0 = arm.traj, arm.t_start
        if tr is not None and pnp.state is PickState.PLACE:
            t = arm.now() - t0
            if t >= tr.times[np.abs(tr.velocities).max(axis=1).argmax()]:
                v = np.array([np.interp(t, tr.times, tr.velocities[:, j]) for j in range(7)])
                pnp.stop()
                break
    worker.join(10)
    assert v is not None and np.abs(v).max() > 0.1  # stopped at speed
    brake = arm.sent[-1]
    assert brake.positions.shape[0] > 3 and brake.duration > 0.1
    np.testing.assert_allclose(brake.velocities[0], v, atol=0.1 * np.abs(v).max())
    acc = np.diff(np.vstack([v, brake.velocities]), axis=0) / np.diff([0.0, *brake.times])[:, None]
    limit = 2 * panda.acceleration_limits * backend.planner.params.acceleration_scaling
    assert np.all(np.abs(acc) <= limit * 1.1), np.abs(acc).max(axis=0) / limit


class DeafGripper(KinematicRobot):
    """A hand nothing drives (a real Franka's fingers answer franka_gripper's actions,
    not a JointTrajectory topic): it stays open."""

    def send_gripper(self, width: float, duration: float) -> None:
        pass


def test_fingers_that_never_closed_are_not_a_hold(panda: RobotModel, setup) -> None:
    backend, grasps = setup
    arm = DeafGripper(panda)
    res = PickAndPlace(backend, arm.io()).pick(grasps)
    assert not res.success and res.state is PickState.FAILED
    assert "fingers did not close" in res.reason
    assert PickState.LIFT not in arm.states and PickState.PLACE not in arm.states


class SlowGripper(KinematicRobot):
    """Fingers moving at ``speed`` [m/s] of stand-in time (a slow hand, a Baxter
    gripper at low velocity), stopping on an ``object_width`` object when closing."""

    def __init__(self, robot: RobotModel, speed: float, width: float, **kw) -> None:
        super().__init__(robot, **kw)
        self.speed = speed
        self._from, self._to, self._t_cmd = width, width, 0.0

    @property  # type: ignore[override]
    def width(self) -> float:
        w0, w1 = self._from, self._to
        step = self.speed * max(self.now() - self._t_cmd, 0.0)
        w = min(w1, w0 + step) if w1 >= w0 else max(w1, w0 - step)
        return max(w, self.object_width) if w1 < w0 else w

    @width.setter
    def width(self, value: float) -> None:  # KinematicRobot.__init__ sets it
        self._from = self._to = value

    def send_gripper(self, width: float, duration: float) -> None:
        self._from, self._to, self._t_cmd = self.width, width, self.now()


def test_a_slow_hand_is_waited_for_before_the_approach_and_the_hold_check(
    panda: RobotModel, setup
) -> None:
    """Opening from closed and closing on nothing each take 2 s at 4 cm/s, longer than
    ``gripper_time`` (1 s): the approach starts with the fingers fully open, and the empty
    grasp is found before the lift, not after it."""
    backend, grasps = setup
    arm = SlowGripper(panda, speed=0.04, width=0.0, object_width=0.0)
    widths: dict[PickState, float] = {}
    on_state = arm._on_state

    def record(state: PickState, text: str) -> None:
        widths.setdefault(state, arm.width)
        on_state(state, text)

    arm._on_state = record  # type: ignore[method-assign]
    res = PickAndPlace(backend, arm.io()).pick(grasps)
    assert widths[PickState.APPROACH] == pytest.approx(panda.gripper.max_width, abs=1e-3)
    assert not res.success and "grasp empty" in res.reason
    assert PickState.LIFT not in arm.states
    # a hand slower than gripper_time + gripper_settle: the pick fails there, unlifted
    crawl = SlowGripper(panda, speed=0.01, width=panda.gripper.max_width, object_width=0.0)
    res = PickAndPlace(backend, crawl.io()).pick(grasps)
    assert not res.success and "fingers still moving" in res.reason
    assert PickState.LIFT not in crawl.states


def test_unknown_finger_or_arm_positions_move_nothing_and_stop_never_raises(
    panda: RobotModel, setup
) -> None:
    backend, grasps = setup
    arm = KinematicRobot(panda)
    bad: dict[str, float] = {}
    plain = arm.joint_state

    def state() -> dict[str, float]:
        return {**plain(), **bad}

    pnp = PickAndPlace(backend, dataclasses.replace(arm.io(), joint_state=state))
    fingers = dict.fromkeys(panda.gripper.joints, float("nan"))
    bad.update(fingers)
    res = pnp.pick(grasps)  # NaN fingers after closing: no hold
    assert not res.success and "grasp unknown" in res.reason
    bad.clear()
    plan, reason, _ = pnp.plan(grasps, pnp.current_q())
    assert plan is not None, reason
    bad["panda_joint4"] = float("nan")  # the arm's state turns NaN
    n = len(arm.sent)
    res = pnp.execute(plan)
    assert not res.success and "no fresh joint state" in res.reason
    assert len(arm.sent) == n  # nothing was sent
    pnp.stop()  # from the /executor/stop callback: must not raise
    assert len(arm.sent) == n


def test_goal_not_reached_times_out(panda: RobotModel, setup) -> None:
    backend, grasps = setup
    arm = KinematicRobot(panda, frozen=True)  # controller ignores commands
    result = PickAndPlace(backend, arm.io(), PickParams(timeout_margin=0.5)).pick(grasps)
    assert result.state is PickState.FAILED and "goal not reached" in result.reason


def test_unreachable_candidates_produce_no_motion(panda: RobotModel, setup) -> None:
    backend, _ = setup
    arm = KinematicRobot(panda)
    far = [Grasp(pose=make_transform(rot_x(np.pi), [1.3, 0.0, 0.05]), width=0.05)]
    result = PickAndPlace(backend, arm.io()).pick(far)
    assert not result.success and "no feasible grasp" in result.reason
    assert arm.sent == []


def test_object_lost_during_lift_stops_the_pick(panda: RobotModel, setup) -> None:
    backend, grasps = setup
    arm = KinematicRobot(panda)
    io = arm.io()

    def on_state(state: PickState, text: str) -> None:
        arm.states.append(state)
        if state is PickState.LIFT:
            arm.object_width = 0.0  # it slips out: the fingers close fully
            arm.width = 0.0

    io.on_state = on_state
    result = PickAndPlace(backend, io).pick(grasps)
    assert result.state is PickState.FAILED and "grasp empty" in result.reason
    assert PickState.PLACE not in arm.states


def test_a_grasp_that_failed_is_tried_after_the_others_until_a_pick_succeeds(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    scene, names = cluttered_scene(panda, rng, n_objects=3)

    def top_grasp(name: str, quality: float) -> Grasp:
        obj = scene.objects[name]
        pose = make_transform(rot_x(np.pi), [*obj.center[:2], obj.aabb_max[2] - 0.02])
        return Grasp(pose=pose, width=0.05, quality=quality)

    grasps = [top_grasp(names[0], 0.9), top_grasp(names[1], 0.5)]
    backend = EmbeddedBackend(panda, scene, load_layout())
    empty = KinematicRobot(panda, object_width=0.0)
    pnp = PickAndPlace(backend, empty.io())
    first = pnp.pick(grasps)
    assert not first.success and first.grasp.index == 0
    assert len(pnp.failed_positions) == 1
    # the same candidates again: the failed one goes last, the other is planned first
    plan, _, details = pnp.plan(grasps, empty._q())
    assert plan.grasp.index == 1 and details["demoted"] >= 1
    # a placed pick clears the memory; retry_memory 0 turns it off
    pnp.io = KinematicRobot(panda).io()
    assert pnp.pick(grasps[1:]).success and pnp.failed_positions == []
    off = PickAndPlace(backend, empty.io(), PickParams(retry_memory=0))
    off.failed_positions.append(grasps[0].pose[:3, 3].copy())
    assert off.plan(grasps, empty._q())[0].grasp.index == 0


def test_recovery_goes_home_from_a_hand_resting_on_the_table(panda: RobotModel, setup) -> None:
    # a failed approach can leave the fingertips on the table (inside the collision
    # padding): home is not plannable from there, so recovery first lifts the hand
    backend, _ = setup
    T = make_transform(rot_x(np.pi), [0.45, 0.25, 0.012])  # fingertips 2 mm above the table
    q = backend.ik(T, panda.home)
    assert q is not None
    assert backend.scene.in_collision(q)  # within the table's padding
    arm = KinematicRobot(panda)
    arm.q = q
    pnp = PickAndPlace(backend, arm.io())
    pnp._recover("test: stalled on the table")
    np.testing.assert_allclose(arm._q(), panda.home, atol=1e-6)
    assert PickState.RETREAT in arm.states and arm.states[-1] is PickState.HOME


def test_the_place_keeps_the_grasps_tilt_so_the_object_arrives_as_it_stood(
    panda: RobotModel, setup
) -> None:
    from grasp_core.se3 import rot_y
    from grasp_planning.pick import place_configuration

    backend, _ = setup
    R_grasp = rot_y(0.6) @ rot_x(np.pi)  # a rim grasp tilted 34 deg from vertical
    q = place_configuration(
        panda, backend.scene, load_layout(), panda.home, 0.05, 0.05, None, R_grasp
    )
    R = panda.fk(q)[:3, :3]
    # the same tilt up to a turn about the vertical: the approach axis' height matches
    assert R[2, 2] == pytest.approx(R_grasp[2, 2], abs=1e-3)
    down = place_configuration(panda, backend.scene, load_layout(), panda.home, 0.05, 0.05, None)
    assert panda.fk(down)[2, 2] == pytest.approx(-1.0, abs=1e-3)


def test_the_contact_wrench_undoes_the_servos_answer_to_a_push(panda: RobotModel) -> None:
    from grasp_planning.pick import contact_wrench

    q = panda.home + 0.1
    F = np.array([1.0, -2.0, 15.0, 0.3, 0.0, -0.2])
    np.testing.assert_allclose(contact_wrench(panda, q, -panda.jacobian(q).T @ F), F, atol=1e-9)


GUARDED = PickParams(place_descent=0.15, poll_period=0.001)


def _guarded_plan(panda: RobotModel, setup):
    """A stand-in reporting efforts, the state machine with the guarded lower, the plan of
    the setup's pick, and that plan's lower trajectory."""
    backend, grasps = setup
    arm = KinematicRobot(panda, efforts=True)
    pnp = PickAndPlace(backend, arm.io(), GUARDED)
    plan, reason, _ = pnp.plan(grasps, arm._q())
    assert plan is not None, reason
    lower = next(s.trajectory for s in plan.segments if s.state is PickState.LOWER)
    return arm, pnp, plan, lower


def test_a_guarded_lower_sets_the_object_down_at_contact_and_rises_from_there(
    panda: RobotModel, setup
) -> None:
    arm, pnp, plan, lower = _guarded_plan(panda, setup)
    z_place, z_floor = (float(panda.fk(q)[2, 3]) for q in (lower.start, lower.end))
    assert z_place - z_floor > 0.09  # planned down to just above the bin floor
    # something 2 cm above the lowest point: down there the arm's new pose alone changes
    # the gravity torques as much as a 7 N downward push would, so the push is only seen
    # with the gravity model's change taken out
    arm.contact_z = z_floor + 0.02
    result = pnp.execute(plan)
    assert result.success, result.reason
    # stopped at the contact (a poll of the fast clock later at most), not at the floor
    assert arm.z_at(PickState.RELEASE) == pytest.approx(z_floor + 0.02, abs=0.01)
    dedup = [s for i, s in enumerate(arm.states) if i == 0 or arm.states[i - 1] != s]
    assert dedup[-6:] == [
        PickState.PLACE,
        PickState.LOWER,
        PickState.RELEASE,
        PickState.RETREAT,
        PickState.HOME,
        PickState.DONE,
    ]
    np.testing.assert_allclose(arm._q(), panda.home, atol=1e-6)


def test_with_no_contact_the_lower_releases_just_above_the_bin_floor(
    panda: RobotModel, setup
) -> None:
    arm, pnp, plan, lower = _guarded_plan(panda, setup)
    result = pnp.execute(plan)
    assert result.success, result.reason
    assert arm.z_at(PickState.RELEASE) == pytest.approx(float(panda.fk(lower.end)[2, 3]), abs=1e-4)
    assert arm.z_at(PickState.RELEASE) < arm.z_at(PickState.LOWER) - 0.09
    np.testing.assert_allclose(arm._q(), panda.home, atol=1e-6)


def test_without_joint_efforts_the_object_is_released_above_the_rim(
    panda: RobotModel, setup
) -> None:
    backend, grasps = setup
    blind = KinematicRobot(panda, efforts=False)
    result = PickAndPlace(backend, blind.io(), GUARDED).pick(grasps)
    assert result.success, result.reason
    assert blind.z_at(PickState.RELEASE) == pytest.approx(blind.z_at(PickState.LOWER), abs=1e-6)
    plain = KinematicRobot(panda)
    PickAndPlace(backend, plain.io()).pick(grasps)
    assert blind.z_at(PickState.RELEASE) == pytest.approx(plain.z_at(PickState.RELEASE), abs=1e-6)


def test_efforts_lost_during_the_lower_stop_the_arm_there(panda: RobotModel, setup) -> None:
    arm, pnp, plan, lower = _guarded_plan(panda, setup)
    z_place = float(panda.fk(lower.start)[2, 3])
    arm.efforts_above_z = z_place - 0.03  # the effort stream ends 3 cm down
    result = pnp.execute(plan)
    assert result.success, result.reason
    assert arm.z_at(PickState.RELEASE) == pytest.approx(z_place - 0.03, abs=0.01)


@pytest.mark.parametrize(
    "field,value", [("place_descent", -0.1), ("contact_force", 0.0), ("floor_margin", -0.01)]
)
def test_guarded_lower_parameters_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        PickParams(**{field: value})


LAY = PickParams(lay_down=True)


def _standing_cylinder(panda: RobotModel, height: float, yaw: float):
    """A backend whose scene holds one cylinder (radius 3.5 cm) standing on the table, and
    a top-down grasp 2.5 cm below its top with the fingers closing along ``yaw``."""
    layout = load_layout()
    scene = PlanningScene(panda)
    add_cell(scene, layout)
    c = np.array([0.5, -0.05, layout.table_top_z + height / 2])
    scene.add_cylinder("object_0", 0.035, height, make_transform(t=c))
    tcp = make_transform(rot_z(yaw) @ rot_x(np.pi), [c[0], c[1], c[2] + height / 2 - 0.025])
    return EmbeddedBackend(panda, scene, layout), [Grasp(pose=tcp, width=0.05, quality=0.9)]


@pytest.mark.parametrize("yaw", [0.0, 1.1])
def test_an_object_taller_than_the_bin_is_laid_down_along_it(panda: RobotModel, yaw) -> None:
    """A 16 cm cylinder in a 10 cm deep bin: at the place its axis is horizontal along the
    bin's long side, the fingers vertical, the whole object over the bin's floor and above
    its rim; the hand backs off along the approach, then goes home."""
    backend, grasps = _standing_cylinder(panda, 0.16, yaw)
    layout = backend.layout
    picker = PickAndPlace(backend, KinematicRobot(panda).io(), LAY)
    plan, reason, _ = picker.plan(grasps, panda.home)
    assert plan is not None, reason
    assert plan.place == "lying"
    seg = {s.state: s for s in plan.segments if s.trajectory is not None}
    q_grasp = seg[PickState.APPROACH].trajectory.end
    q_place = seg[PickState.PLACE].trajectory.end
    T_place = panda.fk(q_place)
    long_axis = np.eye(3)[int(np.argmax(layout.bin_size[:2]))]
    assert abs(T_place[:3, 2] @ long_axis) > 0.999  # approach along the long side
    assert abs(T_place[2, 1]) > 0.999  # fingers close vertically
    # the cylinder, carried rigidly from the grasp, lies inside the bin, above the rim
    obj = backend.scene.objects["object_0"]
    T_obj = T_place @ np.linalg.inv(panda.fk(q_grasp)) @ obj.T_base_object
    assert abs(T_obj[:3, 2] @ long_axis) > 0.999
    r, half = 0.035, 0.08
    ends = T_obj[:3, 3] + np.outer([-half, half], T_obj[:3, 2])
    inner = layout.bin_size[:2] / 2
    assert np.all(np.abs(ends[:, :2] - layout.bin_center[:2]) <= inner - 0.009)
    assert ends[:, 2].min() - r == pytest.approx(
        layout.bin_top_z + PickParams().place_clearance, abs=1e-3
    )
    # the retreat slides the fingers back along the approach, level
    T_back = panda.fk(seg[PickState.RETREAT].trajectory.end)
    np.testing.assert_allclose(
        T_back[:3, 3], T_place[:3, 3] - T_place[:3, 2] * PickParams().retreat_distance, atol=2e-3
    )
    arm = KinematicRobot(panda)
    assert PickAndPlace(backend, arm.io(), LAY).execute(plan).success


def test_short_objects_and_lay_down_off_are_placed_standing(panda: RobotModel) -> None:
    for height, params in (
        (0.08, LAY),
        (0.16, PickParams()),  # off by default
        (0.16, PickParams(lay_down=True, lay_down_ratio=1.7)),  # laid only above 17 cm
    ):
        backend, grasps = _standing_cylinder(panda, height, 0.0)
        plan, reason, _ = PickAndPlace(backend, KinematicRobot(panda).io(), params).plan(
            grasps, panda.home
        )
        assert plan is not None, reason
        assert plan.place == "standing"
        T_place = panda.fk(
            next(s for s in plan.segments if s.state is PickState.PLACE).trajectory.end
        )
        assert T_place[2, 2] < -0.99  # pointing down, as grasped
