"""Collision scene: convex hulls extruded to the table, outward faces, table extent."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_core.errors import ValidationError
from grasp_perception.scene import CollisionObject, collision_scene, convex_hull
from grasp_perception.segmentation import segment
from grasp_perception.synthetic import SyntheticBox, SyntheticScene, default_camera, render


def test_hulls_recover_box_volumes_and_table() -> None:
    boxes = (
        SyntheticBox((0.42, -0.1), (0.06, 0.05, 0.08), yaw=0.4),
        SyntheticBox((0.6, 0.1), (0.05, 0.05, 0.04)),
    )
    frame, _ = render(SyntheticScene(boxes=boxes, table_height=0.01), default_camera())
    seg = segment(frame)
    scene = collision_scene(seg)
    assert scene.skipped == () and len(scene.objects) == 2
    assert scene.table_height == pytest.approx(0.01, abs=0.002)
    assert scene.frame_id == "panda_link0"
    assert np.all(scene.table_min[:2] < 0.25) and np.all(scene.table_max[:2] > 0.25)
    vols = sorted(o.volume() for o in scene.objects)
    truth = sorted(float(np.prod(b.size)) for b in boxes)
    for v, t in zip(vols, truth, strict=True):
        assert v == pytest.approx(t, rel=0.2)
    for obj in scene.objects:
        # every hull reaches down to the table and its faces point outwards
        assert obj.vertices[:, 2].min() == pytest.approx(0.01, abs=0.003)
        a, b, c = (obj.vertices[obj.faces[:, i]] for i in range(3))
        normals = np.cross(b - a, c - a)
        centre = obj.vertices.mean(axis=0)
        assert np.all(np.einsum("ij,ij->i", normals, a - centre) > 0)
    assert scene.object("object_0") is scene.objects[0]
    with pytest.raises(ValidationError, match="known"):
        scene.object("nope")


def test_degenerate_cluster_is_skipped_not_raised() -> None:
    frame, _ = render(
        SyntheticScene(boxes=(SyntheticBox((0.5, 0), (0.05, 0.05, 0.05)),)), default_camera()
    )
    seg = segment(frame)
    flat = collision_scene(seg, extrude_to_table=False)
    assert len(flat.objects) == 1  # top and sides: a proper 3-D hull
    square = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], float)
    with pytest.raises(Exception, match="(?i)qhull|initial simplex|flat"):
        convex_hull(square)


def test_collision_object_validates_faces() -> None:
    v = np.eye(3)
    with pytest.raises(ValidationError, match="index out of range"):
        CollisionObject("x", v, np.array([[0, 1, 5]]))
    tet = convex_hull(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float))
    assert tet.volume() == pytest.approx(1 / 6)
    assert not tet.vertices.flags.writeable


def test_scene_from_labelled_cloud_matches_segmentation_scene() -> None:
    from grasp_perception.scene import collision_scene_from_cloud

    boxes = (
        SyntheticBox((0.45, -0.1), (0.05, 0.06, 0.07)),
        SyntheticBox((0.6, 0.1), (0.04, 0.04, 0.04)),
    )
    frame, _ = render(SyntheticScene(boxes=boxes), default_camera())
    seg = segment(frame)
    pts, labels = seg.object_points()
    a = collision_scene(seg)
    b = collision_scene_from_cloud(
        pts.astype(np.float32), labels.astype(np.uint32), table_height=0.0
    )
    assert [o.name for o in b.objects] == [o.name for o in a.objects]
    for oa, ob in zip(a.objects, b.objects, strict=True):
        assert ob.volume() == pytest.approx(oa.volume(), rel=0.05)
    with pytest.raises(ValidationError, match="labels"):
        collision_scene_from_cloud(pts, labels[:-1])
