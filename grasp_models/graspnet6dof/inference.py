"""Object cloud (base frame) -> grasps (base frame), best first: the one inference path
used by the grasp detector node, the evaluation and the benchmarks.

cloud -> :func:`prepare_cloud` (voxel 5 mm, 1024 points, centroid frame) -> N latent
samples -> refinement -> evaluator score -> threshold -> sort -> T_base_grasp.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from grasp_core import Grasp
from grasp_core.files import read_yaml_mapping
from grasp_core.gripper import load_gripper
from grasp_core.paths import config_path
from grasp_core.validation import require_choice, require_range
from grasp_models.base import GraspInput, GraspModel
from grasp_models.checkpoint import load_card, load_checkpoint
from grasp_models.errors import CheckpointError, ModelError
from grasp_models.graspnet6dof import EVALUATOR_FILE, SAMPLER_FILE
from grasp_models.graspnet6dof.clouds import MIN_POINTS, object_clouds, prepare_cloud
from grasp_models.graspnet6dof.errors import NoObjectCloudError
from grasp_models.graspnet6dof.evaluator import GraspEvaluator
from grasp_models.graspnet6dof.refine import METHODS, RefineConfig, refine
from grasp_models.graspnet6dof.vae import GraspSamplerVAE
from grasp_models.registry import WEIGHTS_DIR

NAME = "graspnet6dof"
#: Evaluator precision during refinement: bf16 autocast (CPU with native bf16, ~2x faster
#: than fp32 here) or fp32. Falls back to fp32 where bf16 is not supported.
PRECISIONS = ("bf16", "fp32")


@dataclass(frozen=True)
class GraspNet6DofParams:
    """Inference parameters (config/graspnet6dof.yaml)."""

    num_samples: int = 200
    iterations: int = 10
    method: str = "gradient"
    threshold: float = 0.5
    max_translation: float = 0.01
    max_rotation: float = 0.1
    step: float = 0.05
    nms_distance: float = 0.0
    precision: str = "bf16"
    seed: int = 0
    #: False: the reference evaluator path (same results within rounding; for checks)
    fast: bool = True

    def __post_init__(self) -> None:
        require_range("graspnet6dof.num_samples", self.num_samples, 1, 10000)
        require_range("graspnet6dof.iterations", self.iterations, 0, 1000)
        require_choice("graspnet6dof.method", self.method, METHODS)
        require_range("graspnet6dof.threshold", self.threshold, 0.0, 1.0)
        require_range("graspnet6dof.nms_distance", self.nms_distance, 0.0, 1.0)
        require_choice("graspnet6dof.precision", self.precision, PRECISIONS)

    @classmethod
    def from_yaml(cls, path: str | Path | None = None) -> GraspNet6DofParams:
        path = Path(path) if path is not None else config_path("graspnet6dof.yaml")
        data = read_yaml_mapping(path, "6-DOF GraspNet parameters", ModelError)
        data = data.get(NAME, data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"{path}: unknown keys {unknown}; valid: {sorted(known)}")
        return cls(**data)

    def refine_config(self) -> RefineConfig:
        return RefineConfig(
            method=self.method,
            iterations=self.iterations,
            step=self.step,
            max_translation=self.max_translation,
            max_rotation=self.max_rotation,
            fast=self.fast,
        )


@dataclass(frozen=True, eq=False)
class Proposals:
    """Sampled + refined grasps of one cloud, centroid frame, in sample order."""

    T_centroid_grasp: np.ndarray  # (N, 4, 4)
    scores: np.ndarray  # (N,) evaluator success probability
    centroid: np.ndarray  # (3,) centroid of the input cloud (input frame)
    history: list[tuple[np.ndarray, np.ndarray]]  # per iteration (poses, scores)


class GraspNet6Dof(GraspModel):
    """VAE sampler + evaluator + refinement on an object point cloud."""

    name = NAME
    inputs = ("object_points",)

    def __init__(
        self,
        sampler: GraspSamplerVAE,
        evaluator: GraspEvaluator,
        params: GraspNet6DofParams | None = None,
        device: str = "cpu",
        cards: dict | None = None,
    ) -> None:
        self.params = params or GraspNet6DofParams()
        # inference only: no parameter gradients (refinement differentiates w.r.t. poses)
        self.sampler = sampler.eval().requires_grad_(False)
        self.evaluator = evaluator.eval().requires_grad_(False)
        self.cards = cards or {}
        self.width = load_gripper("panda_hand").max_width
        self._calls = 0
        self.to(device)

    def to(self, device: str) -> GraspNet6Dof:
        self.device = device
        self.sampler.to(device)
        self.evaluator.to(device)
        return self

    def propose(
        self,
        points: np.ndarray,
        params: GraspNet6DofParams | None = None,
        seed: int | None = None,
        keep_history: bool = False,
    ) -> Proposals:
        """Sample ``num_samples`` grasps for ``points`` (Nx3 [m], any frame) and refine them."""
        p = params or self.params
        seed = p.seed if seed is None else seed
        rng = np.random.default_rng(seed)
        cloud, centroid = prepare_cloud(points, rng)
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        x = torch.from_numpy(cloud)[None].to(self.device)
        with torch.no_grad():
            feat = self.sampler.cloud_feature(x)
            z = torch.randn(p.num_samples, self.sampler.latent_size, generator=gen).to(self.device)
            T0 = self.sampler.decode_feature(feat, z)
            ctx = self.evaluator.encode_object(x)
        cfg = replace(p.refine_config(), bf16=self._bf16(p))
        T, s, hist = refine(self.evaluator, ctx, T0, cfg, gen)
        history = [(h[0].cpu().numpy(), h[1].cpu().numpy()) for h in hist] if keep_history else []
        return Proposals(T.cpu().numpy().astype(np.float64), s.cpu().numpy(), centroid, history)

    def _bf16(self, p: GraspNet6DofParams) -> bool:
        return p.precision == "bf16" and self.device == "cpu" and _cpu_bf16()

    def predict(self, inp: GraspInput, max_grasps: int = 50) -> list[Grasp]:
        """Grasps for every object: with ``object_labels``, each labelled cluster of at least
        ``MIN_POINTS`` points is sampled and refined on its own (``num_samples`` each, as
        the network saw single objects in training), and the grasps of all are merged best
        first; without labels the cloud is one object."""
        if inp.object_points is None:
            raise ModelError(f"{self.name}: needs GraspInput.object_points (Nx3, base frame)")
        frame_id = inp.frame_id()
        if frame_id is None:
            raise ModelError(
                f"{self.name}: the frame of object_points is unknown; "
                "set GraspInput.base_frame (or give a frame)"
            )
        seed = self.params.seed + self._calls
        self._calls += 1
        clouds = object_clouds(inp.object_points, inp.object_labels, MIN_POINTS)
        if not clouds:
            raise NoObjectCloudError(
                f"object_points: no object with at least {MIN_POINTS} points "
                f"({len(inp.object_points)} points in all)"
            )
        grasps: list[Grasp] = []
        for k, cloud in enumerate(clouds):
            prop = self.propose(cloud, seed=seed + 7919 * k)
            grasps += self.to_grasps(prop, max_grasps, frame_id)
        grasps.sort(key=lambda g: -g.quality)
        return grasps[:max_grasps]

    def to_grasps(self, prop: Proposals, max_grasps: int, frame_id: str) -> list[Grasp]:
        """Threshold, sort best first, optional NMS, move to the input frame."""
        keep = np.flatnonzero(prop.scores >= self.params.threshold)
        keep = keep[np.argsort(-prop.scores[keep], kind="stable")]
        chosen: list[int] = []
        for i in keep:
            if len(chosen) >= max_grasps:
                break
            t = prop.T_centroid_grasp[i, :3, 3]
            d = self.params.nms_distance
            if d > 0 and any(
                np.linalg.norm(prop.T_centroid_grasp[j, :3, 3] - t) < d for j in chosen
            ):
                continue
            chosen.append(int(i))
        out = []
        for i in chosen:
            T = _orthonormal(prop.T_centroid_grasp[i])
            T[:3, 3] += prop.centroid
            q = float(np.clip(prop.scores[i], 0.0, 1.0))
            out.append(
                Grasp(pose=T, width=self.width, quality=q, model=self.name, frame_id=frame_id)
            )
        return out

    def with_params(self, **changes: object) -> GraspNet6Dof:
        """The same networks with some parameters changed."""
        self.params = replace(self.params, **changes)
        return self


def _cpu_bf16() -> bool:
    """Whether oneDNN has native bf16 kernels on this CPU."""
    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(probe()) if probe is not None else False


def _orthonormal(T: np.ndarray) -> np.ndarray:
    """Re-orthonormalise a float32-derived rotation (SVD) so grasp_core accepts it."""
    T = np.array(T, dtype=np.float64)
    U, _, Vt = np.linalg.svd(T[:3, :3])
    R = U @ Vt
    if np.linalg.det(R) < 0:
        U[:, -1] *= -1
        R = U @ Vt
    T[:3, :3] = R
    T[3] = [0.0, 0.0, 0.0, 1.0]
    return T


def _load_state(module: torch.nn.Module, path: Path, prefix: str = "") -> dict:
    state = load_checkpoint(path)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if k.startswith(prefix)]
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: weights do not match {type(module).__name__}: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    return load_card(path)


def load_graspnet6dof(
    weights: str | Path | None = None,
    device: str = "cpu",
    params: GraspNet6DofParams | None = None,
    evaluator: str | Path | None = None,
) -> GraspNet6Dof:
    """The sampler + evaluator, each a .pt with its card beside it. ``weights``: a folder
    holding graspnet6dof_vae.pt and graspnet6dof_evaluator.pt (default: the shipped ones),
    or a sampler file of any name, whose folder's graspnet6dof_evaluator.pt is the
    evaluator unless ``evaluator`` names another file. (Until 2026-12-07 a file stood for
    its folder: ``--sampler runs/vae.pt`` loaded runs/graspnet6dof_vae.pt, or failed.)"""
    path = Path(weights) if weights is not None else WEIGHTS_DIR
    if path.is_file() and path.name != EVALUATOR_FILE:
        folder, vae_path = path.parent, path
    else:  # a folder, or its evaluator file
        folder = path.parent if path.is_file() else path
        vae_path = folder / SAMPLER_FILE
    ev_path = Path(evaluator) if evaluator is not None else folder / EVALUATOR_FILE
    for path in (vae_path, ev_path):
        if not path.is_file():
            raise CheckpointError(
                f"{NAME}: weights not found at {path}; train them with `grasp train-6dof "
                "--model vae|evaluator --out FILE` and give both files, or a folder holding "
                f"{SAMPLER_FILE} and {EVALUATOR_FILE}"
            )
    vae_card = load_card(vae_path)
    sampler = GraspSamplerVAE(latent_size=int(vae_card.get("latent_size") or 2))
    _load_state(sampler, vae_path, prefix="dec_")
    evaluator = GraspEvaluator()
    ev_card = _load_state(evaluator, ev_path)
    params = params or GraspNet6DofParams.from_yaml()
    return GraspNet6Dof(
        sampler, evaluator, params, device, {"sampler": vae_card, "evaluator": ev_card}
    )
