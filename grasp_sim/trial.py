"""Physics grasp trials: the label source for grasp datasets and the judge in benchmarks.

A trial puts the free-floating Panda hand (:mod:`grasp_sim.hand`) at a 6-DOF grasp pose
``T_object_grasp`` (grasp frame: +Z approach, +X closing, origin at the TCP) and runs:

1. **pre-check** (no physics, :func:`check_grasp_geometry`): the open hand swept along
   the last 10 cm of its approach (every 1 cm) must not touch the object (or the table),
   and the object must intersect the closing volume between the pads. A grasp failing
   either is a failed trial with ``collision_at_approach`` / ``empty_closing_volume`` set
   and no physics is run (physics would knock the object away or close on air).
2. **approach** 10 cm along +Z in 0.15 s;
3. **close** with the real hand's force limit (70 N per finger), 0.3 s;
4. **lift** 15 cm straight up (world +Z) in 0.3 s, hold 0.1 s;
5. **shake** 0.5 s: ±2 cm at 3 Hz along two world axes and ±0.25 rad about the
   closing axis, phases drawn from the trial's seed.

``on_table=False`` (ACRONYM-style): the object floats, gravity off until the fingers have
closed, then on. ``on_table=True``: the object rests on a table in its natural pose
(:func:`resting_pose`), gravity on throughout (planar top-down data).

Success = at the end the object touches both fingers and the fingers are not closed
(width > 1 mm). ``slipped``: the object moved more than 1 cm or 0.15 rad relative to the
hand between the end of closing and the end of the shake.

Compiled trial models are cached per (object, on_table, gripper) and reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import mujoco
import numpy as np

from grasp_core.gripper import GripperSpec, load_gripper
from grasp_core.se3 import check_transform, invert, make_transform, quat_to_matrix, rotation_angle
from grasp_core.validation import as_array
from grasp_sim.builder import add_object, resting_height, wxyz
from grasp_sim.hand import NAMES, add_trial_hand
from grasp_sim.objects import ObjectSpec
from grasp_sim.physics import TABLE_FRICTION, TIMESTEP, apply_options, tune_contacts

APPROACH_DISTANCE = 0.10  # [m]
APPROACH_TIME = 0.15  # [s]
CLOSE_TIME = 0.30
LIFT_HEIGHT = 0.15
LIFT_TIME = 0.30
HOLD_TIME = 0.10
SHAKE_TIME = 0.50
SHAKE_AMPLITUDE = 0.02  # [m]
SHAKE_ANGLE = 0.25  # [rad]
SHAKE_FREQUENCY = 3.0  # [Hz]
#: Steps between mocap updates (the hand moves <= 7 mm per update).
SUBSTEPS = 2
#: Penetration [m] below which the hand "touches" without colliding.
TOUCH_TOLERANCE = 1e-4
SLIP_DISTANCE = 0.01
SLIP_ANGLE = 0.15
OBJECT_HEIGHT = 0.5  # where the free-floating object is held (no table) [m]
#: Half side [m] of the ``on_table`` table, which :meth:`_TrialModel.reset` centres under
#: the object (objects are placed in world coordinates, e.g. x = 0.55 m in a SimWorld: a
#: table fixed at the origin let them fall off its edge before the fingers arrived).
TABLE_HALF_SIZE = 0.5


@dataclass(frozen=True)
class TrialResult:
    """Outcome of one grasp trial.

    ``success``: held after lift and shake. ``collision_at_approach`` / ``empty_closing_volume``:
    the geometric pre-check failed (no physics ran: ``simulated`` False). ``slipped``: the
    object moved in the hand. ``final_width`` [m]: finger opening at the end.
    ``object_shift`` [m]: the object's displacement relative to the hand since closing.
    ``width_after_close`` [m]: opening right after closing. ``seed``: the trial's seed.
    """

    success: bool
    collision_at_approach: bool = False
    empty_closing_volume: bool = False
    slipped: bool = False
    final_width: float = 0.0
    width_after_close: float = 0.0
    object_shift: float = 0.0
    simulated: bool = True
    seed: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class _TrialModel:
    """A compiled hand + object (+ table) model and the ids the trial needs."""

    def __init__(self, obj: ObjectSpec, on_table: bool, gripper: GripperSpec) -> None:
        spec = mujoco.MjSpec()
        spec.modelname = f"trial_{obj.name}"
        apply_options(spec, TIMESTEP)
        spec.compiler.autolimits = True
        if on_table:
            g = spec.worldbody.add_geom()
            g.name = "table"
            g.type = mujoco.mjtGeom.mjGEOM_BOX
            g.size = [TABLE_HALF_SIZE, TABLE_HALF_SIZE, 0.02]
            g.pos = [0.0, 0.0, -0.02]
            g.friction = list(TABLE_FRICTION)
        add_trial_hand(spec, gripper)
        add_object(spec, obj, name="object")
        tune_contacts(spec)
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.gripper = gripper
        self.on_table = on_table
        self.obj = obj
        self.mocap = m.body(NAMES.mocap).mocapid[0]
        self.obj_body = m.body("object").id
        self.obj_qadr = m.jnt_qposadr[m.joint("object_free").id]
        self.obj_dadr = m.jnt_dofadr[m.joint("object_free").id]
        self.finger_bodies = tuple(m.body(n).id for n in NAMES.fingers)
        self.finger_qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in NAMES.joints])
        self.act = m.actuator(NAMES.actuator).id
        self.hand_qadr = m.jnt_qposadr[m.joint(NAMES.free_joint).id]
        self.hand_dadr = m.jnt_dofadr[m.joint(NAMES.free_joint).id]
        hand_bodies = {m.body(NAMES.body).id, *self.finger_bodies}
        self.hand_geoms = [
            g for g in range(m.ngeom) if m.geom_bodyid[g] in hand_bodies and m.geom_contype[g] != 0
        ]
        self.closing_geom = m.geom(NAMES.closing_volume).id
        self.obj_geoms = [g for g in range(m.ngeom) if m.geom_bodyid[g] == self.obj_body]
        self.table_geom = m.geom("table").id if on_table else None
        self.obstacle_geoms = self.obj_geoms + ([self.table_geom] if on_table else [])
        self.gravity = np.array([0.0, 0.0, -9.81])
        self.T_world_object0 = (
            _box_resting_pose(obj) if on_table else make_transform(None, [0.0, 0.0, OBJECT_HEIGHT])
        )
        if on_table and obj.is_mesh:  # a mesh may not stand in its file's orientation
            self.T_world_object0 = self._settle()

    def _settle(self, max_time: float = 2.0) -> np.ndarray:
        """The object's pose after dropping it on the table (hand parked far away)."""
        m, d = self.model, self.data
        self.reset()
        self.set_hand(make_transform(None, [0.0, 0.0, 2.0]), teleport=True)
        m.opt.gravity[:] = self.gravity
        while d.time < max_time:
            mujoco.mj_step(m, d, nstep=25)
            v = self.obj_dadr
            if np.abs(d.qvel[v : v + 6]).max() < 1e-3:
                break
        T = self.object_pose()
        T[:2, 3] = 0.0
        return T

    # -------------------------------------------------------------- state helpers
    def reset(self, T_world_object: np.ndarray | None = None) -> None:
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        d.qpos[self.finger_qadr] = self.gripper.max_width / 2
        d.ctrl[self.act] = self.gripper.max_width
        T = self.T_world_object0 if T_world_object is None else T_world_object
        if self.table_geom is not None:  # the table top is centred under the object
            m.geom_pos[self.table_geom, :2] = T[:2, 3]
        a = self.obj_qadr
        d.qpos[a : a + 3] = T[:3, 3]
        d.qpos[a + 3 : a + 7] = wxyz(T[:3, :3])

    def set_hand(self, T_world_grasp: np.ndarray, teleport: bool = False) -> None:
        """Move the mocap target (and with ``teleport`` the hand itself, at rest)."""
        q = _quat(T_world_grasp)
        self.data.mocap_pos[self.mocap] = T_world_grasp[:3, 3]
        self.data.mocap_quat[self.mocap] = q
        if teleport:
            a, v = self.hand_qadr, self.hand_dadr
            self.data.qpos[a : a + 3] = T_world_grasp[:3, 3]
            self.data.qpos[a + 3 : a + 7] = q
            self.data.qvel[v : v + 6] = 0.0

    def object_pose(self) -> np.ndarray:
        a = self.obj_qadr
        q = self.data.qpos[a + 3 : a + 7]
        return make_transform(
            quat_to_matrix(np.array([q[1], q[2], q[3], q[0]]) / np.linalg.norm(q)),
            self.data.qpos[a : a + 3],
        )

    def width(self) -> float:
        return float(np.sum(self.data.qpos[self.finger_qadr]))

    def min_distance(self, geoms_a: Sequence[int], geoms_b: Sequence[int]) -> float:
        """Smallest signed distance [m] between two geom sets (negative: penetration)."""
        m, d = self.model, self.data
        best = np.inf
        for ga in geoms_a:
            for gb in geoms_b:
                dist = mujoco.mj_geomDistance(m, d, ga, gb, 0.01, None)
                best = min(best, dist)
        return float(best)

    def touches_both_fingers(self) -> bool:
        m, d = self.model, self.data
        touched = set()
        for c in d.contact[: d.ncon]:
            b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
            if self.obj_body in (b1, b2):
                other = b2 if b1 == self.obj_body else b1
                if other in self.finger_bodies:
                    touched.add(other)
        return len(touched) == 2


