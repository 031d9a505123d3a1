"""``grasp_planning.camera_mount``: an eye-in-hand camera placed by forward kinematics
at each frame's stamp."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from grasp_core.cell import load_layout
from grasp_planning.camera_mount import LinkCameraMount, MountError
from grasp_planning.robot import RobotModel, load_robot


@pytest.fixture(scope="module")
def panda() -> RobotModel:
    return RobotModel(load_robot("panda"))


@pytest.fixture
def mount(panda: RobotModel) -> LinkCameraMount:
    wrist = load_layout().cameras["wrist"]
    return LinkCameraMount(panda, wrist.parent, wrist.T_parent_optical, max_gap=0.05)


def test_the_wrist_camera_is_where_the_simulator_renders_it(panda, mount) -> None:
    """Forward kinematics (pinocchio) to panda_hand plus the cell's offset is the pose
    MuJoCo renders the wrist camera from, at home and at another configuration."""
    from grasp_sim.world import SimWorld

    q2 = panda.home + np.array([0.3, -0.2, 0.1, 0.25, -0.3, 0.2, 0.5])
    with SimWorld() as world:
        for t, q in ((1.0, panda.home), (2.0, q2)):
            world.data.qpos[world._arm_qadr] = q
            mujoco.mj_forward(world.model, world.data)
            mount.add(t, panda.joint_names, q)
            np.testing.assert_allclose(
                mount.at(t), world.camera_model("wrist").T_base_camera, atol=1e-6
            )


def test_frames_between_joint_states_are_interpolated_and_far_ones_refused(panda, mount):
    q0, q1 = panda.home, panda.home + 0.1
    names = [*panda.joint_names, "panda_finger_joint1"]  # other joints are ignored
    assert mount.add(10.0, names, [*q0, 0.04]) is None
    assert mount.add(10.02, names, [*q1, 0.04]) is None
    np.testing.assert_allclose(mount.q_at(10.005), q0 + 0.025)
    np.testing.assert_allclose(mount.q_at(10.06), q1)  # 40 ms past the newest
    with pytest.raises(MountError, match=r"within 0\.050 s of the frame at 10\.100 s"):
        mount.at(10.1)
    with pytest.raises(MountError, match="nearest 0.100 s away"):
        mount.at(9.9)


def test_bad_joint_states_are_dropped_with_a_reason(panda, mount) -> None:
    with pytest.raises(MountError, match="no joint state of panda yet"):
        mount.at(0.0)
    assert "missing" in mount.add(1.0, panda.joint_names[:3], [0.0] * 3)
    assert mount.add(1.0, ["panda_finger_joint1"], [0.04]) is None  # the hand's own state
    assert "non-finite" in mount.add(1.0, panda.joint_names, [np.nan] * 7)
    assert "differ in length" in mount.add(1.0, panda.joint_names, [0.0])
    with pytest.raises(MountError):
        mount.at(1.0)  # none of those was kept


def test_history_is_bounded_and_an_unknown_link_is_named(panda) -> None:
    m = LinkCameraMount(panda, "panda_hand", np.eye(4), history=1.0)
    for k in range(100):
        m.add(k * 0.1, panda.joint_names, panda.home)
    assert len(m._stamps) <= 11
    with pytest.raises(Exception, match="panda_wrist_cam"):
        LinkCameraMount(panda, "panda_wrist_cam", np.eye(4))
