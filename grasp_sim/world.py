"""``SimWorld``: the Panda on its table with a place bin, cameras and objects, in MuJoCo.

The MuJoCo world frame IS the robot base frame ``panda_link0`` (layout in
``config/sim/panda_table.yaml``), so every pose this class returns is ``T_base_*``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mujoco
import numpy as np

from grasp_core.cell import CameraMount, CellLayout, load_layout
from grasp_core.frame import RGBDFrame
from grasp_core.gripper import GripperSpec, load_gripper
from grasp_core.se3 import make_transform, quat_to_matrix, rot_z
from grasp_core.validation import as_array, require_range
from grasp_sim.builder import add_object, resting_height, wxyz
from grasp_sim.camera import T_MJCAM_OPTICAL, CameraRenderer, DepthNoise
from grasp_sim.errors import SimError, UnknownNameError
from grasp_sim.objects import ObjectSpec
from grasp_sim.physics import TABLE_FRICTION, TIMESTEP, apply_options, tune_contacts
from grasp_sim.robot import (
    ARM_JOINTS,
    ARM_KP,
    ARM_KV,
    BASE_LINK,
    HAND_JOINTS,
    T_TCP_GRASP,
    TCP_BODY,
    joint_limits,
    panda_spec,
)

OBJECT_PREFIX = "obj_"
#: Velocity feed-forward gain of the arm servos: ctrl = q + (kv / kp) * qd [s].
ARM_KV_OVER_KP = np.asarray(ARM_KV) / np.asarray(ARM_KP)


def _box(body: mujoco.MjsBody, name: str, center, half, rgba, friction=TABLE_FRICTION):
    g = body.add_geom()
    g.name = name
    g.type = mujoco.mjtGeom.mjGEOM_BOX
    g.pos = list(map(float, center))
    g.size = list(map(float, half))
    g.rgba = list(rgba)
    g.friction = list(friction)
    return g


def build_world_spec(
    layout: CellLayout,
    objects: Sequence[ObjectSpec],
    gripper: GripperSpec,
    timestep: float = TIMESTEP,
) -> mujoco.MjSpec:
    """MjSpec of the whole cell (robot, table, bin, cameras, lights, free objects)."""
    spec = panda_spec(layout.robot_urdf, gripper)
    spec.modelname = "grasp_sim_cell"
    apply_options(spec, timestep)
    wb = spec.worldbody
    floor = wb.add_geom()
    floor.name = "floor"
    floor.type = mujoco.mjtGeom.mjGEOM_PLANE
    floor.size = [3.0, 3.0, 0.1]
    floor.pos = [0.0, 0.0, layout.floor_z]
    floor.rgba = [0.35, 0.35, 0.38, 1.0]
    c, h = layout.table_box()
    _box(wb, "table", c, h, (0.55, 0.45, 0.35, 1.0))
    for i, (bc, bh) in enumerate(layout.bin_boxes()):
        _box(wb, f"bin_{i}", bc, bh, (0.2, 0.35, 0.6, 1.0))
    for pos in ([0.5, -0.8, 1.6], [0.5, 0.8, 1.6], [-0.6, 0.0, 1.8]):
        light = wb.add_light()
        light.pos = pos
        light.dir = list(
            (np.array([0.5, 0.0, 0.0]) - pos) / np.linalg.norm([0.5, 0, 0] - np.array(pos))
        )
        light.diffuse = [0.3, 0.3, 0.3]
        light.specular = [0.05, 0.05, 0.05]
        light.castshadow = False
    spec.visual.headlight.ambient = [0.25, 0.25, 0.25]
    spec.visual.headlight.diffuse = [0.3, 0.3, 0.3]
    spec.visual.headlight.specular = [0.0, 0.0, 0.0]
    for cam in layout.cameras.values():
        parent = wb if cam.fixed else spec.body(cam.parent)
        if parent is None:
            raise SimError(f"camera {cam.name}: parent body {cam.parent!r} not in the robot")
        T = cam.T_parent_optical @ T_MJCAM_OPTICAL
        mc = parent.add_camera()
        mc.name = cam.name
        mc.pos = list(T[:3, 3])
        mc.quat = wxyz(T[:3, :3])
        mc.fovy = cam.fovy_deg
    spec.visual.global_.offwidth = max(c.width for c in layout.cameras.values())
    spec.visual.global_.offheight = max(c.height for c in layout.cameras.values())
    # No multisampling: 4x MSAA made software (llvmpipe) rendering 4x slower, and a real
    # depth camera does not average depth across object edges either.
    spec.visual.quality.offsamples = 0
    spec.visual.map.znear = 0.02
    spec.visual.map.zfar = 20.0
    names = set()
    for k, obj in enumerate(objects):
        if obj.name in names:
            raise SimError(f"objects: duplicate object name {obj.name!r}")
        names.add(obj.name)
        add_object(spec, obj, pos=(0.5, 0.0, 0.1 + 0.2 * k), name=OBJECT_PREFIX + obj.name)
    tune_contacts(spec)
    return spec


class SimWorld:
    """The simulated cell. All poses are in the robot base frame ``panda_link0`` [m].

    ``objects`` are built once; :meth:`reset` drops them at random, non-overlapping poses
    in the layout's workspace and lets them settle: upright in their natural resting pose
    with a random yaw, or (``upright=False``) in uniformly random orientations (clutter). Rendering needs a GL context
    (``MUJOCO_GL=egl`` headless) and is created on first use.
    """

    def __init__(
        self,
        objects: Sequence[ObjectSpec] = (),
        seed: int = 0,
        depth_noise: bool | DepthNoise = False,
        layout: CellLayout | str | Path | None = None,
        gripper: str | GripperSpec = "panda_hand",
        timestep: float = TIMESTEP,
        upright: bool = True,
    ) -> None:
        if not isinstance(layout, CellLayout):
            layout = load_layout(layout)
        layout.require_frame(BASE_LINK, "the simulated Panda")
        if layout.robot_urdf is None or layout.home_q is None:
            raise SimError(f"{layout.source}: a simulated cell needs robot.urdf and robot.home")
        self.layout = layout
        self.gripper = gripper if isinstance(gripper, GripperSpec) else load_gripper(gripper)
        self.objects: tuple[ObjectSpec, ...] = tuple(objects)
        require_range("SimWorld timestep", timestep, 1e-4, 0.01)
        self.spec = build_world_spec(self.layout, self.objects, self.gripper, timestep)
        self.model = self.spec.compile()
        self.data = mujoco.MjData(self.model)
        if depth_noise is True:
            depth_noise = DepthNoise()
        self.depth_noise: DepthNoise | None = depth_noise or None
        self._seed = int(seed)
        self._resets = 0
        self.upright = bool(upright)
        self._renderer: CameraRenderer | None = None
        m = self.model
        self._arm_qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in ARM_JOINTS])
        self._arm_dadr = np.array([m.jnt_dofadr[m.joint(n).id] for n in ARM_JOINTS])
        self._hand_qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in HAND_JOINTS])
        self._hand_dadr = np.array([m.jnt_dofadr[m.joint(n).id] for n in HAND_JOINTS])
        self._arm_act = np.array([m.actuator(n).id for n in ARM_JOINTS])
        self._grip_act = m.actuator("gripper").id
        self._obj_body = np.array([m.body(OBJECT_PREFIX + o.name).id for o in self.objects], int)
        self._obj_qadr = np.array(
            [m.jnt_qposadr[m.joint(OBJECT_PREFIX + o.name + "_free").id] for o in self.objects],
            int,
        )
        self._obj_dadr = np.array(
            [m.jnt_dofadr[m.joint(OBJECT_PREFIX + o.name + "_free").id] for o in self.objects],
            int,
        )
        body_to_obj = np.full(m.nbody, -1, dtype=np.int32)
        body_to_obj[self._obj_body] = np.arange(len(self.objects), dtype=np.int32)
        self._geom_to_obj = np.append(body_to_obj[m.geom_bodyid], -1).astype(np.int32)
        self.arm_limits = joint_limits(m, ARM_JOINTS)
        self._arm_lo, self._arm_hi = self.arm_limits[:, 0].copy(), self.arm_limits[:, 1].copy()
        self.hand_limits = joint_limits(m, HAND_JOINTS)
        self._noise_rng = np.random.default_rng(seed)
        self.reset(seed)

    # ------------------------------------------------------------------ names
    arm_joint_names: tuple[str, ...] = ARM_JOINTS
    hand_joint_names: tuple[str, ...] = HAND_JOINTS

    @property
    def joint_names(self) -> tuple[str, ...]:
        """Arm then finger joint names, the order of :meth:`joint_positions`."""
        return ARM_JOINTS + HAND_JOINTS

    @property
    def object_names(self) -> list[str]:
        return [o.name for o in self.objects]

    @property
    def camera_names(self) -> list[str]:
        return list(self.layout.cameras)

    @property
    def time(self) -> float:
        """Simulated time [s] since the last reset."""
        return float(self.data.time)

    @property
    def timestep(self) -> float:
        return float(self.model.opt.timestep)

    # ------------------------------------------------------------------ stepping
    def reset(self, seed: int | None = None, settle: bool = True) -> None:
        """Arm at home, gripper open, objects dropped at random non-overlapping poses in
        the workspace (seeded: ``seed``, or the world's seed plus the reset count), then
        settled (up to 2 s of simulated time). Time restarts at 0."""
        if seed is None:
            seed = self._seed + self._resets
        self._resets += 1
        rng = np.random.default_rng(seed)
        self._noise_rng = np.random.default_rng([seed, 1])
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        d.qpos[self._arm_qadr] = self.layout.home_q
        w = self.layout.home_gripper_width / 2
        d.qpos[self._hand_qadr] = w
        d.ctrl[self._arm_act] = self.layout.home_q
        d.ctrl[self._grip_act] = self.layout.home_gripper_width
        placed: list[tuple[float, float, float]] = []
        (x0, x1), (y0, y1) = self.layout.workspace_x, self.layout.workspace_y
        top = self.layout.table_top_z
        for k, obj in enumerate(self.objects):
            # upright: natural resting pose, random yaw; else a random orientation dropped
            # from just above its bounding sphere (clutter), spaced by that sphere
            r = obj.radius if self.upright else float(np.linalg.norm(obj.half_extents))
            xy = None
            for _ in range(200):
                cand = rng.uniform([x0, y0], [x1, y1])
                if all(
                    np.hypot(cand[0] - px, cand[1] - py) > r + pr + 0.005 for px, py, pr in placed
                ):
                    xy = cand
                    break
            z = top + (resting_height(obj) if self.upright else r) + 0.003
            if xy is None:  # no free spot: stack it above the others (it falls and settles)
                xy = rng.uniform([x0, y0], [x1, y1])
                z += 0.15 * (k + 1)
            placed.append((float(xy[0]), float(xy[1]), r))
            if self.upright:
                q = wxyz(rot_z(rng.uniform(-np.pi, np.pi)))
            else:
                q = rng.normal(size=4)
                q /= np.linalg.norm(q)  # uniform random rotation (w, x, y, z)
            a = self._obj_qadr[k]
            d.qpos[a : a + 3] = [xy[0], xy[1], z]
            d.qpos[a + 3 : a + 7] = q
        mujoco.mj_forward(m, d)
        if settle and self.objects:
            self.settle()
        d.time = 0.0

    def settle(self, max_time: float = 2.0, speed_tol: float = 0.005) -> float:
        """Step until every object moves slower than ``speed_tol`` [m/s, rad/s]; returns
        the simulated time it took [s]."""
        n = max(1, int(0.05 / self.timestep))
        t0 = self.data.time
        while self.data.time - t0 < max_time:
            mujoco.mj_step(self.model, self.data, nstep=n)
            if self._max_object_speed() < speed_tol:
                break
        return float(self.data.time - t0)

    def _max_object_speed(self) -> float:
        if not len(self.objects):
            return 0.0
        idx = (self._obj_dadr[:, None] + np.arange(6)).ravel()
        return float(np.max(np.abs(self.data.qvel[idx])))

    def step(self, n: int = 1) -> None:
        """Advance physics by ``n`` timesteps."""
        if n > 0:
            mujoco.mj_step(self.model, self.data, nstep=int(n))

    # ------------------------------------------------------------------ robot
    def joint_positions(self) -> np.ndarray:
        """[rad] arm joints then [m] finger joints, in :attr:`joint_names` order."""
        return np.concatenate([self.data.qpos[self._arm_qadr], self.data.qpos[self._hand_qadr]])

    def joint_velocities(self) -> np.ndarray:
        return np.concatenate([self.data.qvel[self._arm_dadr], self.data.qvel[self._hand_dadr]])

    def joint_efforts(self) -> np.ndarray:
        """Arm joint torques [N m] as a torque-sensing arm reports them (the servo torque
        plus the gravity torque its controller compensates, MuJoCo's gravcomp), then the
        finger actuator force [N] on each finger."""
        arm = self.data.actuator_force[self._arm_act] + self.data.qfrc_gravcomp[self._arm_dadr]
        g = self.data.actuator_force[self._grip_act]
        return np.concatenate([arm, [g, g]])

    def set_arm_target(self, q: np.ndarray, velocity: np.ndarray | None = None) -> None:
        """Position targets [rad] of panda_joint1..7 (clipped to the joint limits), with an
        optional velocity feed-forward [rad/s] (the servo then tracks without lag)."""
        q = as_array("set_arm_target q", q, shape=(7,))
        if velocity is not None:
            q = q + ARM_KV_OVER_KP * as_array("set_arm_target velocity", velocity, shape=(7,))
        self.data.ctrl[self._arm_act] = np.clip(q, self.arm_limits[:, 0], self.arm_limits[:, 1])

    def _set_targets_unchecked(self, q: np.ndarray, dq: np.ndarray, width: float) -> None:
        """Hot path of :class:`~grasp_sim.driver.SimDriver` (inputs already validated)."""
        ctrl = q + ARM_KV_OVER_KP * dq
        np.clip(ctrl, self._arm_lo, self._arm_hi, out=ctrl)
        self.data.ctrl[self._arm_act] = ctrl
        self.data.ctrl[self._grip_act] = min(max(width, 0.0), self.gripper.max_width)

    def arm_target(self) -> np.ndarray:
        return self.data.ctrl[self._arm_act].copy()

    def set_gripper_target(self, width: float) -> None:
        """Opening width target [m] in [0, 0.08]; the squeeze force is limited to 70 N."""
        w = require_range("set_gripper_target width", width, 0.0, self.gripper.max_width + 1e-9)
        self.data.ctrl[self._grip_act] = w

    def gripper_width(self) -> float:
        """Current opening [m] (sum of the two finger joints)."""
        return float(np.sum(self.data.qpos[self._hand_qadr]))

    def body_pose(self, name: str) -> np.ndarray:
        """T_base_<body> (4x4) of a body of the model (e.g. ``panda_hand_tcp``)."""
        bid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)
        if bid < 0:
            raise UnknownNameError(f"body {name!r} is not in the model")
        return make_transform(self.data.xmat[bid].reshape(3, 3), self.data.xpos[bid])

    def tcp_pose(self) -> np.ndarray:
        """T_base_panda_hand_tcp (fingers close along its +Y; grasp frame +X, see docs)."""
        return self.body_pose(TCP_BODY)

    def grasp_pose(self) -> np.ndarray:
        """T_base_grasp of the hand now: grasp frame convention (+Z approach, +X closing)."""
        return self.tcp_pose() @ T_TCP_GRASP

    # ------------------------------------------------------------------ objects
    def _obj_index(self, name: str) -> int:
        for i, o in enumerate(self.objects):
            if o.name == name:
                return i
        raise UnknownNameError(f"object {name!r} is unknown; objects: {self.object_names}")

    def object_pose(self, name: str) -> np.ndarray:
        i = self._obj_index(name)
        a = self._obj_qadr[i]
        q = self.data.qpos[a + 3 : a + 7]
        return make_transform(
            quat_to_matrix([q[1], q[2], q[3], q[0]] / np.linalg.norm(q)), self.data.qpos[a : a + 3]
        )

    def object_poses(self) -> dict[str, np.ndarray]:
        """T_base_object (4x4) of every object, by name."""
        return {o.name: self.object_pose(o.name) for o in self.objects}

    def set_object_pose(self, name: str, T_base_object: np.ndarray) -> None:
        """Teleport an object (velocity zeroed)."""
        i = self._obj_index(name)
        T = as_array("T_base_object", T_base_object, shape=(4, 4))
        a, v = self._obj_qadr[i], self._obj_dadr[i]
        self.data.qpos[a : a + 3] = T[:3, 3]
        self.data.qpos[a + 3 : a + 7] = wxyz(T[:3, :3])
        self.data.qvel[v : v + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    @property
    def bin_pose(self) -> np.ndarray:
        """T_base_bin: the centre of the bin floor, axes along the base's."""
        return make_transform(None, self.layout.bin_center)

    def objects_in_bin(self) -> list[str]:
        """Names of objects resting in the bin (``CellLayout.object_in_bin`` of their origin)."""
        return [n for n, T in self.object_poses().items() if self.layout.object_in_bin(T[:3, 3])]

    def object_on_table(self, name: str) -> bool:
        """Whether an object rests on the table top (not in the bin, not lifted, not fallen)."""
        T = self.object_pose(name)
        p = T[:3, 3]
        c, h = self.layout.table_box()
        on_xy = bool(np.all(np.abs(p[:2] - c[:2]) <= h[:2]))
        obj = self.objects[self._obj_index(name)]
        above = p[2] - self.layout.table_top_z
        return (
            on_xy
            and not self.layout.object_in_bin(p)
            and 0.0 < above <= obj.radius + obj.half_extents[2] + 0.01
        )

    # ------------------------------------------------------------------ cameras
    def _mount(self, camera: str) -> CameraMount:
        if camera not in self.layout.cameras:
            raise UnknownNameError(f"camera {camera!r} is unknown; cameras: {self.camera_names}")
        return self.layout.cameras[camera]

    def camera_pose(self, camera: str) -> np.ndarray:
        """T_base_optical of a camera now (the wrist camera moves with the hand)."""
        self._mount(camera)
        cid = self.model.camera(camera).id
        T = make_transform(self.data.cam_xmat[cid].reshape(3, 3), self.data.cam_xpos[cid])
        return T @ T_MJCAM_OPTICAL

    def camera_model(self, camera: str = "overhead"):
        """The camera's :class:`~grasp_core.camera.CameraModel` with its current pose."""
        return self._mount(camera).camera_model(self.camera_pose(camera))

    def _get_renderer(self) -> CameraRenderer:
        if self._renderer is None:
            cams = self.layout.cameras.values()
            sizes = {(c.width, c.height) for c in cams}
            if len(sizes) != 1:
                raise SimError(f"all cameras must share one image size, got {sorted(sizes)}")
            w, h = sizes.pop()
            self._renderer = CameraRenderer(self.model, w, h)
        return self._renderer

    def render(self, camera: str = "overhead", color: bool = True) -> RGBDFrame:
        """Colour (RGB uint8) + depth [m] of ``camera`` as an :class:`RGBDFrame` stamped
        with the simulated time. Depth is along the optical axis; 0 = no return."""
        mount = self._mount(camera)
        r = self._get_renderer()
        if color:
            rgb, depth = r.rgbd(self.data, camera)
        else:
            rgb, depth = None, r.depth(self.data, camera)
        depth[(depth < mount.near) | (depth > mount.far)] = 0.0
        if self.depth_noise is not None:
            depth = self.depth_noise.apply(depth, self._noise_rng)
        return RGBDFrame(
            depth=depth,
            camera=self.camera_model(camera),
            color=rgb,
            stamp=self.time,
            frame_id=mount.frame_id,
        )

    def render_segmentation(self, camera: str = "overhead") -> np.ndarray:
        """HxW int32: index into :attr:`objects` of the object seen at each pixel, -1 elsewhere."""
        self._mount(camera)
        geom = self._get_renderer().segmentation(self.data, camera)
        return self._geom_to_obj[geom]  # -1 indexes the appended "no object" entry

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> SimWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
