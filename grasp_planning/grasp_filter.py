"""Keep the grasps the arm can execute, best first.

Order of work (cheap rejects first): NaN / unknown frame / too wide (a width beyond the
stroke is capped instead where the target's seen points let the finger check below judge
whether it fits: a model trained for another gripper) -> workspace box, a perceived
object in the closing volume (once perception has reported the objects, none included; a
grasp that closes on air is the commonest failure of learned samplers) and reach sphere ->
re-centring on the target's seen extent (along the pads, then the closing axis) and no
finger's path under the target's seen surface (a finger landing on the object stalls the
approach; retried turned about the approach axis) -> batched IK of grasp (and its pi-flip
about +Z), pre-grasp and lift ->
collision checks of grasp (target may touch the fingers), pre-grasp, the approach
midpoint and lift (target ignored: it is carried); what still collides after the pi-flip
and back-off retries is retried turned about its approach axis (``collision_turns``: a
finger on a neighbouring object in clutter). Survivors are ranked by
``quality - motion_cost_weight * motion_cost`` where the motion cost is the time [s] the
slowest joint needs to reach the pre-grasp at full speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from grasp_core.grasp import TCP_DEPTH_RANGE, Grasp
from grasp_core.se3 import make_transform, rot_z
from grasp_planning.collision import PlanningScene, SceneObject
from grasp_planning.ik import (
    FLIP_Z,
    LIFT_HEIGHT,
    PREGRASP_DISTANCE,
    lift_pose,
    pregrasp_pose,
    reach_batch,
)
from grasp_planning.robot import RobotModel
from grasp_planning.world import CELL_OBSTACLES

#: Retries [m] of a grasp in collision with its TCP moved back along the approach axis.
BACKOFF_STEPS = (0.01, 0.02)
#: Retries [rad] of a grasp whose finger would land on its target: turned about the
#: approach axis, in this order.
TURN_STEPS = (np.pi / 6, -np.pi / 6, np.pi / 3, -np.pi / 3, np.pi / 2)


@dataclass(frozen=True, eq=False)
class RankedGrasp:
    """A feasible grasp: the ``grasp`` as given, the TCP pose used (``T_base_tcp``, the
    grasp turned by pi about Z when ``flipped``), joint configurations [rad] of grasp,
    pre-grasp and lift, the ``target`` scene object (or None), ``motion_cost`` [s] and
    ``score`` (higher is better), ``index`` in the input list; ``backoff`` [m]: how far
    the TCP was moved back along the approach axis to clear a collision (0: as given);
    ``turn`` [rad]: how far it was turned about the approach axis to keep the fingers off
    the target (0: as given)."""

    grasp: Grasp
    index: int
    T_base_tcp: np.ndarray
    q_grasp: np.ndarray
    q_pregrasp: np.ndarray
    q_lift: np.ndarray
    flipped: bool
    target: str | None
    motion_cost: float
    score: float
    backoff: float = 0.0
    turn: float = 0.0


@dataclass(frozen=True)
class FilterResult:
    """``ranked`` feasible grasps (best first) and ``rejected`` (index, reason) pairs."""

    ranked: list[RankedGrasp]
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def reasons(self) -> dict[str, int]:
        """How many grasps were dropped for each reason."""
        out: dict[str, int] = {}
        for _, r in self.rejected:
            out[r] = out.get(r, 0) + 1
        return out


def filter_grasps_report(
    grasps: Sequence[Grasp],
    robot: RobotModel,
    scene: PlanningScene,
    q_current: np.ndarray,
    motion_cost_weight: float = 0.05,
    pregrasp_distance: float = PREGRASP_DISTANCE,
    lift_height: float = LIFT_HEIGHT,
    max_width: float | None = None,
    allow_flip: bool = True,
    seed: int = 0,
    require_object: bool = True,
    backoff_steps: Sequence[float] = BACKOFF_STEPS,
    centre: bool = True,
    finger_check: bool = True,
    turn_steps: Sequence[float] = TURN_STEPS,
    collision_turns: bool = True,
) -> FilterResult:
    """:func:`filter_grasps` with the reasons for every rejection."""
    q_current = robot.check_q(q_current, "q_current")
    max_w = robot.gripper.max_width if max_width is None else max_width
    rejected: list[tuple[int, str]] = []
    keep: list[int] = []
    poses = []
    too_wide = f"too wide for the gripper (> {max_w:.3f} m)"
    # a predicted width beyond the stroke (a model trained for another gripper) is capped
    # when the finger check can judge from seen points whether the object fits
    seen = finger_check and any(o.vertices is not None for o in scene.objects.values())
    capped: set[int] = set()
    for i, g in enumerate(grasps):
        pose = np.asarray(getattr(g, "pose", None), dtype=np.float64)
        if pose.shape != (4, 4) or not np.all(np.isfinite(pose)) or not np.isfinite(g.width):
            rejected.append((i, "NaN in pose or width"))
        elif g.frame_id != robot.config.base_frame:
            rejected.append(
                (i, f"unknown frame {g.frame_id!r} (expected {robot.config.base_frame!r})")
            )
        elif g.width > max_w and not seen:
            rejected.append((i, too_wide))
        else:
            if g.width > max_w:
                capped.add(i)
            keep.append(i)
            poses.append(pose)
    if not keep:
        return FilterResult([], rejected)
    T = np.array(poses)
    # workspace box for grasp, pre-grasp and lift TCP positions; reach sphere for all
    pts = np.stack(
        [
            T[:, :3, 3],
            pregrasp_pose(T, pregrasp_distance)[:, :3, 3],
            lift_pose(T, lift_height)[:, :3, 3],
        ],
        axis=1,
    )
    in_box = robot.in_workspace(pts).all(axis=1)
    has_object = np.ones(len(keep), dtype=bool)
    if require_object:  # only where the workspace check passed
        inside = np.flatnonzero(in_box)
        has_object[inside] = _object_between_fingers(
            scene, T[inside], [min(grasps[keep[k]].width, max_w) for k in inside]
        )
    in_ws = in_box & has_object
    in_reach = (np.linalg.norm(pts - robot.reach_center, axis=2) <= robot.group.reach_radius).all(
        axis=1
    )
    idx = np.arange(len(keep))
    for k in idx[~in_ws]:
        rejected.append((keep[k], EMPTY_REASON if in_box[k] else "outside the workspace bounds"))
    for k in idx[in_ws & ~in_reach]:
        rejected.append((keep[k], "out of reach"))
    cand = idx[in_ws & in_reach]
    if cand.size == 0:
        return FilterResult([], rejected)
    # IK + collisions on the grasp as given; the pi-flipped variant only where it fails
    Tc = T[cand]
    # the target may touch the fingers and is carried after the lift: never the table or bin
    targets = [scene.object_at(p, exclude=CELL_OBSTACLES) for p in Tc[:, :3, 3]]
    if centre:
        Tc = _centre_on_targets(scene, Tc, targets, robot.gripper.max_width)
    turn = np.zeros(cand.size)
    if finger_check:
        blocked = _fingers_on_targets(scene, Tc, targets, pregrasp_distance)
        # a finger on the target: the grasp turned about its approach axis, smallest first
        # (a learned angle 30-90 deg off across an elongated object)
        for angle in turn_steps:
            redo = np.flatnonzero(blocked)
            if redo.size == 0:
                break
            Tv = T[cand[redo]] @ make_transform(rot_z(angle))
            tv = [targets[j] for j in redo]
            if centre:
                Tv = _centre_on_targets(scene, Tv, tv, robot.gripper.max_width)
            free = ~_fingers_on_targets(scene, Tv, tv, pregrasp_distance)
            Tc[redo[free]] = Tv[free]
            turn[redo[free]] = angle
            blocked[redo[free]] = False
        for j, k in enumerate(cand):
            if blocked[j]:
                rejected.append((keep[k], FINGER_REASON))
            elif keep[k] in capped and not _has_seen_points(scene, targets[j]):
                blocked[j] = True  # nothing to judge the capped width by
                rejected.append((keep[k], too_wide))
        if blocked.all():
            return FilterResult([], sorted(rejected))
        cand, Tc, turn = cand[~blocked], Tc[~blocked], turn[~blocked]
        targets = [t for t, b in zip(targets, blocked, strict=True) if not b]
    ok, Qg, Qp, Ql = _feasible(
        robot, scene, Tc, targets, q_current, seed, pregrasp_distance, lift_height
    )
    TT = Tc.copy()
    flipped = np.zeros(cand.size, dtype=bool)
    backoff = np.zeros(cand.size)
    ik_any = ~np.isnan(Qg[:, 0])
    # retries of what still fails, in order: the pi-flip, then the TCP backed off along the
    # approach axis (typically the palm on a tall object's top), as given and flipped
    flips = (False, True) if allow_flip else (False,)
    variants = [(0.0, True)] if allow_flip else []
    variants += [(step, flip) for step in backoff_steps for flip in flips]
    for step, flip in variants:
        redo = np.flatnonzero(~ok)
        if redo.size == 0:
            break
        Tv = Tc[redo] @ make_transform(t=[0.0, 0.0, -step]) @ (FLIP_Z if flip else np.eye(4))
        okv, Qgv, Qpv, Qlv = _feasible(
            robot,
            scene,
            Tv,
            [targets[i] for i in redo],
            q_current,
            seed,
            pregrasp_distance,
            lift_height,
        )
        good = redo[okv]
        ok[good] = True
        Qg[good], Qp[good], Ql[good] = Qgv[okv], Qpv[okv], Qlv[okv]
        TT[good] = Tv[okv]
        flipped[good] = flip
        backoff[good] = step
        ik_any[redo] |= ~np.isnan(Qgv[:, 0])
    # last, a grasp that reaches but collides (a finger on a neighbour in clutter) turned
    # about its approach axis, smallest turn first, re-centred and finger-checked again
    for angle in turn_steps if collision_turns else ():
        redo = np.flatnonzero(~ok & ik_any)
        if redo.size == 0:
            break
        Tv = Tc[redo] @ make_transform(rot_z(angle))
        tv = [targets[i] for i in redo]
        if centre:
            Tv = _centre_on_targets(scene, Tv, tv, robot.gripper.max_width)
        if finger_check:
            free = ~_fingers_on_targets(scene, Tv, tv, pregrasp_distance)
            redo, Tv, tv = redo[free], Tv[free], [t for t, f in zip(tv, free, strict=True) if f]
        for flip in flips:
            if redo.size == 0:
                break
            Tf = Tv @ FLIP_Z if flip else Tv
            okv, Qgv, Qpv, Qlv = _feasible(
                robot, scene, Tf, tv, q_current, seed, pregrasp_distance, lift_height
            )
            good = redo[okv]
            ok[good] = True
            Qg[good], Qp[good], Ql[good] = Qgv[okv], Qpv[okv], Qlv[okv]
            TT[good] = Tf[okv]
            flipped[good] = flip
            turn[good] += angle
            redo, Tv = redo[~okv], Tv[~okv]
            tv = [t for t, o in zip(tv, okv, strict=True) if not o]
    vmax = robot.velocity_limits
    ranked: list[RankedGrasp] = []
    for j, k in enumerate(cand):
        if not ok[j]:
            reason = "in collision" if ik_any[j] else "no IK for grasp + pre-grasp + lift"
            rejected.append((keep[k], reason))
            continue
        cost = float(np.max(np.abs(Qp[j] - q_current) / vmax))
        g = grasps[keep[k]]
        ranked.append(
            RankedGrasp(
                grasp=g,
                index=keep[k],
                T_base_tcp=TT[j],
                q_grasp=Qg[j],
                q_pregrasp=Qp[j],
                q_lift=Ql[j],
                flipped=bool(flipped[j]),
                backoff=float(backoff[j]),
                turn=float(turn[j]),
                target=targets[j],
                motion_cost=cost,
                score=float(g.quality - motion_cost_weight * cost),
            )
        )
    ranked.sort(key=lambda r: -r.score)
    rejected.sort()
    return FilterResult(ranked, rejected)


#: The region between the open fingers, in the grasp frame [m]: across the closing axis
#: (half the finger pad plus a margin) and from the TCP back towards the palm. Generous on
#: purpose: only grasps that clearly close on air are rejected.
CLOSING_HALF_THICKNESS = 0.015
CLOSING_DEPTH = 0.04
CLOSING_TIP_MARGIN = 0.005
#: Re-centring (``_centre_on_targets``): largest move along the closing axis and along
#: the pads [m].
MAX_CENTRE_SHIFT = 0.03
MAX_PAD_SHIFT = 0.04
#: ``_clear_the_palm``: gap [m] kept between the hand and the target's seen points, and
#: the largest move back along the approach axis [m] made for it.
PALM_CLEARANCE = 0.005
MAX_PALM_BACKOFF = 0.06
EMPTY_REASON = "nothing between the fingers (no perceived object in the closing volume)"
#: Finger-on-target check (``_fingers_on_targets``) [m]: a finger's geometry shrunk by
#: ``FINGER_MARGIN`` (a touch is fine) and sampled every ``FINGER_SAMPLE_STEP``; the seen
#: surface as a height map of ``FINGER_CELL`` squares, a sample counting as inside the
#: target ``FINGER_HEIGHT_MARGIN`` below it (depth noise); ``FINGER_MIN_HITS`` samples make
#: a hit (a lone noisy point does not).
FINGER_MARGIN = 0.002
FINGER_SAMPLE_STEP = 0.004
FINGER_CELL = 0.005
FINGER_HEIGHT_MARGIN = 0.003
FINGER_MIN_HITS = 3
FINGER_REASON = "a finger would land on the object (perceived points in its path)"


def _object_between_fingers(
    scene: PlanningScene, T: np.ndarray, widths: Sequence[float]
) -> np.ndarray:
    """Per grasp: does a graspable scene object (not the cell's table or bin) intersect
    the closing volume? Without graspable objects: all False once perception has reported
    the objects (the table is empty: a grasp there closes on air, its fingers on the
    table), all True before (nothing to judge by, e.g. without perception)."""
    names = [n for n in scene.objects if n not in CELL_OBSTACLES]
    if not names:
        return np.full(len(T), not scene.objects_reported)
    ok = np.ones(len(T), dtype=bool)
    half_z = (CLOSING_DEPTH + CLOSING_TIP_MARGIN) / 2
    offset = make_transform(t=[0.0, 0.0, CLOSING_TIP_MARGIN - half_z])
    for i, (Ti, w) in enumerate(zip(T, widths, strict=True)):
        half = (max(float(w), 0.01) / 2 + 0.005, CLOSING_HALF_THICKNESS, half_z)
        ok[i] = bool(scene.objects_in_box(Ti @ offset, half, names))
    return ok


def _hull_points(o: SceneObject) -> np.ndarray:
    """A convex scene object's hull vertices in the base frame [m]."""
    return np.asarray(o.vertices) @ o.T_base_object[:3, :3].T + o.T_base_object[:3, 3]


def _seen_points(o: SceneObject) -> np.ndarray:
    """The points perception saw of a perceived object (its hull's input in the base
    frame, minus the footprint copies at the table that close the hull)."""
    v = _hull_points(o)
    return v[v[:, 2] > v[:, 2].min() + 0.005]


#: Per target name: (seen points, hull points) in the base frame.
_TargetPoints = dict[str, tuple[np.ndarray, np.ndarray]]


def _target_points(scene: PlanningScene, targets: Sequence[str | None]) -> _TargetPoints:
    """:func:`_seen_points` and :func:`_hull_points` of each distinct perceived target,
    computed once for all the grasps on it."""
    out: _TargetPoints = {}
    for name in set(targets):
        o = scene.objects.get(name) if name is not None else None
        if o is not None and o.vertices is not None:
            out[name] = (_seen_points(o), _hull_points(o))
    return out


def _has_seen_points(scene: PlanningScene, name: str | None) -> bool:
    o = scene.objects.get(name) if name is not None else None
    return o is not None and o.vertices is not None


def _tcp_aabb(M: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds [m] in the TCP frame of a box ``lo``..``hi`` placed by ``M``."""
    c = np.array(
        [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    )
    c = c @ M[:3, :3].T + M[:3, 3]
    return c.min(axis=0), c.max(axis=0)


def _seat_on_targets(
    points: _TargetPoints, T: np.ndarray, targets: Sequence[str | None], max_width: float
) -> np.ndarray:
    """Shallow grasps moved forward along their approach axis until the TCP lies half the
    target's depth along that axis beyond its seen surface between the fingers, within
    ``TCP_DEPTH_RANGE`` (the rule the planar models' TCP depth follows); never moved
    back. The target's depth runs from that surface to its hull's farthest point (the
    hull is closed down to the table). The 6-DOF sampler put the TCP 8 mm under the top
    of a 5.4 cm cylinder and the pads slipped off its edge ("grasp empty")."""
    out = T.copy()
    lo, hi = TCP_DEPTH_RANGE
    for i, name in enumerate(targets):
        if name not in points:
            continue
        seen, hull = points[name]
        R, p = T[i][:3, :3], T[i][:3, 3]
        local = (seen - p) @ R  # in the grasp frame
        band = (np.abs(local[:, 0]) <= max_width / 2) & (
            np.abs(local[:, 1]) <= CLOSING_HALF_THICKNESS
        )
        if band.sum() < 5:
            continue
        top = float(local[band, 2].min())  # the surface between the fingers
        far = float(((hull - p) @ R[:, 2]).max())
        want = float(np.clip(0.5 * (far - top), lo, hi))
        move = want + top  # the TCP lies -top beyond the surface now
        if move > 0.0:
            out[i][:3, 3] += move * R[:, 2]
    return out


def _clear_the_palm(
    scene: PlanningScene, points: _TargetPoints, T: np.ndarray, targets: Sequence[str | None]
) -> np.ndarray:
    """Grasps moved back along their approach axis until the target's seen points under
    the hand (its links' bounding boxes in the TCP frame) lie ``PALM_CLEARANCE`` short of
    it, at most ``MAX_PALM_BACKOFF``; further than that they are left for the collision
    check. A planar model's TCP depth comes from the surface at the grasp point: on a
    standing bottle that is the shoulder, and the neck above it met the palm."""
    out = T.copy()
    hand = [_tcp_aabb(*box) for box in scene.hand_boxes()]
    for i, name in enumerate(targets):
        if name not in points or not hand:
            continue
        local = (points[name][0] - T[i][:3, 3]) @ T[i][:3, :3]  # in the grasp frame
        need = 0.0
        for a, b in hand:
            under = np.all((local[:, :2] >= a[:2]) & (local[:, :2] <= b[:2]), axis=1)
            if under.any():
                need = max(need, b[2] + PALM_CLEARANCE - float(local[under, 2].min()))
        if 0.0 < need <= MAX_PALM_BACKOFF:
            out[i][:3, 3] -= need * T[i][:3, 2]
    return out


def _finger_samples(scene: PlanningScene, sweep: float) -> np.ndarray:
    """Points (N, 3) [m, TCP frame] filling the volume the fingers sweep on the approach:
    each finger geometry's bounding box in the TCP frame, shrunk by ``FINGER_MARGIN``,
    stretched ``sweep`` back along -Z (the approach axis is +Z), on a
    ``FINGER_SAMPLE_STEP`` grid."""
    out = []
    for box in scene.finger_boxes():
        a, b = _tcp_aabb(*box)
        a, b = a + FINGER_MARGIN, b - FINGER_MARGIN
        a[2] -= sweep
        axes = [
            np.linspace(a[k], b[k], max(2, int(np.ceil((b[k] - a[k]) / FINGER_SAMPLE_STEP)) + 1))
            for k in range(3)
        ]
        out.append(np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3))
    return np.vstack(out) if out else np.zeros((0, 3))


class _HeightMap:
    """The highest seen point per ``cell`` [m] square of the table plane."""

    def __init__(self, points: np.ndarray, cell: float) -> None:
        self.cell = cell
        key = self._key(points)
        order = np.argsort(key, kind="stable")
        self.keys, start = np.unique(key[order], return_index=True)
        self.height = np.maximum.reduceat(points[order, 2], start)

    def _key(self, p: np.ndarray) -> np.ndarray:
        ij = np.floor(p[:, :2] / self.cell).astype(np.int64)
        return (ij[:, 0] << 32) + (ij[:, 1] & 0xFFFFFFFF)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """Height [m] of the seen surface over each point's cell (-inf where none)."""
        key = self._key(p)
        idx = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        return np.where(self.keys[idx] == key, self.height[idx], -np.inf)


def _fingers_on_targets(
    scene: PlanningScene, T: np.ndarray, targets: Sequence[str | None], sweep: float
) -> np.ndarray:
    """Per grasp: would a finger meet its target on the way in? True where at least
    ``FINGER_MIN_HITS`` samples of the volume the fingers sweep from ``sweep`` [m] back
    along the approach axis to the grasp lie under the target's seen surface (more than
    ``FINGER_HEIGHT_MARGIN`` below the highest point perception saw in their
    ``FINGER_CELL`` column) and above the table.

    The collision check lets the fingers touch the target: its hull is closed down to the
    table, so a rim grasp's inner finger is "inside" it. Under the seen surface, as seen
    by an overhead camera, the object is solid (the hull's own assumption); over the free
    inside of a mug or bowl the seen surface is its bottom, so a rim grasp's inner finger
    passes, while a finger that comes down on the target's top or enters its side
    (a closing axis across a side too wide for the stroke) is caught. Primitive scene
    objects (no points) are not judged."""
    out = np.zeros(len(T), dtype=bool)
    objs = scene.objects
    samples = _finger_samples(scene, sweep)
    maps: dict[str, tuple[_HeightMap, float]] = {}
    for i, name in enumerate(targets):
        o = objs.get(name) if name is not None else None
        if o is None or o.vertices is None:
            continue
        if name not in maps:
            v = np.asarray(o.vertices) @ o.T_base_object[:3, :3].T + o.T_base_object[:3, 3]
            table = float(v[:, 2].min())  # the hull's footprint copies lie on the table
            maps[name] = (_HeightMap(_seen_points(o), FINGER_CELL), table)
        hmap, table = maps[name]
        p = samples @ T[i][:3, :3].T + T[i][:3, 3]
        under = (p[:, 2] < hmap(p) - FINGER_HEIGHT_MARGIN) & (p[:, 2] > table + FINGER_MARGIN)
        out[i] = int(np.count_nonzero(under)) >= FINGER_MIN_HITS
    return out


def _centre_on_targets(
    scene: PlanningScene, T: np.ndarray, targets: Sequence[str | None], max_width: float
) -> np.ndarray:
    """Grasps moved to the middle of their target's perceived extent: first along the
    pads (+Y, at most ``MAX_PAD_SHIFT``), then along the closing axis (+X) where that
    extent fits the stroke (at most ``MAX_CENTRE_SHIFT``; whether the fingers then clear
    it is the finger check's call).

    A learned grasp is often 1-5 cm off an object's middle. Along the closing axis a
    finger then lands on an object nearly as wide as the stroke; along the pads they
    squeeze the object's flank and push it out sideways (the fingers close on nothing).
    The extents come from the points perception saw of the target (a perceived hull's
    vertices, minus the footprint copies at the table) from ``CLOSING_DEPTH`` above the TCP
    to just below it: between the open fingers (``|x| <= max_width / 2``) for the pads,
    within the finger band (``|y| <= CLOSING_HALF_THICKNESS``) for the closing axis. A rim
    grasp is moved onto the line through the rim's middle (where it pinches the wall
    square); objects wider than the stroke along the closing axis (a bowl seen from rim to
    rim) keep their x, and primitive scene objects are left as they are. Then a shallow
    grasp is seated deeper (``_seat_on_targets``), and last the hand is kept off the target
    (``_clear_the_palm``).
    """
    out = T.copy()
    points = _target_points(scene, targets)
    for i, name in enumerate(targets):
        if name not in points:
            continue
        seen = points[name][0]
        local = (seen - T[i][:3, 3]) @ T[i][:3, :3]  # in the grasp frame
        depth = (local[:, 2] >= -CLOSING_DEPTH) & (local[:, 2] <= CLOSING_TIP_MARGIN)
        between = depth & (np.abs(local[:, 0]) <= max_width / 2)
        if between.sum() >= 5:
            y = local[between, 1]
            shift = float(np.clip(0.5 * (y.min() + y.max()), -MAX_PAD_SHIFT, MAX_PAD_SHIFT))
            out[i][:3, 3] += shift * T[i][:3, 1]
            local = (seen - out[i][:3, 3]) @ T[i][:3, :3]
        band = depth & (np.abs(local[:, 1]) <= CLOSING_HALF_THICKNESS)
        if band.sum() < 5:
            continue
        lo, hi = float(local[band, 0].min()), float(local[band, 0].max())
        shift = 0.5 * (lo + hi)
        if hi - lo <= max_width and abs(shift) <= MAX_CENTRE_SHIFT:
            out[i][:3, 3] += shift * T[i][:3, 0]
    out = _seat_on_targets(points, out, targets, max_width)
    return _clear_the_palm(scene, points, out, targets)


def _feasible(
    robot: RobotModel,
    scene: PlanningScene,
    T: np.ndarray,
    targets: list[str | None],
    q_current: np.ndarray,
    seed: int,
    pregrasp_distance: float,
    lift_height: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """IK (grasp, pre-grasp, lift) then collisions, cheapest checks first. Rows of ``Q*``
    keep their IK solution (NaN when IK failed) so callers can tell IK from collision."""
    ok, Qg, Qp, Ql = reach_batch(
        robot, T, q_current, seed=seed, pregrasp_distance=pregrasp_distance, lift_height=lift_height
    )
    by_target: dict[str | None, list[int]] = {}
    for i in np.flatnonzero(ok):
        by_target.setdefault(targets[i], []).append(int(i))
    for target, ids in by_target.items():
        idx = np.array(ids)
        allowed = scene.finger_contacts(target)
        ignore = (target,) if target is not None else ()
        # grasp first (most rejections), then approach midpoint, pre-grasp, lift
        stages = [
            (lambda ii: Qg[ii], allowed, ()),
            (lambda ii: 0.5 * (Qg[ii] + Qp[ii]), allowed, ()),
            (lambda ii: Qp[ii], (), ()),
            (lambda ii: Ql[ii], (), ignore),
        ]
        for get, allow, ign in stages:
            if idx.size == 0:
                break
            hit = scene.in_collision_many(get(idx), allow, ign)
            ok[idx[hit]] = False
            idx = idx[~hit]
    return ok, Qg, Qp, Ql


def filter_grasps(
    grasps: Sequence[Grasp],
    robot: RobotModel,
    scene: PlanningScene,
    q_current: np.ndarray,
    **kwargs: object,
) -> list[RankedGrasp]:
    """Grasps (in the robot base frame) reachable with pre-grasp and lift and
    collision-free, ranked by quality and motion cost, best first. Grasps with NaN, an
    unknown frame or a width beyond the gripper are dropped
    (see :func:`filter_grasps_report` for the reasons)."""
    return filter_grasps_report(grasps, robot, scene, q_current, **kwargs).ranked  # type: ignore[arg-type]
