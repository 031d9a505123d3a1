"""The free-floating Panda hand used by grasp trials: a mocap-driven palm and two fingers.

Built from boxes sized by :class:`~grasp_core.gripper.GripperSpec` (``panda_hand``), not
the STL hand mesh: boxes make contacts cheap and predictable, which is what lets trials run
at >= 30/s. Geometry in the grasp frame (+Z approach, +X closing, origin at the TCP):

- fingers: ``finger_thickness`` along X, ``finger_width`` along Y, from the palm face at
  z = -``finger_length`` to the pad tip at z = +``PAD_TIP`` (the real rubber pads reach
  9.5 mm past the TCP); inner faces at x = ±width/2;
- palm: a 0.2 x 0.063 m (real hand's footprint) box ``palm_depth`` deep behind the fingers;
- closing volume: the box swept by the pads between fully open fingers (no collision,
  used by :func:`grasp_sim.trial.check_grasp_geometry`).

The hand is a free body welded (soft equality) to a mocap target that the trial moves;
gravity-compensated, so only contacts push it off its target; each finger is a slide joint, the two are
coupled by an equality, and one position servo on the tendon q1 + q2 (= width [m]) is
force-limited to ``max_force`` per finger, like the world's Panda gripper.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco

from grasp_core.gripper import GripperSpec
from grasp_sim.physics import FINGER_FRICTION
from grasp_sim.robot import FINGER_ARMATURE, FINGER_DAMPING, add_gripper_actuator

PAD_TIP = 0.0095  # pad reach past the TCP along +Z [m]
PAD_LENGTH = 0.0185  # rubber pad length along Z [m]
PALM_SIZE_X = 0.20  # real hand's length along the closing axis [m]
PALM_SIZE_Y = 0.063  # real hand's thickness across it [m]
#: Mass [kg] of the hand body (Panda hand, URDF) and the weld that drags it to the mocap
#: target: a 10 ms critically damped spring (a mocap body itself has no velocity, so
#: fingers attached to it would not carry the object by friction).
HAND_MASS = 0.73
WELD_SOLREF = (0.01, 1.0)
#: Finger damping and reflected inertia: the same as the world's Panda gripper.
TRIAL_FINGER_DAMPING = FINGER_DAMPING


@dataclass(frozen=True)
class HandNames:
    """Names of the hand's parts in a trial model."""

    mocap: str = "hand_target"
    body: str = "hand"
    free_joint: str = "hand_free"
    palm: str = "hand_palm"
    fingers: tuple[str, str] = ("finger_pos", "finger_neg")  # +X side, -X side
    joints: tuple[str, str] = ("finger_pos_slide", "finger_neg_slide")
    closing_volume: str = "closing_volume"
    actuator: str = "hand_width"


NAMES = HandNames()


def _box(body, name, half, pos, rgba, collide=True):
    g = body.add_geom()
    g.name = name
    g.type = mujoco.mjtGeom.mjGEOM_BOX
    g.size = list(half)
    g.pos = list(pos)
    g.rgba = list(rgba)
    g.friction = list(FINGER_FRICTION)
    g.condim = 4
    if not collide:
        g.contype = 0
        g.conaffinity = 0
        g.group = 3
    return g


def add_trial_hand(spec: mujoco.MjSpec, gripper: GripperSpec) -> HandNames:
    """Add the mocap hand to ``spec`` (at the origin, fingers open)."""
    target = spec.worldbody.add_body()
    target.name = NAMES.mocap
    target.mocap = True
    hand = spec.worldbody.add_body()
    hand.name = NAMES.body
    fj = hand.add_freejoint()
    fj.name = NAMES.free_joint
    hand.gravcomp = 1.0
    weld = spec.add_equality()
    weld.type = mujoco.mjtEq.mjEQ_WELD
    weld.objtype = mujoco.mjtObj.mjOBJ_BODY
    weld.name1 = NAMES.body
    weld.name2 = NAMES.mocap
    weld.solref = list(WELD_SOLREF)
    # anchor at the TCP, identity relative pose, unit torque scale (the spec's default
    # data are a joint equality's polynomial, not a weld's)
    weld.data[:11] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    fl = gripper.finger_length
    _box(
        hand,
        NAMES.palm,
        (PALM_SIZE_X / 2, PALM_SIZE_Y / 2, gripper.palm_depth / 2),
        (0.0, 0.0, -fl - gripper.palm_depth / 2),
        (0.3, 0.3, 0.3, 1.0),
    )
    half_open = gripper.max_width / 2
    _box(
        hand,
        NAMES.closing_volume,
        (half_open, gripper.finger_width / 2, PAD_LENGTH / 2),
        (0.0, 0.0, PAD_TIP - PAD_LENGTH / 2),
        (0.1, 0.8, 0.1, 0.2),
        collide=False,
    )
    t = gripper.finger_thickness
    zc = (PAD_TIP - fl) / 2
    for name, joint, sign in zip(NAMES.fingers, NAMES.joints, (1.0, -1.0), strict=True):
        f = hand.add_body()
        f.name = name
        f.pos = [0.0, 0.0, 0.0]
        j = f.add_joint()
        j.name = joint
        j.type = mujoco.mjtJoint.mjJNT_SLIDE
        j.axis = [sign, 0.0, 0.0]
        j.range = [0.0, half_open]
        j.limited = 1
        j.damping = [TRIAL_FINGER_DAMPING, 0.0, 0.0]
        j.armature = FINGER_ARMATURE
        _box(
            f,
            f"{name}_pad",
            (t / 2, gripper.finger_width / 2, (PAD_TIP + fl) / 2),
            (sign * t / 2, 0.0, zc),
            (0.8, 0.8, 0.8, 1.0),
        )
        f.explicitinertial = True
        f.mass = 0.02
        f.inertia = [1e-6, 1e-6, 1e-6]
        f.gravcomp = 1.0
    hand.explicitinertial = True
    hand.mass = HAND_MASS
    hand.ipos = [0.0, 0.0, -fl - gripper.palm_depth / 2]
    hand.inertia = [0.001, 0.0025, 0.0017]
    eq = spec.add_equality()
    eq.type = mujoco.mjtEq.mjEQ_JOINT
    eq.name1 = NAMES.joints[1]
    eq.name2 = NAMES.joints[0]
    eq.data[:5] = [0.0, 1.0, 0.0, 0.0, 0.0]
    tendon = spec.add_tendon()
    tendon.name = "hand_width_tendon"
    for joint in NAMES.joints:
        tendon.wrap_joint(joint, 1.0)
    add_gripper_actuator(spec, NAMES.actuator, "hand_width_tendon", gripper)
    return NAMES
