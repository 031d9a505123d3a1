"""Physics-labelled grasp data for the 6-DOF sampler and evaluator (paper §4, "Training
Data"), one ACRONYM-layout file per object (:mod:`grasp_models.graspnet6dof.data`).

Per object: surface points and outward normals by ray casting the object's MuJoCo geoms;
candidates as in the paper (gripper +Z against the normal, stand-off uniform in
[0, finger length], uniform roll about the approach); the simulator's geometric
pre-check (collision on the approach, empty closing volume) and physics trial
(:mod:`grasp_sim.trial`, free-floating object); then the positives are perturbed
(±0.6 rad per axis, ±3 cm) and labelled the same way (hard negatives / extra positives).
Partial clouds come from MuJoCo depth renders from random viewpoints with the sim's
camera intrinsics and depth-noise model. Resumable (existing files are skipped),
parallel over processes.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from grasp_core.gripper import load_gripper
from grasp_core.se3 import look_at
from grasp_models.checkpoint import save_json
from grasp_models.graspnet6dof.clouds import voxel_downsample
from grasp_models.graspnet6dof.data import (
    KIND_PERTURBED,
    KIND_SURFACE,
    PREFILTER_COLLISION,
    PREFILTER_EMPTY,
    PREFILTER_OK,
    GraspFile,
    write_grasps,
)


@dataclass(frozen=True)
class DatagenConfig:
    """Per object: ``candidates`` surface samples, up to ``perturbed`` perturbations of
    the positives (±``perturb_angle`` rad per axis, ±``perturb_translation`` m), ``views``
    rendered partial clouds of at most ``view_points`` points (voxel ``voxel`` m), camera
    at ``distance`` m and elevation in ``elevation_deg`` above the horizon."""

    candidates: int = 400
    perturbed: int = 200
    perturb_angle: float = 0.6
    perturb_translation: float = 0.03
    views: int = 8
    view_points: int = 1500
    voxel: float = 0.003
    distance: tuple[float, float] = (0.45, 0.8)
    elevation_deg: tuple[float, float] = (15.0, 85.0)
    gripper: str = "panda_hand"


# ----------------------------------------------------------------------------- geometry
class ObjectScene:
    """The object alone in a MuJoCo model (static) plus one movable camera."""

    def __init__(self, obj, width: int = 640, height: int = 480, fy: float = 615.0) -> None:
        import mujoco

        from grasp_sim.builder import add_object

        spec = mujoco.MjSpec()
        add_object(spec, obj, free=False, name="object")
        cam = spec.worldbody.add_camera()
        cam.name = "cam"
        cam.fovy = float(np.rad2deg(2 * np.arctan(0.5 * height / fy)))
        spec.visual.global_.offwidth = width
        spec.visual.global_.offheight = height
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, self.data)
        self.obj = obj
        self.width, self.height, self.fy = width, height, fy
        self._renderer = None

    def surface(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` surface points and outward unit normals (object frame) by ray casting
        from a sphere around the object towards random points in its bounding box."""
        import mujoco

        he = self.obj.half_extents
        R = float(np.linalg.norm(he)) + 0.05
        pts, nrm = [], []
        normal = np.zeros(3)
        geomid = np.zeros(1, dtype=np.int32)
        tries = 0
        while len(pts) < n and tries < 20 * n:
            tries += 1
            d = rng.normal(size=3)
            start = d / np.linalg.norm(d) * R
            target = rng.uniform(-he, he)
            vec = target - start
            vec /= np.linalg.norm(vec)
            dist = mujoco.mj_ray(self.model, self.data, start, vec, None, 1, -1, geomid, normal)
            if dist < 0:
                continue
            pts.append(start + dist * vec)
            nrm.append(normal / np.linalg.norm(normal))
        return np.array(pts), np.array(nrm)

    def render_view(
        self, T_object_camera: np.ndarray, rng: np.random.Generator, noise=None
    ) -> np.ndarray:
        """Partial cloud (object frame) seen by an optical camera at ``T_object_camera``."""
        import mujoco

        from grasp_core.camera import CameraModel
        from grasp_sim.builder import wxyz
        from grasp_sim.camera import T_MJCAM_OPTICAL, CameraRenderer, DepthNoise

        T_mj = T_object_camera @ T_MJCAM_OPTICAL
        self.model.cam_pos[0] = T_mj[:3, 3]
        self.model.cam_quat[0] = wxyz(T_mj[:3, :3])
        mujoco.mj_forward(self.model, self.data)
        if self._renderer is None:
            self._renderer = CameraRenderer(self.model, self.width, self.height)
        depth = self._renderer.depth(self.data, "cam")
        depth = (noise or DepthNoise()).apply(depth, rng)
        cam = CameraModel.from_intrinsics(
            self.fy, self.fy, (self.width - 1) / 2, (self.height - 1) / 2, self.width,
            self.height, T_base_camera=T_object_camera,
        )  # fmt: skip
        pts = cam.depth_to_points(depth, frame="base").reshape(-1, 3)
        return pts[np.isfinite(pts).all(axis=1)]

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()