def _quat(T: np.ndarray) -> np.ndarray:
    """MuJoCo (w, x, y, z) quaternion of a transform's rotation (fast path, C)."""
    q = np.empty(4)
    mujoco.mju_mat2Quat(q, np.ascontiguousarray(T[:3, :3]).ravel())
    return q


@lru_cache(maxsize=32)
def _trial_model(obj: ObjectSpec, on_table: bool, gripper: str) -> _TrialModel:
    return _TrialModel(obj, on_table, load_gripper(gripper))


def _box_resting_pose(obj: ObjectSpec) -> np.ndarray:
    return make_transform(None, [0.0, 0.0, resting_height(obj)])


def resting_pose(obj: ObjectSpec, gripper: str = "panda_hand") -> np.ndarray:
    """T_table_object of ``obj`` resting on a table top at z = 0, as the ``on_table``
    trials place it by default: primitives in their natural pose; a mesh as it comes to
    rest after being dropped in its file's orientation (simulated once, cached)."""
    return _trial_model(obj, True, gripper).T_world_object0.copy()


def _check_pose(T: object, name: str) -> np.ndarray:
    T = as_array(name, T, shape=(4, 4))
    return check_transform(name, T)


def _geometry(
    tm: _TrialModel, T_object_grasp: np.ndarray, T_world_object: np.ndarray | None = None
) -> tuple[bool, bool]:
    T_world_object = tm.T_world_object0 if T_world_object is None else T_world_object
    tm.reset(T_world_object)
    m, d = tm.model, tm.data
    T_world_grasp = T_world_object @ T_object_grasp
    in_collision = False
    for s in np.linspace(-APPROACH_DISTANCE, 0.0, 11):
        T = T_world_grasp.copy()
        T[:3, 3] += T[:3, 2] * s
        tm.set_hand(T, teleport=True)
        mujoco.mj_kinematics(m, d)
        if tm.min_distance(tm.hand_geoms, tm.obstacle_geoms) < -TOUCH_TOLERANCE:
            in_collision = True
            break
    tm.set_hand(T_world_grasp, teleport=True)
    mujoco.mj_kinematics(m, d)
    empty = tm.min_distance([tm.closing_geom], tm.obj_geoms) > 0.0
    return in_collision, empty


