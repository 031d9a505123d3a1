"""Planning scene: the robot's collision geometry (coal) plus the table, the place bin and
perceived objects, with SRDF-disabled self-collision pairs.

Checks run in pinocchio's ``computeCollisions`` over a coal dynamic-AABB-tree broad phase
(C++; coal narrow phase), one call per configuration. Allowed contacts (the target object vs the fingers during a grasp) and
ignored objects (the carried object after the grasp) switch collision pairs off; the
resulting pair masks are cached per (allowed, ignored) set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import coal
import numpy as np
import pinocchio as pin

from grasp_core.se3 import check_transform, make_transform
from grasp_core.validation import as_array, readonly, require_range
from grasp_planning.errors import SceneError
from grasp_planning.robot import RobotModel

OBJECT_KINDS = ("box", "cylinder", "sphere", "convex")


@dataclass(frozen=True, eq=False)
class SceneObject:
    """A static obstacle in the base frame.

    ``kind`` is one of :data:`OBJECT_KINDS`; ``size`` is (x, y, z) [m] for a box,
    (radius, length) for a cylinder (axis = local Z), (radius,) for a sphere, empty for a
    convex mesh whose ``vertices`` (Nx3 [m], object frame) and ``faces`` (Mx3 int) form
    its hull. ``T_base_object`` places it.
    """

    name: str
    kind: str
    T_base_object: np.ndarray
    size: tuple[float, ...] = ()
    vertices: np.ndarray | None = None
    faces: np.ndarray | None = None
    aabb_min: np.ndarray = field(init=False, repr=False)
    aabb_max: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in OBJECT_KINDS:
            raise SceneError(f"{self.name}: kind {self.kind!r} is not one of {OBJECT_KINDS}")
        T = check_transform(f"{self.name}.T_base_object", self.T_base_object)
        object.__setattr__(self, "T_base_object", readonly(T))
        want = {"box": 3, "cylinder": 2, "sphere": 1, "convex": 0}[self.kind]
        if len(self.size) != want:
            raise SceneError(
                f"{self.name}: a {self.kind} needs {want} size values, got {self.size}"
            )
        for i, s in enumerate(self.size):
            require_range(f"{self.name}.size[{i}]", s, 0.0, None, low_inclusive=False)
        if self.kind == "convex":
            v = as_array(f"{self.name}.vertices", self.vertices, shape=(None, 3))
            if v.shape[0] < 4:
                raise SceneError(f"{self.name}: a convex hull needs >= 4 vertices, got {len(v)}")
            object.__setattr__(self, "vertices", readonly(v))
            if self.faces is not None:
                f = np.asarray(self.faces)
                if f.ndim != 2 or f.shape[1] != 3 or f.min() < 0 or f.max() >= len(v):
                    raise SceneError(
                        f"{self.name}.faces: expected Mx3 indices into {len(v)} vertices"
                    )
                object.__setattr__(self, "faces", readonly(f.astype(np.int64)))
        corners = self._local_corners() @ T[:3, :3].T + T[:3, 3]
        object.__setattr__(self, "aabb_min", readonly(corners.min(axis=0)))
        object.__setattr__(self, "aabb_max", readonly(corners.max(axis=0)))

    def _local_corners(self) -> np.ndarray:
        if self.kind == "convex":
            return np.asarray(self.vertices)
        if self.kind == "box":
            h = np.array(self.size) / 2
        elif self.kind == "cylinder":
            h = np.array([self.size[0], self.size[0], self.size[1] / 2])
        else:
            h = np.full(3, self.size[0])
        return np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * h

    def geometry(self) -> coal.CollisionGeometry:
        if self.kind == "box":
            return coal.Box(*self.size)
        if self.kind == "cylinder":
            return coal.Cylinder(self.size[0], self.size[1])
        if self.kind == "sphere":
            return coal.Sphere(self.size[0])
        pts = coal.StdVec_Vec3s()
        for p in np.asarray(self.vertices):
            pts.append(np.asarray(p, dtype=np.float64))
        if self.faces is None:
            return coal.Convex.convexHull(pts, False, None)
        tris = coal.StdVec_Triangle()
        for a, b, c in np.asarray(self.faces):
            tris.append(coal.Triangle(int(a), int(b), int(c)))
        return coal.Convex(pts, tris)

    @property
    def center(self) -> np.ndarray:
        return (self.aabb_min + self.aabb_max) / 2


class PlanningScene:
    """Robot + obstacles; ``in_collision(q)`` answers for one configuration [rad].

    ``padding`` [m] is a safety margin between the robot and every obstacle (not applied
    to self-collision). Mutating methods invalidate the cached collision data; the class
    is thread-safe (one lock around the pinocchio data).

    ``objects_reported`` is set once perception has reported the scene's objects
    (:func:`grasp_planning.world.add_perceived_objects`, even with none): from then on a
    scene without graspable objects means an empty table, not one nobody has looked at.
    """

    def __init__(self, robot: RobotModel, padding: float = 0.005) -> None:
        self.robot = robot
        self.padding = require_range("padding", padding, 0.0, 0.1)
        self.objects_reported = False
        self._objects: dict[str, SceneObject] = {}
        self._query_geoms: dict[str, tuple[SceneObject, coal.CollisionGeometry]] = {}
        self._carried: dict[str, tuple[int, np.ndarray]] = {}
        self._lock = threading.RLock()
        self._dirty = True
        # robot self-collision pairs minus the SRDF's disabled ones
        gm = robot.geometry.clone()
        gm.addAllCollisionPairs()
        if robot.config.srdf is not None:
            pin.removeCollisionPairs(robot.model, gm, str(robot.config.srdf))
        self._self_pairs = [(p.first, p.second) for p in gm.collisionPairs]
        self._robot_geom = robot.geometry
        model = robot.model
        self._geom_link = [model.frames[g.parentFrame].name for g in robot.geometry.geometryObjects]
        # geometries that move with the arm (attached to a joint > 0)
        self._moving = [
            i for i, g in enumerate(robot.geometry.geometryObjects) if g.parentJoint > 0
        ]
        self._data = model.createData()

    # ---- objects ----------------------------------------------------------------------

    @property
    def objects(self) -> dict[str, SceneObject]:
        return dict(self._objects)

    def add(self, obj: SceneObject) -> SceneObject:
        """Add or replace ``obj`` (by name)."""
        with self._lock:
            self._objects[obj.name] = obj
            self._dirty = True
        return obj

    def add_box(self, name: str, size: Iterable[float], T_base_object: np.ndarray) -> SceneObject:
        """Box of ``size`` (x, y, z) [m] centred at ``T_base_object``."""
        return self.add(SceneObject(name, "box", T_base_object, tuple(float(s) for s in size)))

    def add_cylinder(
        self, name: str, radius: float, length: float, T_base_object: np.ndarray
    ) -> SceneObject:
        """Cylinder [m] along the local Z axis, centred at ``T_base_object``."""
        return self.add(SceneObject(name, "cylinder", T_base_object, (radius, length)))

    def add_sphere(self, name: str, radius: float, p_base: np.ndarray) -> SceneObject:
        return self.add(SceneObject(name, "sphere", make_transform(t=p_base), (radius,)))

    def add_convex(
        self,
        name: str,
        vertices: np.ndarray,
        faces: np.ndarray | None = None,
        T_base_object: np.ndarray | None = None,
    ) -> SceneObject:
        """Convex hull given by ``vertices`` (Nx3 [m]) and ``faces`` (Mx3), or of the
        points alone (qhull) when ``faces`` is None (e.g. a perceived object's points)."""
        T = np.eye(4) if T_base_object is None else T_base_object
        return self.add(SceneObject(name, "convex", T, (), vertices=vertices, faces=faces))

    def remove(self, name: str) -> None:
        with self._lock:
            if name not in self._objects:
                raise SceneError(
                    f"scene object {name!r} unknown; present: {', '.join(self._objects) or 'none'}"
                )
            del self._objects[name]
            self._dirty = True

    def clear(self, keep: Iterable[str] = ()) -> None:
        """Remove every object except those named in ``keep``."""
        keep = set(keep)
        with self._lock:
            self._objects = {k: v for k, v in self._objects.items() if k in keep}
            self._dirty = True

    def object_at(
        self, p_base: np.ndarray, margin: float = 0.02, exclude: Iterable[str] = ()
    ) -> str | None:
        """Name of the object whose bounding box (grown by ``margin`` [m]) contains the point,
        nearest centre first; None if none (used to find a grasp's target object)."""
        p = np.asarray(p_base, dtype=np.float64)
        best, best_d = None, np.inf
        skip = set(exclude)
        for name, o in self._objects.items():
            if name in skip:
                continue
            if np.all(p >= o.aabb_min - margin) and np.all(p <= o.aabb_max + margin):
                d = float(np.linalg.norm(p - o.center))
                if d < best_d:
                    best, best_d = name, d
        return best

    def objects_in_box(
        self,
        T_base_box: np.ndarray,
        half_extents: Iterable[float],
        names: Iterable[str] | None = None,
    ) -> list[str]:
        """Objects (of ``names``, default all) whose geometry intersects the box of
        ``half_extents`` [m] placed by ``T_base_box`` (e.g. a gripper's closing volume)."""
        T = np.asarray(T_base_box, dtype=np.float64)
        h = np.asarray(list(half_extents), dtype=np.float64)
        box = coal.Box(*(2.0 * h))
        tf_box = coal.Transform3s(T[:3, :3], T[:3, 3])
        reach = np.abs(T[:3, :3]) @ h  # the box's axis-aligned half extents in the base
        lo, hi = T[:3, 3] - reach, T[:3, 3] + reach
        with self._lock:
            objs = [self._objects[n] for n in (self._objects if names is None else names)]
        hits = []
        for o in objs:
            if np.any(hi < o.aabb_min) or np.any(lo > o.aabb_max):
                continue  # bounding boxes apart: no need for the exact test
            req, res = coal.CollisionRequest(), coal.CollisionResult()
            To = o.T_base_object
            geom = self._query_geometry(o)
            if coal.collide(box, tf_box, geom, coal.Transform3s(To[:3, :3], To[:3, 3]), req, res):
                hits.append(o.name)
        return hits

    def _query_geometry(self, o: SceneObject) -> coal.CollisionGeometry:
        """``o``'s coal geometry, built once per object (a hull is a qhull run; the filter
        asks once per grasp). Objects are immutable and replaced, never edited, so the
        cache entry is valid while it holds the same object."""
        with self._lock:
            cached = self._query_geoms.get(o.name)
            if cached is None or cached[0] is not o:
                cached = self._query_geoms[o.name] = (o, o.geometry())
            return cached[1]

    # ---- collision model ----------------------------------------------------------------

    @contextmanager
    def carrying(self, name: str, q_grasp: np.ndarray) -> Iterator[None]:
        """Within the block, object ``name`` moves with the hand as it was at ``q_grasp``
        [rad] and is checked against every other obstacle (not against the robot, which
        holds it); afterwards it is back where it was."""
        q = self.robot.check_q(q_grasp, "q_grasp")
        with self._lock:
            if name not in self._objects:
                raise SceneError(
                    f"cannot carry {name!r}: not in the scene ({', '.join(self._objects) or 'empty'})"
                )
            jid = self.robot._tcp_joint
            pin.forwardKinematics(self.robot.model, self._data, q)
            T_base_joint = self._data.oMi[jid].homogeneous
            T_joint_object = np.linalg.inv(T_base_joint) @ self._objects[name].T_base_object
            self._carried[name] = (jid, T_joint_object)
            self._dirty = True
        try:
            yield
        finally:
            with self._lock:
                self._carried.pop(name, None)
                self._dirty = True

    def _rebuild(self) -> None:
        gm = self._robot_geom.clone()
        gm.removeAllCollisionPairs()
        self._obj_geom: dict[int, str] = {}
        carried: dict[int, str] = {}
        for name, (jid, T) in self._carried.items():
            o = self._objects[name]
            gid = gm.addGeometryObject(
                pin.GeometryObject(
                    f"carried/{name}", jid, pin.SE3(T[:3, :3], T[:3, 3]), o.geometry()
                )
            )
            carried[gid] = name
        for name, o in self._objects.items():
            if name in self._carried:
                continue
            gid = gm.addGeometryObject(
                pin.GeometryObject(
                    f"scene/{name}",
                    0,
                    0,
                    pin.SE3(o.T_base_object[:3, :3], o.T_base_object[:3, 3]),
                    o.geometry(),
                )
            )
            self._obj_geom[gid] = name
        pairs: list[tuple[int, int, str | None, str | None]] = []
        for a, b in self._self_pairs:
            pairs.append((a, b, self._geom_link[a], self._geom_link[b]))
        for gid, name in self._obj_geom.items():
            for r in self._moving:
                pairs.append((r, gid, self._geom_link[r], name))
            for c, cname in carried.items():
                pairs.append((c, gid, cname, name))
        for a, b, _, _ in pairs:
            gm.addCollisionPair(pin.CollisionPair(a, b))
        self._pairs = pairs
        self._geom = gm
        self._masks: dict[tuple[frozenset, frozenset], pin.GeometryData] = {}
        self._managers: dict[tuple[frozenset, frozenset], object] = {}
        self._dirty = False

    def _geom_data(self, allowed: frozenset, ignore: frozenset) -> pin.GeometryData:
        key = (allowed, ignore)
        gd = self._masks.get(key)
        if gd is None:
            gd = pin.GeometryData(self._geom)
            for k, (_a, b, la, lb) in enumerate(self._pairs):
                if b in self._obj_geom:
                    gd.collisionRequests[k].security_margin = self.padding
                    if lb in ignore or la in ignore or (la, lb) in allowed:
                        gd.deactivateCollisionPair(k)
            self._masks[key] = gd
        return gd

    def _manager(self, allowed: frozenset, ignore: frozenset):
        """coal dynamic AABB tree over the masked pairs: the same answers as checking
        every pair (tested) at a fraction of the cost (AABBs skip far-apart pairs)."""
        key = (allowed, ignore)
        mgr = self._managers.get(key)
        if mgr is None:
            gd = self._geom_data(allowed, ignore)
            mgr = pin.BroadPhaseManager_DynamicAABBTreeCollisionManager(
                self.robot.model, self._geom, gd
            )
            self._managers[key] = mgr
        return mgr

    def _normalise(
        self, allowed: Iterable[tuple[str, str]], ignore: Iterable[str]
    ) -> tuple[frozenset, frozenset]:
        allowed = frozenset((str(a), str(b)) for a, b in allowed)
        ignore = frozenset(ignore)
        return allowed, ignore

    def in_collision(
        self,
        q: np.ndarray,
        allowed: Iterable[tuple[str, str]] = (),
        ignore: Iterable[str] = (),
    ) -> bool:
        """Whether the robot at ``q`` [rad] touches itself or an obstacle (within
        ``padding``), except (link, object) pairs in ``allowed`` and objects in ``ignore``."""
        q = self.robot.check_q(q)
        key = self._normalise(allowed, ignore)
        with self._lock:
            if self._dirty:
                self._rebuild()
            mgr = self._manager(*key)
            return bool(pin.computeCollisions(self.robot.model, self._data, mgr, q, True))

    def in_collision_many(
        self,
        Q: np.ndarray,
        allowed: Iterable[tuple[str, str]] = (),
        ignore: Iterable[str] = (),
    ) -> np.ndarray:
        """:meth:`in_collision` for each row of ``Q`` (N x nq) -> (N,) bool."""
        Q = np.atleast_2d(np.asarray(Q, dtype=np.float64))
        key = self._normalise(allowed, ignore)
        out = np.zeros(Q.shape[0], dtype=bool)
        model, data = self.robot.model, self._data
        with self._lock:
            if self._dirty:
                self._rebuild()
            mgr = self._manager(*key)
            for i, q in enumerate(Q):
                out[i] = pin.computeCollisions(model, data, mgr, q, True)
        return out

    def validity_fn(
        self,
        allowed: Iterable[tuple[str, str]] = (),
        ignore: Iterable[str] = (),
        workspace: bool = True,
    ):
        """A fast ``valid(q) -> bool`` for planners: inside the joint limits, collision-free
        (with ``allowed`` / ``ignore`` as in :meth:`in_collision`) and, with ``workspace``,
        the TCP inside the robot's workspace box. No input validation: ``q`` must be a
        float64 array of the group's size."""
        key = self._normalise(allowed, ignore)
        robot = self.robot
        model, data = robot.model, self._data
        lo, hi = robot.lower, robot.upper
        wmin, wmax = robot.workspace_min, robot.workspace_max
        fid = robot.tcp_frame_id

        def valid(q: np.ndarray) -> bool:
            if (q < lo).any() or (q > hi).any():
                return False
            with self._lock:
                if self._dirty:
                    self._rebuild()
                if pin.computeCollisions(model, data, self._manager(*key), q, True):
                    return False
                if workspace:
                    p = pin.updateFramePlacement(model, data, fid).translation
                    return bool((p >= wmin).all() and (p <= wmax).all())
            return True

        return valid

    def colliding_pairs(
        self,
        q: np.ndarray,
        allowed: Iterable[tuple[str, str]] = (),
        ignore: Iterable[str] = (),
    ) -> list[tuple[str, str]]:
        """(link, link-or-object) names of every pair in contact at ``q`` (for reports)."""
        q = self.robot.check_q(q)
        key = self._normalise(allowed, ignore)
        with self._lock:
            if self._dirty:
                self._rebuild()
            gd = self._geom_data(*key)
            pin.computeCollisions(self.robot.model, self._data, self._geom, gd, q, False)
            return [
                (la, lb)
                for k, (_, _, la, lb) in enumerate(self._pairs)
                if gd.activeCollisionPairs[k] and gd.collisionResults[k].isCollision()
            ]

    def points_on_robot(
        self, q: np.ndarray, points: np.ndarray, margin: float = 0.02
    ) -> np.ndarray:
        """(N,) bool: which ``points`` (Nx3 [m], base frame) lie on the robot at ``q``
        [rad], i.e. inside a link's collision geometry bounding box grown by ``margin``
        [m] (a robot self-filter for perceived clouds: the arm seen by the camera)."""
        q = self.robot.check_q(q)
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        out = np.zeros(pts.shape[0], dtype=bool)
        if pts.shape[0] == 0:
            return out
        gm = self._robot_geom
        with self._lock:
            gd = pin.GeometryData(gm)
            pin.updateGeometryPlacements(self.robot.model, self._data, gm, gd, q)
            for i, g in enumerate(gm.geometryObjects):
                geom = g.geometry
                geom.computeLocalAABB()
                lo = np.asarray(geom.aabb_local.min_) - margin
                hi = np.asarray(geom.aabb_local.max_) + margin
                M = gd.oMg[i]
                local = (pts - M.translation) @ M.rotation  # R^T (p - t), row-wise
                out |= np.all((local >= lo) & (local <= hi), axis=1)
        return out

    def finger_boxes(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The finger links' collision geometry in the TCP frame, fingers open at the
        gripper's ``max_width``: one ``(T_tcp_geometry, lo, hi)`` per geometry, ``lo`` /
        ``hi`` [m] its local bounding box (exact for the box primitives robot
        descriptions use for fingers). Computed once; the fingers move with the TCP."""
        return self._tcp_boxes(self.robot.gripper.finger_links)

    def hand_boxes(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The same for the hand links (palm, gripper body), as :meth:`finger_boxes`."""
        return self._tcp_boxes(self.robot.gripper.hand_links)

    def _tcp_boxes(self, links: tuple[str, ...]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        cache = self.__dict__.setdefault("_tcp_box_cache", {})
        if links in cache:
            return cache[links]
        robot = self.robot
        q = np.asarray(robot.home, dtype=np.float64)
        wanted = set(links)
        gm = self._robot_geom
        T_tcp_inv = np.linalg.inv(robot.fk(q))
        boxes = []
        with self._lock:
            gd = pin.GeometryData(gm)
            pin.updateGeometryPlacements(robot.model, self._data, gm, gd, q)
            for i, g in enumerate(gm.geometryObjects):
                if self._geom_link[i] not in wanted:
                    continue
                geom = g.geometry
                geom.computeLocalAABB()
                T = T_tcp_inv @ gd.oMg[i].homogeneous
                boxes.append(
                    (T, np.asarray(geom.aabb_local.min_), np.asarray(geom.aabb_local.max_))
                )
        cache[links] = boxes
        return boxes

    def finger_contacts(
        self, target: str | None, include_hand: bool = False
    ) -> tuple[tuple[str, str], ...]:
        """Allowed (link, target) pairs for a grasp on ``target``: the finger links (and the
        hand links with ``include_hand``)."""
        if target is None:
            return ()
        g = self.robot.gripper
        links = (*g.finger_links, *g.hand_links) if include_hand else g.finger_links
        return tuple((link, target) for link in links)
