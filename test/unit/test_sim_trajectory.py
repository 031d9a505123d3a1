"""SimDriver (no ROS): trajectory validation and JTC-like following on the simulated Panda."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_sim.driver import SimDriver, TrajectoryFollower, validate_trajectory
from grasp_sim.errors import TrajectoryError
from grasp_sim.objects import ObjectSpec
from grasp_sim.robot import ARM_JOINTS
from grasp_sim.world import SimWorld

HOME = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
GOAL = HOME + np.array([0.4, 0.3, -0.2, 0.4, 0.3, -0.3, 0.5])


@pytest.fixture(scope="module")
def driver() -> SimDriver:
    world = SimWorld([ObjectSpec("box5", "box", (0.05, 0.05, 0.05))], seed=0)
    return SimDriver(world)


def test_arm_follows_a_trajectory_given_in_any_joint_order(driver):
    driver.reset(seed=0)
    order = list(reversed(ARM_JOINTS))
    mid = (HOME + GOAL) / 2
    driver.submit("arm", order, [1.0, 2.0], [mid[::-1].tolist(), GOAL[::-1].tolist()])
    driver.step(int(1.0 / driver.world.timestep))  # t = 1 s: at the first point
    assert np.allclose(driver.world.joint_positions()[:7], mid, atol=0.02)
    driver.step(int(2.0 / driver.world.timestep))
    assert np.allclose(driver.world.joint_positions()[:7], GOAL, atol=0.01)
    assert driver.idle()


def test_hand_trajectory_sets_half_the_width_per_finger(driver):
    driver.reset(seed=0)
    driver.submit("hand", ["panda_finger_joint1"], [0.5], [[0.01]])
    driver.step(500)
    assert driver.world.gripper_width() == pytest.approx(0.02, abs=2e-3)
    q = driver.world.joint_positions()
    assert q[7] == pytest.approx(0.01, abs=1e-3) and q[8] == pytest.approx(0.01, abs=1e-3)


@pytest.mark.parametrize(
    ("names", "times", "positions", "match"),
    [
        (list(ARM_JOINTS[:6]), [1.0], [GOAL[:6].tolist()], "missing joints"),
        ([*ARM_JOINTS[:6], "elbow"], [1.0], [GOAL.tolist()], "unknown joints"),
        (list(ARM_JOINTS), [1.0], [[*GOAL[:6].tolist(), float("nan")]], "non-finite"),
        (list(ARM_JOINTS), [1.0], [[*GOAL[:6].tolist(), 3.5]], "panda_joint7 .* outside"),
        (list(ARM_JOINTS), [1.0, 1.0], [GOAL.tolist()] * 2, "strictly increasing"),
        (list(ARM_JOINTS), [1.0], [GOAL[:5].tolist()], "5 positions for 7 joints"),
        (list(ARM_JOINTS), [], [], "no points"),
    ],
)
def test_malformed_arm_trajectory_is_rejected_and_arm_holds_still(
    driver, names, times, positions, match
):
    driver.reset(seed=0)
    before = driver.world.joint_positions()
    with pytest.raises(TrajectoryError, match=match):
        driver.submit("arm", names, times, positions)
    driver.step(500)
    assert np.allclose(driver.world.joint_positions()[:7], before[:7], atol=2e-3)
    assert driver.idle()


def test_hand_rejects_width_beyond_the_stroke(driver):
    with pytest.raises(TrajectoryError, match="panda_finger_joint1"):
        driver.submit("hand", ["panda_finger_joint1"], [0.5], [[0.06]])
    with pytest.raises(TrajectoryError, match="'arm', 'hand'"):
        driver.submit("gripper", ["panda_finger_joint1"], [0.5], [[0.01]])


def test_reset_during_motion_stops_the_trajectory(driver):
    driver.reset(seed=0)
    driver.submit("arm", ARM_JOINTS, [3.0], [GOAL.tolist()])
    driver.step(300)
    t = driver.time
    driver.reset(seed=1)
    assert driver.idle() and driver.time == t  # the clock never runs backwards
    driver.step(500)
    assert np.allclose(driver.world.joint_positions()[:7], HOME, atol=2e-3)


def test_follower_interpolates_linearly_and_with_cubic_splines():
    limits = np.array([[-1.0, 1.0]])
    lin = validate_trajectory("t", ["j"], limits, ["j"], [1.0, 2.0], [[0.5], [1.0]])
    f = TrajectoryFollower(["j"], np.zeros(1))
    f.start(lin, 10.0, np.zeros(1))
    assert f.setpoint(9.0)[0] == 0.0  # before its start time: the start position
    assert f.setpoint(10.5)[0] == pytest.approx(0.25)
    assert f.setpoint(11.5)[0] == pytest.approx(0.75)
    assert f.setpoint(13.0)[0] == pytest.approx(1.0) and not f.active
    cub = validate_trajectory(
        "t", ["j"], limits, ["j"], [0.0, 1.0], [[0.0], [1.0]], velocities=[[0.0], [0.0]]
    )
    f.start(cub, 0.0, np.zeros(1))
    assert f.setpoint(0.5)[0] == pytest.approx(0.5)
    assert f.setpoint(0.25)[0] == pytest.approx(0.15625)  # 3u^2 - 2u^3
