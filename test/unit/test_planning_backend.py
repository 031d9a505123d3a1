"""Backend selection; the MoveItPy backend's tests need a MoveIt 2 install."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from grasp_core.cell import load_layout
from grasp_core.errors import ValidationError
from grasp_planning.backend import (
    BACKENDS,
    EmbeddedBackend,
    MoveItPyBackend,
    make_backend,
    moveit_available,
)
from grasp_planning.collision import PlanningScene
from grasp_planning.errors import BackendUnavailable
from grasp_planning.robot import RobotModel, load_robot
from grasp_planning.world import add_cell

HAVE_MOVEIT = importlib.util.find_spec("moveit") is not None


@pytest.fixture(scope="module")
def parts():
    robot = RobotModel(load_robot("panda"))
    scene = PlanningScene(robot)
    layout = load_layout()
    add_cell(scene, layout)
    return robot, scene, layout


def test_auto_selects_by_moveit_availability(parts) -> None:
    backend = make_backend("auto", *parts)
    assert moveit_available() is HAVE_MOVEIT
    assert isinstance(backend, MoveItPyBackend if HAVE_MOVEIT else EmbeddedBackend)
    with pytest.raises(ValidationError, match="'embedded'"):
        make_backend("fast", *parts)
    assert "moveit" in BACKENDS


def test_embedded_backend_plans_and_solves(parts) -> None:
    robot, _, _ = parts
    backend = make_backend("embedded", *parts)
    T = robot.fk(robot.home)
    T[2, 3] -= 0.1
    q = backend.ik(T, robot.home)
    assert q is not None and np.allclose(backend.robot.fk(q)[:3, 3], T[:3, 3], atol=1e-3)
    traj = backend.plan_joint(robot.home, q)
    np.testing.assert_allclose(traj.end, q)


@pytest.mark.skipif(HAVE_MOVEIT, reason="checks the error raised where MoveIt is absent")
def test_moveit_backend_refuses_without_moveit(parts) -> None:
    with pytest.raises(BackendUnavailable, match="moveit"):
        MoveItPyBackend(*parts)


@pytest.mark.skipif(
    not HAVE_MOVEIT, reason="MoveIt 2 (Python package `moveit`) is not installed here"
)
def test_moveit_backend_plans_home_to_ready(parts) -> None:  # pragma: no cover - needs MoveIt
    robot, _, _ = parts
    backend = MoveItPyBackend(*parts)
    q_goal = robot.home.copy()
    q_goal[0] += 0.3
    traj = backend.plan_joint(robot.home, q_goal)
    np.testing.assert_allclose(traj.end, q_goal, atol=1e-3)


@pytest.mark.parametrize("graph", ["panda_grasp", "baxter_grasp"])
def test_launched_executors_plan_embedded_even_where_moveit_is_installed(
    graph, parts, monkeypatch
) -> None:
    """The launch files pass no MoveIt parameters, so MoveItPy cannot build its robot
    model there: with `auto` as the default the executor died on start wherever MoveIt
    was installed. The graphs' executors default to the embedded planner."""
    import grasp_planning.backend as backend_mod
    from grasp_bringup.graph import load_graph
    from grasp_planning.node import PARAMS

    monkeypatch.setattr(backend_mod, "moveit_available", lambda: True)
    (executor,) = [
        n for n in load_graph(graph, {"camera": "realsense"}).nodes if n.name == "executor"
    ]
    kind = executor.parameters["backend"]
    assert kind == "embedded"
    assert next(s.default for s in PARAMS if s.name == "backend") == "embedded"
    assert isinstance(make_backend(kind, *parts), EmbeddedBackend)
