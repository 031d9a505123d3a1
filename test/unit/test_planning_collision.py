"""Planning scene: table/bin/objects, SRDF pairs, allowed contacts, perceived hulls."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_core.cell import load_layout
from grasp_core.se3 import make_transform, rot_x
from grasp_planning.collision import PlanningScene
from grasp_planning.errors import SceneError
from grasp_planning.ik import solve_ik
from grasp_planning.robot import RobotModel, load_robot
from grasp_planning.world import add_cell, add_perceived_objects, cell_names


@pytest.fixture(scope="module")
def panda() -> RobotModel:
    return RobotModel(load_robot("panda"))


@pytest.fixture
def scene(panda: RobotModel) -> PlanningScene:
    s = PlanningScene(panda)
    add_cell(s, load_layout())
    return s


def _q_at(panda: RobotModel, p: list[float]) -> np.ndarray:
    res = solve_ik(panda, make_transform(rot_x(np.pi), p), panda.home)
    assert res.success
    return res.q


def test_hand_in_table_collides_and_home_does_not(panda: RobotModel, scene: PlanningScene) -> None:
    assert set(cell_names()) <= set(scene.objects)
    assert not scene.in_collision(panda.home)
    q = _q_at(panda, [0.5, 0.0, -0.01])  # TCP 1 cm below the table top
    assert scene.in_collision(q)
    assert any(obj == "table" for _, obj in scene.colliding_pairs(q))
    assert not scene.in_collision(_q_at(panda, [0.5, 0.0, 0.10]))


def test_srdf_disabled_pairs_are_not_checked(scene: PlanningScene) -> None:
    names = {(scene._geom_link[a], scene._geom_link[b]) for a, b in scene._self_pairs}
    assert ("panda_link5", "panda_link6") not in names  # adjacent in the SRDF
    assert ("panda_link1", "panda_link5") in names  # kept


def test_target_may_touch_fingers_only_when_allowed(
    panda: RobotModel, scene: PlanningScene
) -> None:
    # a box exactly between the open fingers, a little wider than their gap
    q = _q_at(panda, [0.5, 0.0, 0.06])
    T = panda.fk(q)
    scene.add_box("target", (0.085, 0.01, 0.02), make_transform(T[:3, :3], T[:3, 3]))
    pairs = scene.colliding_pairs(q)
    assert pairs and all(obj == "target" for _, obj in pairs)
    assert {link for link, _ in pairs} <= {"panda_leftfinger", "panda_rightfinger"}
    assert scene.in_collision(q)
    assert not scene.in_collision(q, allowed=scene.finger_contacts("target"))
    assert not scene.in_collision(q, ignore=["target"])


def test_convex_hull_from_points_and_from_faces(panda: RobotModel, scene: PlanningScene) -> None:
    q = _q_at(panda, [0.5, 0.0, 0.12])
    cube = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    pts = (cube - 0.5) * 0.06 + [0.5, 0.0, 0.12 + 0.06]  # around the hand
    scene.add_convex("blob", pts)
    assert scene.in_collision(q)
    scene.remove("blob")
    assert not scene.in_collision(q)
    from scipy.spatial import ConvexHull

    faces = ConvexHull(pts).simplices
    scene.add_convex("mesh", pts, faces)
    assert scene.in_collision(q)


def test_perceived_objects_become_solid_hulls(
    panda: RobotModel, scene: PlanningScene, rng: np.random.Generator
) -> None:
    top = np.column_stack(
        [rng.uniform(0.48, 0.52, 200), rng.uniform(-0.02, 0.02, 200), np.full(200, 0.08)]
    )
    labels = np.zeros(200, int)
    names = add_perceived_objects(scene, top, labels, table_z=0.0)
    assert names == ["object_0"]
    obj = scene.objects["object_0"]
    assert obj.aabb_min[2] == pytest.approx(0.0) and obj.aabb_max[2] == pytest.approx(0.08)
    assert scene.object_at([0.5, 0.0, 0.04]) == "object_0"
    assert scene.in_collision(_q_at(panda, [0.5, 0.0, 0.04]))
    # a new perception replaces the old objects
    add_perceived_objects(scene, top + np.array([0.0, 0.3, 0.0]), labels)
    assert scene.objects["object_0"].aabb_min[1] > 0.25


def test_bad_objects_are_rejected_with_names(scene: PlanningScene) -> None:
    with pytest.raises(SceneError, match="needs 3 size values"):
        scene.add_box("b", (0.1, 0.1), np.eye(4))
    with pytest.raises(SceneError, match=">= 4 vertices"):
        scene.add_convex("c", np.zeros((3, 3)))
    with pytest.raises(SceneError, match="present: .*table"):
        scene.remove("nothing")


def test_broad_phase_agrees_with_every_pair(
    panda: RobotModel, scene: PlanningScene, rng: np.random.Generator
) -> None:
    scene.add_box("obstacle", (0.2, 0.2, 0.3), make_transform(t=[0.45, 0.1, 0.15]))
    Q = panda.random_configurations(300, rng)
    fast = scene.in_collision_many(Q)
    slow = np.array([bool(scene.colliding_pairs(q)) for q in Q])  # checks every pair
    assert 0.05 < fast.mean() < 0.95
    np.testing.assert_array_equal(fast, slow)


def test_carried_object_moves_with_the_hand(panda: RobotModel, scene: PlanningScene) -> None:
    q_grasp = _q_at(panda, [0.5, 0.0, 0.05])
    T = panda.fk(q_grasp)
    # a 6 cm cube held 4 cm below the TCP... and a thin wall the hand alone clears
    scene.add_box("cube", (0.06, 0.06, 0.06), make_transform(t=T[:3, 3] - np.array([0, 0, 0.04])))
    q_up = _q_at(panda, [0.5, 0.0, 0.25])
    T_up = panda.fk(q_up)
    scene.add_box(
        "shelf", (0.3, 0.3, 0.01), make_transform(t=T_up[:3, 3] - np.array([0, 0, 0.065]))
    )
    assert not scene.in_collision(q_up, ignore=["cube"])  # the arm alone is clear
    with scene.carrying("cube", q_grasp):
        assert scene.in_collision(q_up)  # the carried cube hits the shelf below the hand
        assert not scene.in_collision(q_up, ignore=["shelf"])
        assert not scene.in_collision(q_grasp, ignore=["table", "shelf"])  # not vs the fingers
    assert not scene.in_collision(q_up, ignore=["cube"])
    assert scene.objects["cube"].center[2] == pytest.approx(T[2, 3] - 0.04)


def test_points_seen_on_the_arm_are_not_made_into_obstacles(
    panda: RobotModel, scene: PlanningScene, rng: np.random.Generator
) -> None:
    q = panda.home
    assert not scene.in_collision(q)
    # the camera sees the hand (points around the TCP at home) in the same cluster as an
    # object on the table: without the self-filter the hull down to the table engulfs the arm
    hand = panda.fk(q, "panda_hand")[:3, 3]
    arm_pts = hand + rng.uniform(-0.01, 0.01, (100, 3))
    obj_pts = np.column_stack(
        [rng.uniform(0.58, 0.62, 100), rng.uniform(-0.02, 0.02, 100), np.full(100, 0.06)]
    )
    pts = np.vstack([arm_pts, obj_pts])
    labels = np.zeros(len(pts), int)
    on_robot = scene.points_on_robot(q, pts)
    assert on_robot[:100].all() and not on_robot[100:].any()
    add_perceived_objects(scene, pts, labels, table_z=0.0)
    assert scene.in_collision(q)  # the merged hull swallows the hand
    add_perceived_objects(scene, pts, labels, table_z=0.0, q_robot=q)
    assert not scene.in_collision(q)
    assert scene.objects["object_0"].aabb_max[0] == pytest.approx(0.62, abs=0.002)
