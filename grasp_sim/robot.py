"""The Franka Panda from example-robot-data's URDF, made into a position-controlled
MuJoCo model: collision meshes (STL) from ``panda_description``, gravity-compensated
links, joint position servos with the URDF's effort limits and a parallel gripper whose
squeeze force is limited to the real hand's 70 N continuous force.
"""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

from grasp_core import paths
from grasp_core.errors import GraspBringupError
from grasp_core.gripper import GripperSpec, load_gripper
from grasp_sim.errors import SimConfigError

ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
HAND_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
BASE_LINK = "panda_link0"
HAND_BODY = "panda_hand"
TCP_BODY = "panda_hand_tcp"
#: T_panda_hand_tcp_grasp: the grasp frame (+X closing) is panda_hand_tcp turned +90 deg
#: about Z, since the fingers slide along panda_hand's +-Y (same as config/robots/panda.yaml).
T_TCP_GRASP = np.array(
    [[0.0, -1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
)
#: Position servo gains per arm joint: stiffness [N m/rad] and damping [N m s/rad].
ARM_KP = (4500.0, 4500.0, 3500.0, 3500.0, 2000.0, 2000.0, 2000.0)
ARM_KV = (450.0, 450.0, 350.0, 350.0, 200.0, 200.0, 200.0)
ARM_ARMATURE = 0.1  # reflected rotor inertia [kg m^2], as the real drives
#: Gripper width servo: stiffness [N/m] on the width error, finger damping [N s/m].
GRIPPER_KP = 5000.0
#: Finger damping [N s/m] (70 N closes a finger at ~0.2 m/s, about the real hand's speed)
#: and reflected inertia [kg]: MuJoCo's soft-contact stiffness scales with the effective
#: mass, so 15 g fingers would sink millimetres into an object under 70 N.
FINGER_DAMPING = 350.0
FINGER_ARMATURE = 1.0


def example_robot_data_dir() -> Path:
    """:func:`grasp_core.paths.example_robot_data_dir`, raising a SimConfigError."""
    try:
        return paths.example_robot_data_dir()
    except GraspBringupError as exc:
        raise SimConfigError(str(exc)) from exc


def panda_urdf_text(urdf: str = "panda_description/urdf/panda.urdf") -> str:
    """URDF text with ``package://example-robot-data/robots/`` resolved to files."""
    robots = example_robot_data_dir()
    path = robots / urdf
    if not path.is_file():
        raise SimConfigError(f"robot URDF not found: {path}")
    return path.read_text().replace("package://example-robot-data/robots/", f"{robots}/")


def panda_spec(
    urdf: str = "panda_description/urdf/panda.urdf", gripper: GripperSpec | None = None
) -> mujoco.MjSpec:
    """MjSpec of the Panda with actuators ``panda_joint1..7`` and ``gripper`` (width [m]).

    The arm links are gravity-compensated (as the real robot's controller does), so the
    servos only track. The gripper is one position servo on the tendon
    ``panda_finger_joint1 + panda_finger_joint2`` (= the opening width [m]) with force
    limited to ``gripper.max_force`` on each finger, and an equality keeping the fingers
    symmetric like the real hand's mechanism.
    """
    gripper = gripper or load_gripper("panda_hand")
    spec = mujoco.MjSpec.from_string(panda_urdf_text(urdf))
    spec.compiler.autolimits = True
    spec.compiler.fusestatic = False  # keep panda_link8 and panda_hand_tcp as frames
    for body in spec.bodies:
        if body.name.startswith("panda_") and body.name != BASE_LINK:
            body.gravcomp = 1.0
    for i, name in enumerate(ARM_JOINTS):
        j = spec.joint(name)
        j.armature = ARM_ARMATURE
        j.damping = [1.0, 0.0, 0.0]
        a = spec.add_actuator()
        a.name = name
        a.target = name
        a.trntype = mujoco.mjtTrn.mjTRN_JOINT
        a.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        a.biastype = mujoco.mjtBias.mjBIAS_AFFINE
        a.gainprm[0] = ARM_KP[i]
        a.biasprm[1] = -ARM_KP[i]
        a.biasprm[2] = -ARM_KV[i]
        a.ctrlrange = list(j.range)
        a.ctrllimited = 1
        effort = 87.0 if i < 4 else 12.0
        a.forcerange = [-effort, effort]
        a.forcelimited = 1
    for name in HAND_JOINTS:
        spec.joint(name).damping = [FINGER_DAMPING, 0.0, 0.0]
        spec.joint(name).armature = FINGER_ARMATURE
    # The URDF's <mimic> already becomes a joint equality in MuJoCo's URDF parser; add
    # one only if this MuJoCo version did not.
    if not any(e.type == mujoco.mjtEq.mjEQ_JOINT for e in spec.equalities):
        eq = spec.add_equality()
        eq.type = mujoco.mjtEq.mjEQ_JOINT
        eq.name1 = HAND_JOINTS[1]
        eq.name2 = HAND_JOINTS[0]
        eq.data[:5] = [0.0, 1.0, 0.0, 0.0, 0.0]
    tendon = spec.add_tendon()
    tendon.name = "gripper_width"
    for name in HAND_JOINTS:
        tendon.wrap_joint(name, 1.0)
    add_gripper_actuator(spec, "gripper", "gripper_width", gripper)
    return spec


def add_gripper_actuator(spec: mujoco.MjSpec, name: str, tendon: str, gripper) -> None:
    """Position servo on the opening-width tendon [m], force-limited like the real hand
    (``gripper.max_force`` [N]); shared by the world's Panda and the trial hand."""
    a = spec.add_actuator()
    a.name = name
    a.target = tendon
    a.trntype = mujoco.mjtTrn.mjTRN_TENDON
    a.gaintype = mujoco.mjtGain.mjGAIN_FIXED
    a.biastype = mujoco.mjtBias.mjBIAS_AFFINE
    a.gainprm[0] = GRIPPER_KP
    a.biasprm[1] = -GRIPPER_KP
    a.ctrlrange = [0.0, gripper.max_width]
    a.ctrllimited = 1
    a.forcerange = [-gripper.max_force, gripper.max_force]
    a.forcelimited = 1


def joint_limits(model: mujoco.MjModel, names: tuple[str, ...]) -> np.ndarray:
    """Nx2 position limits [rad or m] of the named joints."""
    return np.array([model.jnt_range[model.joint(n).id] for n in names])
