"""Grasp filter: bad input dropped with reasons, survivors feasible and ranked."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_core.grasp import Grasp
from grasp_core.se3 import make_transform, rot_x
from grasp_planning.grasp_filter import filter_grasps, filter_grasps_report
from grasp_planning.robot import RobotModel, load_robot
from grasp_planning.scenarios import cluttered_scene, grasp_candidates


@pytest.fixture(scope="module")
def panda() -> RobotModel:
    return RobotModel(load_robot("panda"))


def _top_down(obj, depth: float) -> np.ndarray:
    """A top-down TCP pose over ``obj``'s centre, ``depth`` [m] below its top."""
    return make_transform(rot_x(np.pi), [*obj.center[:2], obj.aabb_max[2] - depth])


def _perceived(panda: RobotModel, points: np.ndarray):
    """A planning scene holding one perceived object: the hull of ``points`` (what a
    camera saw of it) closed down to the table at z = 0."""
    from grasp_planning.collision import PlanningScene
    from grasp_planning.world import add_perceived_objects

    scene = PlanningScene(panda)
    add_perceived_objects(scene, points, np.zeros(len(points), int), table_z=0.0)
    return scene


def test_bad_candidates_are_dropped_with_reasons(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    scene, names = cluttered_scene(panda, rng, n_objects=1)
    obj = scene.objects[names[0]]
    top = _top_down(obj, 0.02)
    grasps = [
        Grasp(pose=top, width=0.05, quality=0.9),
        Grasp(pose=top, width=0.12, quality=0.9),  # wider than the 0.08 m stroke
        Grasp(pose=top, width=0.05, quality=0.9, frame_id="camera_link"),
        Grasp(pose=make_transform(rot_x(np.pi), [2.0, 0.0, 0.05]), width=0.05),
        Grasp(pose=make_transform(rot_x(np.pi), [0.5, 0.0, -0.03]), width=0.05),  # in the table
    ]
    rep = filter_grasps_report(grasps, panda, scene, panda.home)
    reasons = dict(rep.rejected)
    assert [r.index for r in rep.ranked] == [0]
    assert "too wide" in reasons[1]
    assert "unknown frame 'camera_link'" in reasons[2]
    assert "workspace" in reasons[3] or "reach" in reasons[3]
    assert reasons[4] in ("in collision", "outside the workspace bounds")


def test_survivors_are_feasible_and_ranked(panda: RobotModel, rng: np.random.Generator) -> None:
    scene, names = cluttered_scene(panda, rng)
    grasps = grasp_candidates(scene, names, 60, rng)
    ranked = filter_grasps(grasps, panda, scene, panda.home)
    assert len(ranked) >= 10
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    for r in ranked:
        np.testing.assert_allclose(panda.fk(r.q_grasp), r.T_base_tcp, atol=2e-3)
        allowed = scene.finger_contacts(r.target)
        assert not scene.in_collision(r.q_grasp, allowed)
        assert not scene.in_collision(r.q_pregrasp)
        assert panda.fk(r.q_lift)[2, 3] == pytest.approx(r.T_base_tcp[2, 3] + 0.10, abs=2e-3)
        assert r.target in names


def test_higher_quality_wins_at_equal_motion_cost(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    scene, names = cluttered_scene(panda, rng, n_objects=1)
    obj = scene.objects[names[0]]
    top = _top_down(obj, 0.02)
    grasps = [Grasp(pose=top, width=0.05, quality=q) for q in (0.2, 0.9, 0.5)]
    ranked = filter_grasps(grasps, panda, scene, panda.home)
    assert [r.index for r in ranked] == [1, 2, 0]


def test_unreachable_candidate_set_gives_nothing(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    scene, _ = cluttered_scene(panda, rng, n_objects=2)
    far = [
        Grasp(pose=make_transform(rot_x(np.pi), [1.3, y, 0.05]), width=0.05) for y in (-0.3, 0.3)
    ]
    rep = filter_grasps_report(far, panda, scene, panda.home)
    assert rep.ranked == [] and len(rep.rejected) == 2


def test_a_grasp_that_closes_on_air_is_rejected_once_perception_has_reported(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    from grasp_planning.collision import PlanningScene
    from grasp_planning.grasp_filter import EMPTY_REASON

    scene, names = cluttered_scene(panda, rng, n_objects=1)
    obj = scene.objects[names[0]]
    on = _top_down(obj, 0.02)
    z = on[2, 3]
    # beside the object: the closing volume (width 5 cm) misses it by several cm
    beside = make_transform(rot_x(np.pi), [obj.center[0], obj.aabb_max[1] + 0.06, z])
    grasps = [Grasp(pose=on, width=0.05, quality=0.5), Grasp(pose=beside, width=0.05, quality=0.9)]
    rep = filter_grasps_report(grasps, panda, scene, panda.home)
    assert [r.index for r in rep.ranked] == [0]
    assert dict(rep.rejected)[1] == EMPTY_REASON
    # the same grasps with the check off, and in a scene without objects: both kept
    off = filter_grasps_report(grasps, panda, scene, panda.home, require_object=False)
    assert sorted(r.index for r in off.ranked) == [0, 1]
    empty = filter_grasps_report(grasps, panda, PlanningScene(panda), panda.home)
    assert sorted(r.index for r in empty.ranked) == [0, 1]
    # perception reported the table empty (after the last object went): both close on air
    from grasp_planning.world import add_perceived_objects

    add_perceived_objects(scene, np.zeros((0, 3)), np.zeros(0, int))
    assert scene.objects_reported and not [n for n in scene.objects if n.startswith("object_")]
    cleared = filter_grasps_report(grasps, panda, scene, panda.home)
    assert not cleared.ranked and dict(cleared.rejected) == {0: EMPTY_REASON, 1: EMPTY_REASON}


def test_a_grasp_too_deep_for_the_palm_is_backed_off_along_its_approach(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    scene, names = cluttered_scene(panda, rng, n_objects=1)
    obj = scene.objects[names[0]]
    # the TCP deep below the top: the hand (not just the fingers) meets the object
    deep = _top_down(obj, 0.045)
    grasp = Grasp(pose=deep, width=0.05, quality=0.9)
    stiff = filter_grasps_report([grasp], panda, scene, panda.home, backoff_steps=())
    assert not stiff.ranked and dict(stiff.rejected)[0] == "in collision"
    rep = filter_grasps_report([grasp], panda, scene, panda.home)
    assert len(rep.ranked) == 1
    r = rep.ranked[0]
    assert r.backoff in (0.01, 0.02)
    # moved straight up (the approach axis points down), x and y unchanged
    np.testing.assert_allclose(r.T_base_tcp[:3, 3], deep[:3, 3] + [0.0, 0.0, r.backoff], atol=1e-9)
    np.testing.assert_allclose(panda.fk(r.q_grasp), r.T_base_tcp, atol=2e-3)


def test_a_grasp_off_a_perceived_objects_middle_is_centred_along_its_closing_axis(
    panda: RobotModel, rng: np.random.Generator
) -> None:

    # what a camera sees of a 6 x 3 x 5 cm box at x = 0.5: its top and its sides
    g = rng.uniform(-1, 1, (600, 3)) * [0.03, 0.015, 0.025] + [0.5, 0.0, 0.025]
    face = rng.integers(0, 3, 600)
    g[face == 0, 2] = 0.05
    g[face == 1, 0] = np.where(g[face == 1, 0] > 0.5, 0.53, 0.47)
    g[face == 2, 1] = np.where(g[face == 2, 1] > 0, 0.015, -0.015)
    scene = _perceived(panda, g)
    off = make_transform(rot_x(np.pi), [0.515, 0.0, 0.03])  # closing axis = base x
    grasp = Grasp(pose=off, width=0.05, quality=0.9)
    (r,) = filter_grasps_report([grasp], panda, scene, panda.home).ranked
    assert r.T_base_tcp[0, 3] == pytest.approx(0.5, abs=0.003)
    np.testing.assert_allclose(
        r.T_base_tcp[1:3, 3], off[1:3, 3], atol=0.021
    )  # y kept, z may back off
    # not centred, one finger comes down 5 mm onto the box's top edge
    from grasp_planning.grasp_filter import FINGER_REASON

    stiff = filter_grasps_report([grasp], panda, scene, panda.home, centre=False, turn_steps=())
    assert not stiff.ranked and dict(stiff.rejected)[0] == FINGER_REASON
    (kept,) = filter_grasps_report(
        [grasp], panda, scene, panda.home, centre=False, finger_check=False
    ).ranked
    assert kept.T_base_tcp[0, 3] == pytest.approx(0.515, abs=1e-9)


def _seen_box(rng: np.random.Generator, size: tuple[float, float, float], centre_xy) -> np.ndarray:
    """What a camera sees of a box standing on the table: its top and its sides."""
    hx, hy, hz = (s / 2 for s in size)
    g = rng.uniform(-1, 1, (1500, 3)) * [hx, hy, hz] + [*centre_xy, hz]
    face = rng.integers(0, 3, len(g))
    g[face == 0, 2] = 2 * hz
    g[face == 1, 0] = centre_xy[0] + np.where(g[face == 1, 0] > centre_xy[0], hx, -hx)
    g[face == 2, 1] = centre_xy[1] + np.where(g[face == 2, 1] > centre_xy[1], hy, -hy)
    return g


def test_a_grasp_whose_finger_lands_on_the_object_is_rejected(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    from grasp_core.se3 import rot_z
    from grasp_planning.grasp_filter import FINGER_REASON

    # a 10 x 3 x 5 cm box: across its 10 cm the open fingers (8 cm) come down on its top
    scene = _perceived(panda, _seen_box(rng, (0.10, 0.03, 0.05), (0.5, 0.0)))
    across_long = make_transform(rot_x(np.pi), [0.5, 0.0, 0.03])  # closing axis = base x
    across_short = across_long @ make_transform(rot_z(np.pi / 2))  # closing axis = base y
    grasps = [Grasp(pose=across_long, width=0.05, quality=0.9),
              Grasp(pose=across_short, width=0.05, quality=0.5),
              # a width beyond the 8 cm stroke (a model for another gripper): capped, the
              # seen points decide; across the long side as before, across the short kept
              Grasp(pose=across_long, width=0.12, quality=0.9),
              Grasp(pose=across_short, width=0.12, quality=0.4)]  # fmt: skip
    rep = filter_grasps_report(grasps, panda, scene, panda.home, turn_steps=())
    assert [r.index for r in rep.ranked] == [1, 3]
    assert dict(rep.rejected) == {0: FINGER_REASON, 2: FINGER_REASON}
    # turned about the approach axis, the grasps across the long side pass from 60 deg on
    turned = filter_grasps_report(grasps, panda, scene, panda.home)
    assert sorted(r.index for r in turned.ranked) == [0, 1, 2, 3]
    by_index = {r.index: r for r in turned.ranked}
    assert abs(by_index[0].turn) == pytest.approx(np.pi / 3) and by_index[1].turn == 0.0
    off = filter_grasps_report(grasps, panda, scene, panda.home, finger_check=False)
    assert sorted(r.index for r in off.ranked) == [0, 1]
    assert "too wide" in dict(off.rejected)[2] and "too wide" in dict(off.rejected)[3]
    # 2 cm off the short side's middle is centred first, then passes
    shifted = across_short.copy()
    shifted[1, 3] += 0.02
    (r,) = filter_grasps_report([Grasp(pose=shifted, width=0.05, quality=0.5)], panda, scene,
                                panda.home).ranked  # fmt: skip
    assert r.T_base_tcp[1, 3] == pytest.approx(0.0, abs=0.003)


def test_a_rim_grasp_with_a_finger_inside_a_mug_is_kept(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    from grasp_planning.grasp_filter import FINGER_REASON

    # a mug seen from above: a 3 mm wall of radius 4.5 cm, 9 cm tall, its rim and the
    # inside of its wall and bottom; wider than the stroke, so only a rim grasp works
    n = 3000
    a = rng.uniform(0, 2 * np.pi, n)
    r = np.where(rng.random(n) < 0.7, rng.uniform(0.0435, 0.045, n), rng.uniform(0, 0.043, n))
    z = np.where(r > 0.043, rng.uniform(0.02, 0.09, n), 0.008)
    z[r > 0.043] = np.where(rng.random(int((r > 0.043).sum())) < 0.5, 0.09, z[r > 0.043])
    pts = np.c_[0.5 + r * np.cos(a), r * np.sin(a), z]
    scene = _perceived(panda, pts)
    # TCP on the wall at +x, closing radially (base x), 2 cm below the rim
    rim = make_transform(rot_x(np.pi), [0.5 + 0.044, 0.0, 0.07])
    # the same grasp 3 cm further in: the inner finger comes down on the far wall
    on_rim = make_transform(rot_x(np.pi), [0.5 + 0.044 - 0.03, 0.0, 0.07])
    rep = filter_grasps_report(
        [Grasp(pose=rim, width=0.01, quality=0.9), Grasp(pose=on_rim, width=0.01, quality=0.9)],
        panda, scene, panda.home, centre=False,
    )  # fmt: skip
    assert [r.index for r in rep.ranked] == [0]
    assert dict(rep.rejected)[1] == FINGER_REASON


def test_a_side_grasp_whose_lower_finger_enters_the_object_is_rejected(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    from grasp_core.se3 import make_transform as mt
    from grasp_planning.grasp_filter import FINGER_REASON

    # an overhead camera sees only the top of a 7 x 7 x 8.3 cm box
    g = rng.uniform(-1, 1, (800, 3)) * [0.035, 0.035, 0.0] + [0.5, 0.0, 0.083]
    scene = _perceived(panda, g)
    # approach along -y from the side, closing vertically across the 8.3 cm height, TCP
    # 1 cm below the top at the box's middle: the lower finger comes in through its side
    R = np.column_stack([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    side = mt(R, [0.5, 0.0, 0.073])
    rep = filter_grasps_report([Grasp(pose=side, width=0.05, quality=0.9)], panda, scene,
                               panda.home, centre=False, turn_steps=())  # fmt: skip
    assert not rep.ranked and dict(rep.rejected)[0] == FINGER_REASON


def test_a_grasp_off_the_middle_along_its_pads_is_centred(
    panda: RobotModel, rng: np.random.Generator
) -> None:

    # a standing cylinder, r 3.3 cm, 5 cm tall, seen from above: its top disk and its flank
    n = 2000
    a, r = rng.uniform(0, 2 * np.pi, n), 0.033 * np.sqrt(rng.random(n))
    flank = rng.random(n) < 0.3
    r[flank] = 0.033
    z = np.where(flank, rng.uniform(0.0, 0.05, n), 0.05)
    pts = np.c_[0.5 + r * np.cos(a), r * np.sin(a), z]
    scene = _perceived(panda, pts)
    # closing along base x, the TCP 2.3 cm off the axis along the pads (base -y for this
    # top-down pose: rot_x(pi) turns +y to -y): the pads would squeeze the flank
    off = make_transform(rot_x(np.pi), [0.5, 0.023, 0.03])
    grasp = Grasp(pose=off, width=0.07, quality=0.9)
    (r0,) = filter_grasps_report([grasp], panda, scene, panda.home).ranked
    np.testing.assert_allclose(r0.T_base_tcp[:2, 3], [0.5, 0.0], atol=0.003)
    (kept,) = filter_grasps_report([grasp], panda, scene, panda.home, centre=False).ranked
    assert kept.T_base_tcp[1, 3] == pytest.approx(0.023, abs=1e-9)


def test_an_object_nearly_as_wide_as_the_stroke_is_centred_then_passes(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    from grasp_core.se3 import rot_z

    # 7.4 cm across in the 8 cm stroke: 4 mm off its middle, a finger lands on its top
    scene = _perceived(panda, _seen_box(rng, (0.10, 0.074, 0.05), (0.5, 0.0)))
    pose = make_transform(rot_x(np.pi) @ rot_z(np.pi / 2), [0.5, 0.004, 0.03])
    grasp = Grasp(pose=pose, width=0.06, quality=0.9)
    assert not filter_grasps_report([grasp], panda, scene, panda.home, centre=False).ranked
    (r,) = filter_grasps_report([grasp], panda, scene, panda.home).ranked
    assert r.T_base_tcp[1, 3] == pytest.approx(0.0, abs=0.002)


def test_a_grasp_on_a_bottles_shoulder_is_moved_up_to_its_neck(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    # a standing bottle seen from above: body r 3.5 cm to 14 cm, shoulder to 17 cm, neck
    # r 1.2 cm to 22 cm; a planar grasp 1.5 cm off the axis takes its depth from the
    # shoulder: the TCP 2 cm under it, the neck 5 cm into the hand
    n = 4000
    a, u = rng.uniform(0, 2 * np.pi, n), rng.random(n)
    r = np.where(u < 0.3, 0.012 * np.sqrt(rng.random(n)), rng.uniform(0.012, 0.035, n))
    z = np.where(u < 0.3, 0.22, 0.14 + 0.03 * (0.035 - r) / 0.023)
    pts = np.c_[0.5 + r * np.cos(a), r * np.sin(a), z]
    scene = _perceived(panda, pts)
    pose = make_transform(rot_x(np.pi), [0.5, 0.015, 0.15])  # closing along base x
    grasp = Grasp(pose=pose, width=0.04, quality=0.9)
    assert not filter_grasps_report([grasp], panda, scene, panda.home, centre=False).ranked
    (r0,) = filter_grasps_report([grasp], panda, scene, panda.home).ranked
    tcp = r0.T_base_tcp[:3, 3]
    np.testing.assert_allclose(tcp[:2], [0.5, 0.0], atol=0.004)  # centred on the neck
    # the hand's lowest point (3.7 cm behind the TCP) 5 mm over the neck's top
    assert tcp[2] == pytest.approx(0.22 - (0.037 - 0.005), abs=0.004)


def test_a_shallow_grasp_is_seated_half_way_down_its_target(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    # a 3.5 x 3.5 x 5.4 cm block; the TCP 8 mm under its top: the pads would hold its edge
    scene = _perceived(panda, _seen_box(rng, (0.035, 0.035, 0.054), (0.5, 0.0)))
    shallow = make_transform(rot_x(np.pi), [0.5, 0.0, 0.046])
    (r,) = filter_grasps_report([Grasp(pose=shallow, width=0.05)], panda, scene, panda.home).ranked
    assert r.T_base_tcp[2, 3] == pytest.approx(0.054 / 2, abs=0.003)  # half its height
    np.testing.assert_allclose(r.T_base_tcp[:2, 3], [0.5, 0.0], atol=0.003)
    # on a 20 cm tall block the TCP goes 3 cm under the top, and a deeper grasp stays
    tall = _perceived(panda, _seen_box(rng, (0.035, 0.035, 0.20), (0.5, 0.0)))
    for z, want in ((0.19, 0.17), (0.169, 0.169)):
        T = make_transform(rot_x(np.pi), [0.5, 0.0, z])
        (r,) = filter_grasps_report([Grasp(pose=T, width=0.05)], panda, tall, panda.home).ranked
        assert r.T_base_tcp[2, 3] == pytest.approx(want, abs=0.003)


def test_a_grasp_whose_finger_hits_a_neighbour_is_retried_turned(
    panda: RobotModel, rng: np.random.Generator
) -> None:
    from grasp_planning.world import add_perceived_objects

    # a 3 x 3 x 4 cm box with a taller neighbour 1.5 cm away along base x: closing along
    # x, the outer finger comes down on the neighbour; turned 90 deg it is free
    target = _seen_box(rng, (0.03, 0.03, 0.04), (0.5, 0.0))
    neighbour = _seen_box(rng, (0.03, 0.03, 0.08), (0.545, 0.0))
    from grasp_planning.collision import PlanningScene

    scene = PlanningScene(panda)
    labels = np.r_[np.zeros(len(target), int), np.ones(len(neighbour), int)]
    add_perceived_objects(scene, np.r_[target, neighbour], labels, table_z=0.0)
    grasp = Grasp(pose=make_transform(rot_x(np.pi), [0.5, 0.0, 0.025]), width=0.05, quality=0.9)
    stiff = filter_grasps_report([grasp], panda, scene, panda.home, collision_turns=False)
    assert not stiff.ranked and dict(stiff.rejected)[0] == "in collision"
    (r,) = filter_grasps_report([grasp], panda, scene, panda.home).ranked
    assert r.turn != 0.0
    # the closing axis (TCP x) now points away from the neighbour: mostly along base y
    assert abs(r.T_base_tcp[1, 0]) > abs(r.T_base_tcp[0, 0])
    assert r.T_base_tcp[:2, 3] == pytest.approx([0.5, 0.0], abs=0.005)


def test_the_table_and_the_bin_are_never_a_grasps_target(panda: RobotModel) -> None:
    """A grasp's target may touch the fingers and is carried after the lift; the cell's
    table and bin must stay obstacles: a TCP 1 cm above the bare table (the pads reach
    9.5 mm past it) is backed off until the fingers clear the table, or rejected."""
    from grasp_core.cell import load_layout
    from grasp_planning.collision import PlanningScene
    from grasp_planning.world import add_cell

    scene = PlanningScene(panda)
    add_cell(scene, load_layout())
    low = Grasp(pose=make_transform(rot_x(np.pi), [0.5, 0.0, 0.01]), width=0.04, quality=0.9)
    rep = filter_grasps_report([low], panda, scene, panda.home)
    for r in rep.ranked:
        assert r.target is None, r.target
        assert r.backoff > 0 and not scene.colliding_pairs(r.q_grasp)
    stiff = filter_grasps_report([low], panda, scene, panda.home, backoff_steps=())
    assert not stiff.ranked and dict(stiff.rejected)[0] == "in collision"
