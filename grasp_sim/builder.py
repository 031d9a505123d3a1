"""Adds objects (and their geoms) to a MuJoCo ``MjSpec``; shared by the world and trials.

Every object is one body named after the object, holding its collision geoms (class
``object``); inertia is set explicitly (mass from the spec, a solid box over the bounding
box) so meshes and thin-walled shapes need no watertight volume.
"""

from __future__ import annotations

import mujoco
import numpy as np

from grasp_core.se3 import matrix_to_quat, rot_y, rot_z
from grasp_sim.objects import ObjectSpec, _handle_reach

#: Contact parameters of object geoms (see docs/sim.md "Physics tuning").
OBJECT_CONDIM = 4
TORSIONAL_FRICTION = 0.005
ROLLING_FRICTION = 0.0001
#: Object geoms win MuJoCo's contact-parameter mixing, so an object's ``friction`` is the
#: coefficient of its contacts with the pads and the table (default mixing takes the max,
#: which would let the rubber pads make every object grippy).
OBJECT_PRIORITY = 1
#: Number of wall slabs approximating a mug's or bowl's round wall.
WALL_SEGMENTS = 16


def wxyz(R: np.ndarray) -> list[float]:
    """MuJoCo quaternion (w, x, y, z) of a rotation matrix."""
    x, y, z, w = matrix_to_quat(R)
    return [float(w), float(x), float(y), float(z)]


def mug_offset(obj: ObjectSpec) -> float:
    """X offset [m] of a mug's cup axis from the object frame origin (handle on +X)."""
    r, h, _ = obj.size
    return -_handle_reach(r, h) / 2


def _geom(body: mujoco.MjsBody, obj: ObjectSpec, gtype: int, size, pos=(0, 0, 0), R=None):
    g = body.add_geom()
    g.type = gtype
    g.size = list(size) + [0.0] * (3 - len(size))
    g.pos = list(map(float, pos))
    if R is not None:
        g.quat = wxyz(R)
    g.rgba = list(obj.rgba)
    g.friction = [obj.friction, TORSIONAL_FRICTION, ROLLING_FRICTION]
    g.condim = OBJECT_CONDIM
    g.priority = OBJECT_PRIORITY
    return g


def _ring(body, obj, cx, r_in_bottom, r_in_top, z0, z1, wall):
    """Wall slabs of a (possibly flaring) round wall from z0 to z1, inner radii given."""
    n = WALL_SEGMENTS
    dr = r_in_top - r_in_bottom
    height = z1 - z0
    length = float(np.hypot(dr, height))
    tilt = float(np.arctan2(dr, height))  # outward lean
    r_mid = (r_in_bottom + r_in_top) / 2 + wall / 2
    half_tan = (max(r_in_top, r_in_bottom) + wall) * np.tan(np.pi / n) * 1.05
    for k in range(n):
        th = 2 * np.pi * k / n
        R = rot_z(th) @ rot_y(tilt)
        pos = (cx + r_mid * np.cos(th), r_mid * np.sin(th), (z0 + z1) / 2)
        _geom(body, obj, mujoco.mjtGeom.mjGEOM_BOX, (wall / 2, half_tan, length / 2), pos, R)


def add_object_geoms(spec: mujoco.MjSpec, body: mujoco.MjsBody, obj: ObjectSpec) -> None:
    """Collision/visual geoms of ``obj`` in ``body`` (the object frame)."""
    G = mujoco.mjtGeom
    s = obj.size
    if obj.kind == "box":
        _geom(body, obj, G.mjGEOM_BOX, np.array(s) / 2)
    elif obj.kind == "cylinder":
        _geom(body, obj, G.mjGEOM_CYLINDER, (s[0], s[1] / 2))
    elif obj.kind == "sphere":
        _geom(body, obj, G.mjGEOM_SPHERE, (s[0],))
    elif obj.kind == "capsule":
        r, length = s
        _geom(body, obj, G.mjGEOM_CAPSULE, (r, max(length / 2 - r, 1e-4)), R=rot_y(np.pi / 2))
    elif obj.kind == "bottle":
        r, h, rn = s
        hb, hs, hn = 0.68 * h, 0.12 * h, 0.20 * h
        z = -h / 2
        _geom(body, obj, G.mjGEOM_CYLINDER, (r, hb / 2), (0, 0, z + hb / 2))
        _geom(body, obj, G.mjGEOM_CYLINDER, ((r + rn) / 2, hs / 2), (0, 0, z + hb + hs / 2))
        _geom(body, obj, G.mjGEOM_CYLINDER, (rn, hn / 2), (0, 0, z + hb + hs + hn / 2))
    elif obj.kind in ("mug", "bowl"):
        r, h, w = s
        cx = mug_offset(obj) if obj.kind == "mug" else 0.0
        r_bottom = r if obj.kind == "mug" else 0.55 * r
        _geom(body, obj, G.mjGEOM_CYLINDER, (r_bottom, w / 2), (cx, 0, -h / 2 + w / 2))
        _ring(body, obj, cx, r_bottom - w, r - w, -h / 2 + w, h / 2, w)
        if obj.kind == "mug":
            reach = _handle_reach(r, h)
            t = 0.008
            x_bar = cx + r + reach - t / 2
            _geom(body, obj, G.mjGEOM_BOX, (t / 2, 0.006, 0.3 * h), (x_bar, 0, 0))
            for zs in (-0.3 * h, 0.3 * h):
                _geom(
                    body, obj, G.mjGEOM_BOX, (reach / 2, 0.006, t / 2), (cx + r + reach / 2, 0, zs)
                )
    elif obj.kind == "mesh":
        off = -np.asarray(obj.mesh_offset)
        for i, part in enumerate(obj.mesh_parts):
            mname = f"{body.name}_part{i}"
            mesh = spec.add_mesh()
            mesh.name = mname
            mesh.file = part
            mesh.scale = [obj.scale] * 3
            g = _geom(body, obj, G.mjGEOM_MESH, (0, 0, 0), off)
            g.meshname = mname
    else:  # pragma: no cover - ObjectSpec validates kinds
        raise AssertionError(obj.kind)
    # Explicit inertia: solid box over the bounding box, at the frame origin.
    he = obj.half_extents
    m = obj.mass
    body.explicitinertial = True
    body.mass = m
    body.ipos = [0.0, 0.0, 0.0]
    body.inertia = [
        m / 3 * (he[1] ** 2 + he[2] ** 2),
        m / 3 * (he[0] ** 2 + he[2] ** 2),
        m / 3 * (he[0] ** 2 + he[1] ** 2),
    ]


def add_object(
    spec: mujoco.MjSpec,
    obj: ObjectSpec,
    pos=(0.0, 0.0, 0.0),
    R: np.ndarray | None = None,
    free: bool = True,
    name: str | None = None,
) -> mujoco.MjsBody:
    """Add ``obj`` as a body (free joint unless ``free`` is False) under the world body."""
    body = spec.worldbody.add_body()
    body.name = name or obj.name
    body.pos = list(map(float, pos))
    if R is not None:
        body.quat = wxyz(R)
    if free:
        j = body.add_freejoint()
        j.name = f"{body.name}_free"
    add_object_geoms(spec, body, obj)
    return body


def resting_height(obj: ObjectSpec) -> float:
    """Height [m] of the object frame above a support plane in its natural resting pose."""
    return float(obj.half_extents[2])