def check_grasp_geometry(
    obj: ObjectSpec,
    T_object_grasp: np.ndarray,
    on_table: bool = False,
    gripper: str = "panda_hand",
    T_world_object: np.ndarray | None = None,
) -> tuple[bool, bool]:
    """Cheap pre-filter, no physics: ``(in_collision, closing_volume_empty)``.

    ``in_collision``: the open hand touches the object (or the table if ``on_table``) at
    the grasp pose or anywhere on the 10 cm approach (1 cm steps). ``closing_volume_empty``:
    no part of the object lies between the open pads. ``T_world_object`` as in
    :func:`run_grasp_trial`.
    """
    T = _check_pose(T_object_grasp, "T_object_grasp")
    To = None if T_world_object is None else _check_pose(T_world_object, "T_world_object")
    return _geometry(_trial_model(obj, bool(on_table), gripper), T, To)


def _rotate_about(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix of ``angle`` [rad] about the unit ``axis`` (no validation: hot loop)."""
    x, y, z = axis
    K = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * (K @ K)


def _shake_offsets(t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """World translation [m] and rotation angle [rad] of the shake at times ``t`` [s]."""
    phase = rng.uniform(0, 2 * np.pi, 3)
    axes = rng.permutation(3)[:2]
    w = 2 * np.pi * SHAKE_FREQUENCY
    ramp = np.clip(t / 0.1, 0.0, 1.0)  # ease in over 0.1 s
    off = np.zeros((len(t), 3))
    off[:, axes[0]] = SHAKE_AMPLITUDE * ramp * np.sin(w * t + phase[0])
    off[:, axes[1]] = SHAKE_AMPLITUDE * ramp * np.sin(w * t + phase[1])
    ang = SHAKE_ANGLE * ramp * np.sin(w * t + phase[2])
    return off, ang


def _smooth(s: float) -> float:
    """Minimum-jerk-like 0..1 profile."""
    s = min(max(s, 0.0), 1.0)
    return s * s * s * (10 - 15 * s + 6 * s * s)


def _simulate(
    tm: _TrialModel, T_object_grasp: np.ndarray, seed: int, T_world_object: np.ndarray | None
) -> TrialResult:
    m, d = tm.model, tm.data
    rng = np.random.default_rng(seed)
    T_world_object = tm.T_world_object0 if T_world_object is None else T_world_object
    tm.reset(T_world_object)
    dt = m.opt.timestep * SUBSTEPS
    if tm.on_table:
        m.opt.gravity[:] = tm.gravity
        mujoco.mj_forward(m, d)
    else:
        m.opt.gravity[:] = 0.0
    T_world_grasp = T_world_object @ T_object_grasp

    def run(duration: float, pose_at) -> None:
        n = max(1, int(round(duration / dt)))
        for i in range(1, n + 1):
            tm.set_hand(pose_at(i / n, i * dt))
            mujoco.mj_step(m, d, nstep=SUBSTEPS)

    def approach(s: float, _t: float) -> np.ndarray:
        T = T_world_grasp.copy()
        T[:3, 3] -= T[:3, 2] * APPROACH_DISTANCE * (1 - _smooth(s))
        return T

    tm.set_hand(approach(0.0, 0.0), teleport=True)
    mujoco.mj_forward(m, d)
    run(APPROACH_TIME, approach)
    d.ctrl[tm.act] = 0.0
    run(CLOSE_TIME, lambda s, t: T_world_grasp)
    width_closed = tm.width()
    T_hand_object_closed = invert(T_world_grasp) @ tm.object_pose()
    m.opt.gravity[:] = tm.gravity

    def lift(s: float, _t: float) -> np.ndarray:
        T = T_world_grasp.copy()
        T[2, 3] += LIFT_HEIGHT * _smooth(s)
        return T

    run(LIFT_TIME, lift)
    T_lifted = lift(1.0, 0.0)
    run(HOLD_TIME, lambda s, t: T_lifted)
    n_shake = max(1, int(round(SHAKE_TIME / dt)))
    offs, angs = _shake_offsets(np.arange(1, n_shake + 1) * dt, rng)
    closing_axis = T_lifted[:3, 0]
    shake_poses = np.repeat(T_lifted[None], n_shake, axis=0)
    for i in range(n_shake):  # Rodrigues, axis fixed: cheap
        R = _rotate_about(closing_axis, angs[i])
        shake_poses[i, :3, :3] = R @ T_lifted[:3, :3]
    shake_poses[:, :3, 3] += offs

    def shake(s: float, _t: float) -> np.ndarray:
        return shake_poses[min(int(round(s * n_shake)) - 1, n_shake - 1)]

    run(SHAKE_TIME, shake)
    run(0.05, lambda s, t: T_lifted)  # settle back to the held pose
    T_hand_object = invert(T_lifted) @ tm.object_pose()
    shift = float(np.linalg.norm(T_hand_object[:3, 3] - T_hand_object_closed[:3, 3]))
    turn = rotation_angle(T_hand_object[:3, :3], T_hand_object_closed[:3, :3])
    width = tm.width()
    held = tm.touches_both_fingers() and width > 1e-3
    m.opt.gravity[:] = tm.gravity
    return TrialResult(
        success=bool(held),
        slipped=bool(shift > SLIP_DISTANCE or turn > SLIP_ANGLE),
        final_width=width,
        width_after_close=width_closed,
        object_shift=shift,
        seed=int(seed),
    )


def _trial(
    tm: _TrialModel, T: np.ndarray, seed: int, check: bool, T_world_object: np.ndarray | None
) -> TrialResult:
    if check:
        in_collision, empty = _geometry(tm, T, T_world_object)
        if in_collision or empty:
            return TrialResult(
                success=False,
                collision_at_approach=in_collision,
                empty_closing_volume=empty,
                final_width=tm.gripper.max_width,
                simulated=False,
                seed=int(seed),
            )
    return _simulate(tm, T, seed, T_world_object)


def run_grasp_trial(
    obj: ObjectSpec,
    T_object_grasp: np.ndarray,
    seed: int = 0,
    on_table: bool = False,
    gripper: str = "panda_hand",
    precheck: bool = True,
    T_world_object: np.ndarray | None = None,
) -> TrialResult:
    """One physics grasp trial (see the module docstring); deterministic for ``seed``.

    ``T_object_grasp``: 4x4 grasp pose in the object frame [m]. ``precheck=False`` runs
    physics even when the geometric pre-check would reject the grasp. ``T_world_object``:
    where the object starts in the trial's world (z = 0 is the table top with
    ``on_table``), e.g. a tilted resting pose seen in a :class:`SimWorld`; default
    :func:`resting_pose` on the table, upright at 0.5 m when free-floating.
    """
    T = _check_pose(T_object_grasp, "T_object_grasp")
    To = None if T_world_object is None else _check_pose(T_world_object, "T_world_object")
    return _trial(_trial_model(obj, bool(on_table), gripper), T, int(seed), precheck, To)


def run_grasp_trials(
    obj: ObjectSpec,
    T_object_grasps: np.ndarray,
    seed: int = 0,
    on_table: bool = False,
    gripper: str = "panda_hand",
    precheck: bool = True,
    T_world_object: np.ndarray | None = None,
) -> list[TrialResult]:
    """Trials of N grasps (Nx4x4) on one object, reusing one compiled model; trial ``i``
    uses seed ``seed + i`` (so it equals ``run_grasp_trial(obj, T[i], seed + i)``)."""
    Ts = as_array("T_object_grasps", T_object_grasps, shape=(None, 4, 4))
    for i, T in enumerate(Ts):
        _check_pose(T, f"T_object_grasps[{i}]")
    To = None if T_world_object is None else _check_pose(T_world_object, "T_world_object")
    tm = _trial_model(obj, bool(on_table), gripper)
    return [_trial(tm, T, int(seed) + i, precheck, To) for i, T in enumerate(Ts)]


def top_down_grasp(
    obj: ObjectSpec, yaw: float = 0.0, offset: Sequence[float] = (0.0, 0.0, 0.0), depth: float = 0.0
) -> np.ndarray:
    """T_object_grasp approaching straight down (-Z of the object) onto its top centre,
    closing axis at ``yaw`` [rad] from the object's +X, TCP ``depth`` [m] below the top
    face, shifted by ``offset`` [m] in the object frame. Handy for tests and planar data."""
    R = np.diag([1.0, -1.0, -1.0]) @ np.eye(3)  # +Z down, +X along object +X
    c, s = np.cos(yaw), np.sin(yaw)
    Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    top = obj.half_extents[2]
    p = np.array([0.0, 0.0, top - depth]) + np.asarray(offset, dtype=float)
    return make_transform(Rz @ R, p)
