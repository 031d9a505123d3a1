"""Collision geometry of a segmented scene for the planner: the table plane plus one convex
hull per object, extruded down to the table (the camera only sees the top and the near
sides, the hidden volume below them is assumed occupied).

Hulls come from scipy's Qhull; faces are triangles wound counter-clockwise seen from
outside (outward normals), vertices in the base frame [m].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from grasp_core.validation import as_array, readonly
from grasp_perception.cloud import column_max, column_min
from grasp_perception.segmentation import SceneSegmentation


@dataclass(frozen=True, eq=False)
class CollisionObject:
    """A closed convex triangle mesh: ``vertices`` Vx3 [m, base frame], ``faces`` Fx3 int."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray

    def __post_init__(self) -> None:
        v = as_array(f"CollisionObject({self.name}).vertices", self.vertices, shape=(None, 3))
        f = as_array(
            f"CollisionObject({self.name}).faces", self.faces, shape=(None, 3), dtype=np.int64
        )
        if f.size and (f.min() < 0 or f.max() >= len(v)):
            from grasp_core.errors import ValidationError

            raise ValidationError(
                f"CollisionObject({self.name}).faces: index out of range 0..{len(v) - 1}"
            )
        object.__setattr__(self, "vertices", readonly(v))
        object.__setattr__(self, "faces", readonly(f))

    @property
    def centroid(self) -> np.ndarray:
        return self.vertices.mean(axis=0)

    def volume(self) -> float:
        """Enclosed volume [m^3] (divergence theorem over the outward-wound faces)."""
        a, b, c = (self.vertices[self.faces[:, i]] for i in range(3))
        return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


@dataclass(frozen=True, eq=False)
class CollisionScene:
    """What the planner collides against, in ``frame_id`` (the robot base) [m].

    ``table_plane`` is ``(a, b, c, d)`` (unit normal up) or None; ``table_height`` its
    height along +Z; ``table_min``/``table_max`` the axis-aligned extent of the points
    seen on the table (so the planner may use a finite slab); ``objects`` one convex hull
    per segmented object, named ``object_<label>``.
    """

    objects: tuple[CollisionObject, ...]
    table_plane: np.ndarray | None = None
    table_height: float | None = None
    table_min: np.ndarray | None = None
    table_max: np.ndarray | None = None
    frame_id: str = "panda_link0"
    stamp: float = 0.0
    skipped: tuple[str, ...] = field(default=())

    def object(self, name: str) -> CollisionObject:
        for o in self.objects:
            if o.name == name:
                return o
        from grasp_core.errors import ValidationError

        raise ValidationError(
            f"CollisionScene: no object {name!r}; known: {[o.name for o in self.objects]}"
        )


def convex_hull(points: np.ndarray, name: str = "object") -> CollisionObject:
    """Convex hull of Nx3 ``points`` as an outward-wound triangle mesh (raises QhullError
    for fewer than 4 points or degenerate, e.g. flat, sets)."""
    points = np.asarray(points, dtype=np.float64)
    hull = ConvexHull(points)
    used = hull.vertices
    remap = np.full(len(points), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    faces = remap[hull.simplices]
    verts = points[used]
    # orient each triangle so its normal agrees with Qhull's outward facet normal
    a, b, c = (verts[faces[:, i]] for i in range(3))
    flip = np.einsum("ij,ij->i", np.cross(b - a, c - a), hull.equations[:, :3]) < 0
    faces[flip] = faces[flip][:, [0, 2, 1]]
    return CollisionObject(name=name, vertices=verts, faces=faces)


def _hulls(
    groups: list[tuple[str, np.ndarray]], plane: np.ndarray | None, extrude_to_table: bool
) -> tuple[list[CollisionObject], list[str]]:
    objects, skipped = [], []
    for name, pts in groups:
        pts = np.asarray(pts, dtype=np.float64)
        if extrude_to_table and plane is not None:
            h = pts @ plane[:3] + plane[3]
            pts = np.concatenate([pts, pts - h[:, None] * plane[None, :3]])
        try:
            objects.append(convex_hull(pts, name))
        except (QhullError, ValueError) as exc:
            skipped.append(f"{name}: no convex hull ({str(exc).splitlines()[0]})")
    return objects, skipped


def collision_scene(seg: SceneSegmentation, extrude_to_table: bool = True) -> CollisionScene:
    """Build the :class:`CollisionScene` of a segmentation.

    With ``extrude_to_table`` every object's points are also projected onto the table
    plane before the hull is taken, closing the unseen volume down to the table.
    Objects whose hull is degenerate are listed in ``skipped`` (never raised).
    """
    plane = seg.table_plane
    groups = [(f"object_{o.label}", o.points) for o in seg.objects]
    objects, skipped = _hulls(groups, plane, extrude_to_table)
    table_min = table_max = None
    if len(seg.table_points):
        table_min = readonly(column_min(seg.table_points))
        table_max = readonly(column_max(seg.table_points))
    return CollisionScene(
        objects=tuple(objects),
        table_plane=None if plane is None else readonly(plane),
        table_height=seg.table_height,
        table_min=table_min,
        table_max=table_max,
        frame_id=seg.frame_id,
        stamp=seg.stamp,
        skipped=tuple(skipped),
    )


def collision_scene_from_cloud(
    points: np.ndarray,
    labels: np.ndarray,
    table_height: float | None = None,
    frame_id: str = "panda_link0",
    stamp: float = 0.0,
    extrude_to_table: bool = True,
) -> CollisionScene:
    """The same scene from a labelled object cloud (``/perception/object_points``: Nx3
    points [m] in ``frame_id`` and N labels), for a node that only sees the topic.

    ``table_height`` [m] along +Z (e.g. from the cell layout) gives a level table plane
    to extrude down to; None leaves the hulls as seen.
    """
    points = as_array("points", points, shape=(None, 3))
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(points):
        from grasp_core.errors import ValidationError

        raise ValidationError(f"labels: expected {len(points)} values, got {len(labels)}")
    plane = None if table_height is None else np.array([0.0, 0.0, 1.0, -float(table_height)])
    groups = [(f"object_{int(k)}", points[labels == k]) for k in np.unique(labels)]
    objects, skipped = _hulls(groups, plane, extrude_to_table)
    return CollisionScene(
        objects=tuple(objects),
        table_plane=None if plane is None else readonly(plane),
        table_height=None if table_height is None else float(table_height),
        frame_id=frame_id,
        stamp=stamp,
        skipped=tuple(skipped),
    )