def candidate_grasps(
    points: np.ndarray, normals: np.ndarray, finger_length: float, rng: np.random.Generator
) -> np.ndarray:
    """T_object_grasp (N, 4, 4): +Z = -normal, TCP ``u ~ U[0, finger_length]`` inside the
    surface (the palm stands off ``finger_length - u``), uniform roll about +Z."""
    n = len(points)
    z = -normals
    helper = np.where(np.abs(z[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    x0 = np.cross(helper, z)
    x0 /= np.linalg.norm(x0, axis=1, keepdims=True)
    y0 = np.cross(z, x0)
    roll = rng.uniform(0, 2 * np.pi, n)[:, None]
    x = np.cos(roll) * x0 + np.sin(roll) * y0
    y = np.cross(z, x)
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, 0], T[:, :3, 1], T[:, :3, 2] = x, y, z
    T[:, :3, 3] = points + z * rng.uniform(0, finger_length, n)[:, None]
    return T


def _euler(e: np.ndarray) -> np.ndarray:
    cx, cy, cz = np.cos(e).T
    sx, sy, sz = np.sin(e).T
    R = np.empty((len(e), 3, 3))
    R[:, 0] = np.stack([cy * cz, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx], -1)
    R[:, 1] = np.stack([cy * sz, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx], -1)
    R[:, 2] = np.stack([-sy, cy * sx, cy * cx], -1)
    return R


def perturb_grasps(
    T: np.ndarray, n: int, angle: float, translation: float, rng: np.random.Generator
) -> np.ndarray:
    """``n`` copies of random rows of ``T`` turned by U(±angle) rad about each of their own
    axes and shifted by U(±translation) m per axis (the paper's hard negatives)."""
    if len(T) == 0 or n == 0:
        return np.zeros((0, 4, 4))
    base = T[rng.integers(0, len(T), n)]
    out = base.copy()
    out[:, :3, :3] = base[:, :3, :3] @ _euler(rng.uniform(-angle, angle, (n, 3)))
    out[:, :3, 3] += rng.uniform(-translation, translation, (n, 3))
    return out


def _label(obj, T: np.ndarray, seed: int, gripper: str) -> tuple[np.ndarray, np.ndarray]:
    """(success, prefilter code) of grasps T (N, 4, 4) on ``obj``."""
    from grasp_sim.trial import run_grasp_trials

    results = run_grasp_trials(obj, T, seed=seed, on_table=False, gripper=gripper)
    success = np.array([r.success for r in results], bool)
    pre = np.array(
        [
            PREFILTER_COLLISION
            if r.collision_at_approach
            else PREFILTER_EMPTY
            if r.empty_closing_volume
            else PREFILTER_OK
            for r in results
        ],
        np.int8,
    )
    return success, pre


def random_view(cfg: DatagenConfig, rng: np.random.Generator) -> np.ndarray:
    """T_object_camera: optical frame at random distance/azimuth/elevation, looking at a
    point near the object origin."""
    az = rng.uniform(0, 2 * np.pi)
    el = np.deg2rad(rng.uniform(*cfg.elevation_deg))
    dist = rng.uniform(*cfg.distance)
    eye = dist * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    return look_at(eye, rng.normal(scale=0.01, size=3), up=(0.0, 0.0, 1.0))


def generate_object(obj, path: Path, cfg: DatagenConfig, seed: int) -> dict:
    """Label one object's grasps and render its views into ``path``; returns a summary."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    gripper = load_gripper(cfg.gripper)
    scene = ObjectScene(obj)
    try:
        pts, nrm = scene.surface(cfg.candidates, rng)
        T1 = candidate_grasps(pts, nrm, gripper.finger_length, rng)
        s1, p1 = _label(obj, T1, seed * 100_000, cfg.gripper)
        T2 = perturb_grasps(T1[s1], cfg.perturbed if s1.any() else 0, cfg.perturb_angle,
                            cfg.perturb_translation, rng)  # fmt: skip
        s2, p2 = _label(obj, T2, seed * 100_000 + 50_000, cfg.gripper)
        views, poses = [], []
        for _ in range(cfg.views):
            T_oc = random_view(cfg, rng)
            cloud = voxel_downsample(scene.render_view(T_oc, rng), cfg.voxel)
            if len(cloud) > cfg.view_points:
                cloud = cloud[rng.choice(len(cloud), cfg.view_points, replace=False)]
            padded = np.full((cfg.view_points, 3), np.nan, np.float32)
            padded[: len(cloud)] = cloud
            views.append(padded)
            poses.append(T_oc)
    finally:
        scene.close()
    T = np.concatenate([T1, T2])
    success = np.concatenate([s1, s2])
    data = GraspFile(
        object_file=obj.name,
        scale=float(obj.scale),
        mass=float(obj.mass),
        transforms=T,
        success=success,
        spec=_spec_dict(obj),
        kind=np.concatenate([np.full(len(T1), KIND_SURFACE), np.full(len(T2), KIND_PERTURBED)]),
        prefilter=np.concatenate([p1, p2]),
        view_points=np.stack(views),
        T_object_camera=np.stack(poses),
        meta={"seed": seed, "config": asdict(cfg)},
    )
    write_grasps(path, data)
    return {
        "object": obj.name,
        "kind": obj.kind,
        "grasps": int(len(T)),
        "simulated": int(np.sum(np.concatenate([p1, p2]) == PREFILTER_OK)),
        "positives": int(success.sum()),
        "surface_positives": int(s1.sum()),
        "perturbed_positives": int(s2.sum()),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _spec_dict(obj) -> dict:
    d = asdict(obj)
    return json.loads(json.dumps(d, default=list))


def spec_from_dict(d: dict):
    """Rebuild the ObjectSpec stored in a grasp file."""
    from grasp_sim.objects import ObjectSpec

    d = dict(d)
    for key in ("size", "rgba", "mesh_parts", "mesh_offset", "tags"):
        if key in d and d[key] is not None:
            d[key] = tuple(d[key])
    return ObjectSpec(**d)


def _worker(args: tuple) -> dict:
    obj, path, cfg, seed = args
    os.environ.setdefault("MUJOCO_GL", "egl")
    import torch

    torch.set_num_threads(1)
    return generate_object(obj, Path(path), cfg, seed)


def generate(
    split: str,
    out_dir: Path,
    count: int,
    seed: int = 0,
    workers: int = 2,
    cfg: DatagenConfig | None = None,
    progress: bool = True,
) -> dict:
    """Generate (or resume) the files of ``count`` objects of ``split``; writes and returns
    ``summary.json`` (positives per object, throughput)."""
    from grasp_sim.objects import object_set

    cfg = cfg or DatagenConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    objs = object_set(split, seed=seed, count=count)
    todo = [
        (o, str(out_dir / f"{o.name}.h5"), cfg, seed * 1000 + i)
        for i, o in enumerate(objs)
        if not (out_dir / f"{o.name}.h5").is_file()
    ]
    summary_path = out_dir / "summary.json"
    done = json.loads(summary_path.read_text())["objects"] if summary_path.is_file() else {}
    t0 = time.perf_counter()
    new = []
    if todo:
        from tqdm import tqdm

        ctx = mp.get_context("spawn")
        with ctx.Pool(max(1, workers)) as pool:
            it = pool.imap_unordered(_worker, todo)
            for res in tqdm(it, total=len(todo), disable=not progress, desc=f"datagen {split}"):
                done[res["object"]] = res
                new.append(res)
                _write_summary(summary_path, split, seed, cfg, done, None)
    elapsed = time.perf_counter() - t0
    rate = None
    if new:
        grasps = sum(r["grasps"] for r in new)
        sim = sum(r["simulated"] for r in new)
        rate = {
            "objects": len(new),
            "seconds": round(elapsed, 1),
            "labelled_grasps_per_hour": round(grasps / elapsed * 3600),
            "simulated_grasps_per_hour": round(sim / elapsed * 3600),
            "workers": workers,
        }
    return _write_summary(summary_path, split, seed, cfg, done, rate)


def _write_summary(path: Path, split, seed, cfg, done: dict, rate: dict | None) -> dict:
    rows = list(done.values())
    summary = {
        "split": split,
        "seed": seed,
        "config": asdict(cfg),
        "objects": done,
        "total_grasps": sum(r["grasps"] for r in rows),
        "total_positives": sum(r["positives"] for r in rows),
        "objects_without_positives": sorted(r["object"] for r in rows if r["positives"] == 0),
        "last_run": rate,
    }
    save_json(path, summary)
    return summary
