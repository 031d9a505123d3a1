"""Robot models: config loading, FK/Jacobian against pinocchio's reference, TCP convention."""

from __future__ import annotations

import numpy as np
import pinocchio as pin
import pytest

from grasp_planning.errors import RobotConfigError
from grasp_planning.robot import RobotModel, available_robots, load_robot


@pytest.fixture(scope="module")
def panda() -> RobotModel:
    return RobotModel(load_robot("panda"))


def test_robot_configs_ship_panda_and_baxter() -> None:
    assert {"panda", "baxter"} <= set(available_robots())
    cfg = load_robot("baxter")
    assert {g.name for g in cfg.groups} == {"left_arm", "right_arm"}
    assert cfg.group("right_arm").joints[0] == "right_s0"


def test_unknown_robot_and_group_list_valid_names() -> None:
    with pytest.raises(RobotConfigError, match="available: .*panda"):
        load_robot("ur5")
    with pytest.raises(RobotConfigError, match="available: arm"):
        load_robot("panda").group("left_arm")


def test_fk_matches_pinocchio_reference_at_known_configurations(panda: RobotModel) -> None:
    cfg = panda.config
    full = pin.buildModelFromUrdf(str(cfg.urdf))
    data = full.createData()
    fid = full.getFrameId("panda_hand_tcp")
    R_hand_grasp = pin.rpy.rpyToMatrix(0.0, 0.0, np.pi / 2)
    for q7 in (np.zeros(7), panda.home, np.array([0.3, -0.4, 0.2, -1.9, 0.1, 1.4, -0.5])):
        q_full = np.concatenate([q7, [0.04, 0.04]])
        pin.framesForwardKinematics(full, data, q_full)
        T_ref = data.oMf[fid].homogeneous.copy()
        T_ref[:3, :3] = T_ref[:3, :3] @ R_hand_grasp
        np.testing.assert_allclose(panda.fk(q7), T_ref, atol=1e-12)
    # zero configuration by hand: flange 0.107 + TCP 0.1034 below the elbow chain
    T0 = panda.fk(np.zeros(7))
    np.testing.assert_allclose(
        T0[:3, 3], [0.088, 0.0, 0.333 + 0.316 + 0.384 - 0.107 - 0.1034], atol=1e-9
    )
    np.testing.assert_allclose(T0[:3, 2], [0.0, 0.0, -1.0], atol=1e-9)  # approach points down


def test_grasp_tcp_x_is_the_finger_closing_axis(panda: RobotModel) -> None:
    cfg = panda.config
    full = pin.buildModelFromUrdf(str(cfg.urdf))
    data = full.createData()
    q7 = np.array([0.2, -0.3, 0.1, -2.0, 0.3, 1.7, 0.4])
    left = full.getFrameId("panda_leftfinger")
    p = []
    for w in (0.0, 0.04):
        pin.framesForwardKinematics(full, data, np.concatenate([q7, [w, w]]))
        p.append(data.oMf[left].translation.copy())
    finger_motion = (p[1] - p[0]) / np.linalg.norm(p[1] - p[0])
    x_axis = panda.fk(q7)[:3, 0]
    assert abs(abs(finger_motion @ x_axis) - 1.0) < 1e-9


def test_batch_kinematics_match_pinocchio(panda: RobotModel, rng: np.random.Generator) -> None:
    Q = panda.random_configurations(20, rng)
    T, J = panda.fk_jacobian_batch(Q)
    for i, q in enumerate(Q):
        np.testing.assert_allclose(T[i], panda.fk(q), atol=1e-12)
        np.testing.assert_allclose(J[i], panda.jacobian(q), atol=1e-12)


def test_jacobian_matches_finite_differences(panda: RobotModel) -> None:
    q = panda.home.copy()
    J = panda.jacobian(q)
    eps = 1e-7
    for j in range(panda.nq):
        dq = np.zeros(panda.nq)
        dq[j] = eps
        dp = (panda.fk(q + dq)[:3, 3] - panda.fk(q - dq)[:3, 3]) / (2 * eps)
        np.testing.assert_allclose(J[:3, j], dp, atol=1e-6)


def test_baxter_arms_load_with_their_own_tcp() -> None:
    cfg = load_robot("baxter")
    left, right = RobotModel(cfg, "left_arm"), RobotModel(cfg, "right_arm")
    assert left.joint_names[0] == "left_s0" and right.nq == 7
    pl, pr = left.fk(left.home)[:3, 3], right.fk(right.home)[:3, 3]
    assert pl[1] > 0.3 and pr[1] < -0.3  # left arm on +Y
    assert left.gripper.joint_positions(0.04).tolist() == pytest.approx([0.02, -0.02])


def test_home_and_limits_come_from_config_and_urdf(panda: RobotModel) -> None:
    assert panda.within_limits(panda.home)
    assert panda.upper[3] == pytest.approx(-0.0698)
    assert panda.velocity_limits[0] == pytest.approx(2.175)
    assert panda.gripper.joint_positions(0.06).tolist() == pytest.approx([0.03, 0.03])
    assert panda.gripper.width_from_joints(np.array([0.03, 0.03])) == pytest.approx(0.06)
