"""MuJoCo world (robot, table, objects, cameras), object library and physics grasp trials.

Public API (stable; see docs/sim.md):

- :mod:`grasp_sim.objects` — ``ObjectSpec`` (frozen: name, kind, size [m], mass [kg],
  rgba, friction, mesh_parts, scale, ...), ``KINDS``, ``object_set(split, seed=0,
  count=None, kinds=None)`` (named, seeded, disjoint ``train``/``val``/``test`` splits).
- :mod:`grasp_sim.meshes` — ``load_mesh_objects(path, scale=1.0)`` (OBJ/STL file or
  folder; CoACD convex decomposition cached under ``~/.cache/grasp_bringup/coacd``),
  ``library_objects(split, seed)`` (pybullet_data random_urdfs meshes).
- :mod:`grasp_core.cell` — ``load_layout()``: the cell (table, workspace, bin, cameras)
  from ``config/sim/panda_table.yaml``, in the base frame ``panda_link0``.
- :mod:`grasp_sim.world` — ``SimWorld(objects, seed=0, depth_noise=False, layout=None)``:
  ``reset(seed)``, ``step(n)``, ``time``, ``render(camera) -> RGBDFrame``,
  ``render_segmentation(camera)``, ``object_poses()``, ``joint_positions()``,
  ``joint_velocities()``, ``set_arm_target(q)``, ``set_gripper_target(width)``,
  ``gripper_width()``, ``tcp_pose()``, ``bin_pose``, ``objects_in_bin()``,
  ``object_on_table(name)``.
- :mod:`grasp_sim.trial` — ``TrialResult``, ``run_grasp_trial(obj, T_object_grasp, ...)``,
  ``run_grasp_trials(obj, T_object_grasps, ...)``, ``check_grasp_geometry(obj, T)``.
- :mod:`grasp_sim.driver` — ``SimDriver`` (ROS-free trajectory following + stepping) and
  ``validate_trajectory``; :mod:`grasp_sim.node` — ``SimDriverNode`` (``sim_driver``).

Frames: the MuJoCo world frame is the robot base ``panda_link0``. Grasp frame as in
grasp_core (+Z approach, +X closing, origin at the TCP); on the Panda hand the fingers
move along ``panda_hand_tcp``'s Y axis, so ``T_tcp_grasp = rot_z(pi/2)``.
"""

import os

# Headless by default: MuJoCo picks its GL backend when first imported.
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])

from grasp_sim.errors import ObjectError, SimConfigError, SimError, TrajectoryError
from grasp_sim.objects import KINDS, ObjectSpec, object_set

__all__ = [
    "KINDS",
    "ObjectError",
    "ObjectSpec",
    "SimConfigError",
    "SimError",
    "TrajectoryError",
    "object_set",
]
