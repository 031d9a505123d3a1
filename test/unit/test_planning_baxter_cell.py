"""The embedded planner on Baxter's cell (config/cells/baxter_table.yaml, frame ``base``)
with the left arm: the workspace is reachable top-down, a pick on the table plans (IK and
collision-free paths) into the bin, and the Panda's cell is refused. No simulation: the
MuJoCo world models the Panda only."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_core.cell import CellConfigError, CellLayout, load_layout
from grasp_core.grasp import Grasp
from grasp_core.se3 import make_transform, rot_x, rot_z
from grasp_planning.backend import EmbeddedBackend
from grasp_planning.collision import PlanningScene
from grasp_planning.ik import check_grasp_reachable
from grasp_planning.pick import PickParams, PickState
from grasp_planning.robot import RobotModel, load_robot
from grasp_planning.scenarios import cluttered_scene
from grasp_planning.world import add_cell

BOX = (0.03, 0.05, 0.08)  # x, y, height [m]: 3 cm across fits Baxter's 4.17 cm stroke


@pytest.fixture(scope="module")
def baxter() -> RobotModel:
    return RobotModel(load_robot("baxter"), "left_arm")


@pytest.fixture(scope="module")
def cell() -> CellLayout:
    return load_layout("cells/baxter_table.yaml", frame="base")


def _top_grasp(x: float, y: float, z: float, yaw: float = 0.0) -> Grasp:
    return Grasp(
        pose=make_transform(rot_z(yaw) @ rot_x(np.pi), [x, y, z]),
        width=0.03,
        quality=0.9,
        frame_id="base",
    )


def test_left_arm_reaches_top_down_grasps_over_the_whole_workspace(baxter, cell) -> None:
    z = cell.table_top_z + 0.02
    xs = np.linspace(*cell.workspace_x, 3)
    ys = np.linspace(*cell.workspace_y, 3)
    for x in xs:
        for y in ys:
            for yaw in (0.0, np.pi / 2):
                r = check_grasp_reachable(baxter, _top_grasp(x, y, z, yaw), baxter.home)
                assert r.reachable, (x, y, yaw, r.reason)
                np.testing.assert_allclose(baxter.fk(r.q_grasp)[:3, 3], [x, y, z], atol=2e-3)
    # the table's far corner is beyond the arm: the check can say no
    far = check_grasp_reachable(baxter, _top_grasp(1.1, 0.85, z), baxter.home)
    assert not far.reachable


def test_embedded_backend_plans_a_top_down_pick_into_the_bin(baxter, cell) -> None:
    scene = PlanningScene(baxter)
    add_cell(scene, cell)
    x, y = np.mean(cell.workspace_x), np.mean(cell.workspace_y)
    scene.add_box("object_0", BOX, make_transform(t=[x, y, cell.table_top_z + BOX[2] / 2]))
    assert not scene.in_collision(baxter.home)
    backend = EmbeddedBackend(baxter, scene, cell)
    grasp = _top_grasp(x, y, cell.table_top_z + BOX[2] - 0.02)
    report = backend.filter([grasp], baxter.home)
    assert report.rejected == [] and len(report.ranked) == 1
    ranked = report.ranked[0]
    assert ranked.target == "object_0"
    plan = backend.plan_pick(ranked, baxter.home, PickParams())
    arm = {s.state: s.trajectory for s in plan.segments if s.trajectory is not None}
    assert [PickState.APPROACH, PickState.LIFT, PickState.PLACE, PickState.HOME] == [
        s for s in arm if s in (PickState.APPROACH, PickState.LIFT, PickState.PLACE, PickState.HOME)
    ]
    # the approach ends on the grasp, the place over the bin, the last motion at home
    np.testing.assert_allclose(
        baxter.fk(arm[PickState.APPROACH].end)[:3, 3], ranked.T_base_tcp[:3, 3], atol=2e-3
    )
    tcp = baxter.fk(arm[PickState.PLACE].end)
    assert np.all(np.abs(tcp[:2, 3] - cell.bin_center[:2]) < cell.bin_size[:2] / 2)
    assert tcp[2, 3] > cell.bin_top_z and tcp[2, 2] < -0.99  # above the rim, fingers down
    np.testing.assert_allclose(arm[PickState.HOME].end, baxter.home, atol=1e-6)
    # free-space motions are collision-free against the whole scene, within the limits
    for state in (PickState.PREGRASP, PickState.HOME):
        q = arm[state].positions
        assert not scene.in_collision_many(q).any(), state
        assert all(baxter.within_limits(qi, tol=1e-6) for qi in q), state
        assert arm[state].duration > 0.0


def test_cluttered_scene_uses_the_cells_workspace_and_table(baxter, cell, rng) -> None:
    scene, names = cluttered_scene(baxter, rng, n_objects=3, layout=cell)
    assert len(names) == 3
    for name in names:
        o = scene.objects[name]
        assert cell.workspace_x[0] < o.center[0] < cell.workspace_x[1]
        assert cell.workspace_y[0] < o.center[1] < cell.workspace_y[1]
        assert o.aabb_min[2] == pytest.approx(cell.table_top_z, abs=1e-6)


def test_the_panda_cell_is_refused_for_baxter(baxter, cell) -> None:
    panda_cell = load_layout()
    scene = PlanningScene(baxter)
    with pytest.raises(CellConfigError, match="'panda_link0'.*robot baxter needs frame 'base'"):
        add_cell(scene, panda_cell)
    with pytest.raises(CellConfigError, match="panda_table.yaml"):
        EmbeddedBackend(baxter, scene, panda_cell)
    add_cell(scene, cell)  # its own cell is fine
    assert "table" in scene.objects
