"""Robot models, IK, collision scene, motion planning and the pick-and-place executor.

ROS-free public API (stable; details in docs/planning.md):

``grasp_planning.robot``
    ``load_robot("panda" | "baxter" | path) -> RobotConfig`` (frozen; from
    ``config/robots/<name>.yaml``), ``RobotModel(config, group=None)`` with
    ``fk(q) -> T_base_tcp`` (4x4), ``jacobian(q)`` (6xN, base-aligned at the TCP),
    ``fk_batch`` / ``fk_jacobian_batch`` (many configurations), ``lower`` / ``upper`` /
    ``velocity_limits`` / ``acceleration_limits`` / ``jerk_limits``, ``home``,
    ``gripper`` (finger joints, width <-> joint positions), ``make_robot(name, group)``.
``grasp_planning.ik``
    ``solve_ik(robot, T_base_tcp, q_seed, ...) -> IKResult`` (damped least squares, many
    seeds, limits respected, closest to ``q_seed`` first), ``check_grasp_reachable(robot,
    grasp, q_current) -> ReachResult`` (grasp + pre-grasp 10 cm back along +Z + lift
    10 cm up; also tries the grasp turned by pi about +Z).
``grasp_planning.collision``
    ``PlanningScene(robot, padding)``: boxes, cylinders, spheres, convex hulls
    (``add_convex(name, vertices, faces=None)``), SRDF-disabled self pairs,
    ``in_collision(q, allowed=(), ignore=())``, ``finger_contacts(target)`` (the allowed
    target-vs-finger pairs of a grasp), ``colliding_pairs(q)``.
``grasp_planning.world``
    ``grasp_core.cell.load_layout()`` (table + bin from config/sim/panda_table.yaml),
    ``add_cell(scene, layout)``, ``add_perceived_objects(scene, points, labels)``.
``grasp_planning.motion``
    ``MotionPlanner(robot, scene, MotionParams)``: ``plan_joint`` (OMPL RRTConnect,
    simplified, re-checked finely), ``plan_cartesian`` (straight line by IK),
    ``joint_trajectory`` / ``cartesian_trajectory`` -> ``Trajectory`` (joint_names, times
    [s], positions, velocities); ``time_parameterize`` (ruckig, jerk-limited, scaled);
    ``check_trajectory`` (limits, velocity scaling, workspace bounds).
``grasp_planning.grasp_filter``
    ``filter_grasps(grasps, robot, scene, q_current) -> list[RankedGrasp]``;
    ``filter_grasps_report`` also returns the rejection reasons.
``grasp_planning.pick``
    ``plan_pick(planner, ranked, q_current, layout) -> PickPlan``;
    ``PickAndPlace(backend, RobotIO(send_arm, send_gripper, joint_state, now, on_state))``
    with ``pick(grasps) -> PickResult`` and ``stop()``.
``grasp_planning.backend``
    ``PlanningBackend``, ``EmbeddedBackend``, ``MoveItPyBackend`` (lazy ``moveit``
    import), ``make_backend("auto" | "embedded" | "moveit", ...)``.

``grasp_planning.node`` (``ExecutorNode``, console script ``executor``) is the only module
that imports rclpy.
"""

from grasp_planning.errors import (
    BackendUnavailable,
    MotionPlanningError,
    PlanningError,
    RobotConfigError,
    SceneError,
)

__all__ = [
    "BackendUnavailable",
    "MotionPlanningError",
    "PlanningError",
    "RobotConfigError",
    "SceneError",
]
