"""Planar grasp models behind the :class:`GraspModel` interface, and their registry factories.

A :class:`PlanarGraspModel` holds a network (GG-CNN, GG-CNN2 or VQ-VAE GG-CNN) and runs
the one processing path of :mod:`grasp_models.planar.processing` on an RGB-D frame:
blind crop (image centre, or a workspace point in the base frame), normalisation,
forward pass, blurred maps, local maxima, rectangles back in image pixels, base-frame
grasps. Weights are a ``state_dict`` plus a JSON model card (``arch``, ``in_channels``,
``vq_config``, ``processing``, data, seed, metrics).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from grasp_core import CameraModel, Grasp, RGBDFrame
from grasp_core.frame import reproject
from grasp_core.se3 import look_at, transform_points
from grasp_core.validation import require_choice
from grasp_models.base import GraspInput, GraspModel
from grasp_models.checkpoint import load_card, load_checkpoint
from grasp_models.errors import CheckpointError, ModelError
from grasp_models.planar import processing as P
from grasp_models.planar.fast import FastGGCNN
from grasp_models.planar.networks import GGCNN, GGCNN2
from grasp_models.planar.vqvae import VQVAE, VQVAEGGCNN
from grasp_models.registry import shipped_weights

ARCHS = ("ggcnn", "ggcnn2", "vqvae_ggcnn")
#: Which view the planar networks run on: ``camera`` (the frame as it is), ``topdown``
#: (the frame re-rendered from straight above the workspace) or ``auto`` (``topdown``
#: when the camera is tilted more than ``PlanarGraspModel.max_tilt_deg``).
VIEWS = ("auto", "camera", "topdown")
#: Beyond this tilt [deg] a view re-rendered from above is mostly unseen table.
TOPDOWN_MAX_TILT_DEG = 60.0


def build_network(card: dict) -> nn.Module:
    """An untrained network of the architecture a model card describes."""
    arch = require_choice("model card 'arch'", card.get("arch", ""), ARCHS)
    in_channels = int(card.get("in_channels", 1))
    if arch == "ggcnn":
        return GGCNN(in_channels=in_channels)
    if arch == "ggcnn2":
        return GGCNN2(in_channels=in_channels)
    if "vq_config" not in card:
        raise CheckpointError("a vqvae_ggcnn model card needs 'vq_config'")
    return VQVAEGGCNN.from_config(card["vq_config"])


def processing_from_card(card: dict) -> P.ProcessingConfig:
    fields = {f.name for f in dataclasses.fields(P.ProcessingConfig)}
    return P.ProcessingConfig(
        **{k: v for k, v in card.get("processing", {}).items() if k in fields}
    )


def load_network(weights: str | Path) -> tuple[nn.Module, dict]:
    """Network with ``weights`` loaded (CPU) and its model card."""
    card = load_card(Path(weights))
    return _load_state(build_network(card), weights), card


def load_vqvae(weights: str | Path) -> tuple[VQVAE, dict]:
    """A trained VQ-VAE (``grasp train --model vqvae``; CPU, eval mode) and its card."""
    card = load_card(Path(weights))
    if "vq_config" not in card:
        raise CheckpointError(f"{weights}: a VQ-VAE model card needs 'vq_config'")
    return _load_state(VQVAE.from_config(card["vq_config"]), weights), card


def _load_state(net: nn.Module, weights: str | Path) -> nn.Module:
    weights = Path(weights)
    state = load_checkpoint(weights)
    state = state.get("model", state)
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{weights} does not match its card's architecture: {exc}") from exc
    return net.eval()


def optimise_for_cpu(net: nn.Module, in_channels: int, size: int) -> nn.Module:
    """Inference-only CPU variant, the fastest exact one measured in
    benchmarks/planar_speed.py: GG-CNN becomes :class:`FastGGCNN` (sub-pixel rewrite,
    same maps; plain PyTorch operators where oneDNN's fused ones are missing), the other
    networks run channels-last. ``net`` itself is left as it is for GG-CNN."""
    del in_channels, size
    if isinstance(net, GGCNN):
        return FastGGCNN(net.eval())
    return net.eval().to(memory_format=torch.channels_last)


@dataclass(frozen=True)
class PlanarOutput:
    """Everything one forward pass gives: blurred maps of the crop, the crop transform
    ``M`` (image -> crop) and rectangles in full-image pixels, best first."""

    quality: np.ndarray
    angle: np.ndarray
    width: np.ndarray
    M: np.ndarray
    rects: tuple
    view: RGBDFrame | None = None  # the frame the maps and rectangles are of (detect)


class PlanarGraspModel(GraspModel):
    """A planar network + the shared processing path. ``workspace_center_base`` (x, y, z
    [m] in the base frame), when given, is where the blind crop is centred.

    The networks learned top-down views. ``view`` (:data:`VIEWS`) says what a camera
    frame becomes before they see it: with ``auto`` a camera tilted more than
    ``max_tilt_deg`` from straight down is re-rendered from straight above the workspace
    (:meth:`topdown_camera`), so its grasps approach vertically; ``camera`` keeps every
    frame as it is (grasps then approach along the optical axis)."""

    name: ClassVar[str] = "planar"
    inputs: ClassVar[tuple[str, ...]] = ("frame",)

    def __init__(
        self,
        net: nn.Module,
        card: dict,
        name: str,
        device: str = "cpu",
        workspace_center_base: tuple[float, float, float] | None = None,
        depth_offset: float | None = None,
    ) -> None:
        self.name = name  # type: ignore[misc]
        self.card = card
        self.cfg = processing_from_card(card)
        self.in_channels = int(card.get("in_channels", 1))
        self.device = device
        self.workspace_center_base = workspace_center_base
        self.depth_offset = depth_offset
        self.reference_net = net.eval()  # the network as given; ``net`` is what runs
        self.view = "auto"
        self.max_tilt_deg = 10.0
        self.to(device)

    @property
    def takes_rgb(self) -> bool:
        """RGB-D input: depth + 3 colour channels."""
        return self.in_channels == 4

    def to(self, device: str) -> PlanarGraspModel:
        self.device = device
        self.net = self.reference_net.to(device)
        if device == "cpu":
            self.net = optimise_for_cpu(self.net, self.in_channels, self.cfg.size)
        return self

    def _workspace_in_camera(self, frame: RGBDFrame) -> np.ndarray | None:
        """The workspace point in the camera frame, when it is set and in front of the
        camera inside its image; else None."""
        if self.workspace_center_base is None:
            return None
        cam = frame.camera
        p = transform_points(cam.T_camera_base, np.asarray(self.workspace_center_base)[None])[0]
        if not (np.all(np.isfinite(p)) and p[2] > 0):
            return None
        u, v = cam.project(p[None])[0]
        return p if (0 <= u <= cam.width - 1 and 0 <= v <= cam.height - 1) else None

    def crop_center(self, frame: RGBDFrame) -> tuple[float, float]:
        """Blind crop centre (u, v): the projected workspace point, else (no point, or one
        behind the camera or outside its image: a wrong mount) the image centre."""
        return self._crop_center_at(frame, self._workspace_in_camera(frame))

    def _crop_center_at(self, frame: RGBDFrame, p: np.ndarray | None) -> tuple[float, float]:
        """:meth:`crop_center` given the workspace point ``p`` in the camera frame."""
        if p is not None:
            u, v = frame.camera.project(p[None])[0]
            return float(u), float(v)
        return P.image_center(frame.depth.shape)

    @staticmethod
    def camera_tilt(camera: CameraModel) -> float:
        """Angle [deg] between ``camera``'s optical axis and straight down (base -Z)."""
        down = -float(camera.T_base_camera[2, 2])  # optical +Z against base -Z
        return math.degrees(math.acos(max(-1.0, min(1.0, down))))

    def uses_topdown(self, frame: RGBDFrame) -> bool:
        """Whether :meth:`view_frame` re-renders ``frame`` from above (``view``)."""
        view = require_choice("view", self.view, VIEWS)
        if view == "auto":
            return self.camera_tilt(frame.camera) > self.max_tilt_deg
        return view == "topdown"

    def view_warning(self, frame: RGBDFrame, view: RGBDFrame | None = None) -> str | None:
        """Why this frame's view is not what the planar models were made for, or None:
        they expect a camera looking straight down; a tilted one is re-rendered from
        above unless ``view`` is ``camera``, and hides the table behind tall objects.
        ``view``: what :meth:`view_frame` made of ``frame`` (``out.view`` of
        :meth:`detect`), when known: the virtual camera is then not placed again."""
        tilt = self.camera_tilt(frame.camera)
        if tilt <= self.max_tilt_deg:
            return None
        if not self.uses_topdown(frame):
            return (
                f"camera tilted {tilt:.0f}° from straight down: planar grasps approach "
                "along the optical axis, so they will not be top-down (view 'camera'; "
                "'auto' re-renders the frame from above)"
            )
        # a view is a re-render exactly when it has a camera of its own (the frame, or
        # detect's colourless copy of it, keeps the frame's camera object)
        unplaced = (
            view.camera is frame.camera
            if view is not None
            else (self.topdown_camera(frame) is None)
        )
        if unplaced:
            return (
                f"camera tilted {tilt:.0f}° from straight down, and neither a workspace point "
                "in view nor depth at the image centre to place a view from above: planar "
                "grasps approach along the optical axis"
            )
        if tilt > TOPDOWN_MAX_TILT_DEG:
            return (
                f"camera tilted {tilt:.0f}° from straight down: the view re-rendered from "
                "above misses most of the table behind objects (mount it steeper)"
            )
        return None

    def topdown_camera(self, frame: RGBDFrame) -> CameraModel | None:
        """A virtual camera straight above the workspace point (else above the point the
        image centre sees), as far from it as ``frame``'s camera is, looking down with
        ``frame``'s image-up direction kept; its focal length is ``frame``'s times the
        cosine of the tilt, about the density a tilted view samples the table with. None
        when neither point is known."""
        cam = frame.camera
        T = cam.T_base_camera
        anchor = None
        if self._workspace_in_camera(frame) is not None:
            anchor = np.asarray(self.workspace_center_base, dtype=np.float64)
        else:
            h, w = frame.depth.shape
            patch = frame.depth[h // 2 - 10 : h // 2 + 11, w // 2 - 10 : w // 2 + 11]
            ok = patch[np.isfinite(patch) & (patch > 0)]
            if ok.size:
                p = cam.backproject(cam.cx, cam.cy, float(np.median(ok)))
                anchor = transform_points(T, p[None])[0]
        if anchor is None:
            return None
        distance = float(np.linalg.norm(T[:3, 3] - anchor))
        up = -T[:3, 1]  # image up (optical -Y) in the base frame
        up_h = np.array([up[0], up[1], 0.0])
        if np.linalg.norm(up_h) < 0.1:  # level camera: its forward axis is "up"
            up_h = np.array([T[0, 2], T[1, 2], 0.0])
        eye = anchor + np.array([0.0, 0.0, distance])
        scale = max(math.cos(math.radians(self.camera_tilt(cam))), 0.25)
        return CameraModel.from_intrinsics(
            cam.fx * scale,
            cam.fy * scale,
            (cam.width - 1) / 2,
            (cam.height - 1) / 2,
            cam.width,
            cam.height,
            T_base_camera=look_at(eye, anchor, up=up_h),
            frame_id=f"{frame.frame_id}_topdown",
            base_frame=cam.base_frame,
        )

    def view_frame(self, frame: RGBDFrame) -> RGBDFrame:
        """The frame the network sees: ``frame`` itself, or (:meth:`uses_topdown`) ``frame``
        re-rendered by :meth:`topdown_camera` with what the camera did not see (behind
        objects) filled in as table (:func:`processing.fill_unseen`); ``frame`` itself
        when no virtual camera can be placed (:meth:`view_warning` says so)."""
        if not self.uses_topdown(frame):
            return frame
        camera = self.topdown_camera(frame)
        if camera is None:
            return frame
        top = reproject(frame, camera)
        depth, color = P.fill_unseen(top.depth, top.color)
        return dataclasses.replace(top, depth=depth, color=color)

    def crop_zoom(self, frame: RGBDFrame) -> float:
        """Zoom that brings ``frame`` to the training images' scale (``pixels_per_metre``
        of the card's processing): the network learned object sizes in pixels, so a camera
        with another focal length, resolution or height above the table would otherwise
        show it objects at a scale it never saw (a 1280x720 RealSense: 1.5x). The scale
        is taken at the workspace point's depth, else at the table's (median depth); 1
        within 1 % (the training zoom jitter is ±15 %), clipped to [0.25, 4]."""
        return self._crop_zoom_at(frame, self._workspace_in_camera(frame))

    def _crop_zoom_at(self, frame: RGBDFrame, p: np.ndarray | None) -> float:
        """:meth:`crop_zoom` given the workspace point ``p`` in the camera frame."""
        z = float(p[2]) if p is not None else P.table_depth(frame.depth)
        if not z > 0:
            return 1.0
        return self.data_zoom(math.sqrt(frame.camera.fx * frame.camera.fy) / z)

    def data_zoom(self, data_pixels_per_metre: float | None) -> float:
        """Zoom from images of ``data_pixels_per_metre`` to the card's scale: 1 when
        either is unknown or they agree within 1 %, else clipped to [0.25, 4]."""
        ppm = self.cfg.pixels_per_metre
        if not ppm or not data_pixels_per_metre:
            return 1.0
        zoom = ppm / data_pixels_per_metre
        return 1.0 if abs(zoom - 1.0) < 0.01 else float(np.clip(zoom, 0.25, 4.0))

    @torch.inference_mode()
    def forward_maps(self, x: np.ndarray) -> np.ndarray:
        """Raw 4xSxS network outputs of one CxSxS input."""
        t = torch.from_numpy(x)[None].to(self.device)
        if self.device == "cpu":
            t = t.contiguous(memory_format=torch.channels_last)
        return self.net(t)[0].float().cpu().numpy()

    def run(
        self,
        depth: np.ndarray,
        rgb: np.ndarray | None = None,
        center: tuple[float, float] | None = None,
        max_grasps: int = 1,
        zoom: float = 1.0,
    ) -> PlanarOutput:
        """Rectangles (full-image pixels) and maps for one depth image [m]; ``zoom``
        scales the image in the crop (:meth:`crop_zoom` for a camera frame)."""
        if self.takes_rgb and rgb is None:
            raise ModelError(f"{self.name}: this model needs RGB-D input, got depth only")
        center = center if center is not None else P.image_center(depth.shape)
        M = P.crop_transform(center, self.cfg.size, zoom=zoom)
        x = P.prepare_input(depth, M, self.cfg, rgb if self.takes_rgb else None)
        maps = self.forward_maps(x)
        q, angle, width = P.postprocess(maps, self.cfg)
        rects_crop = P.detect_rects(maps, self.cfg, n=max_grasps)
        Minv = P.invert_affine(M)
        rects = tuple(P.transform_rect(r, Minv) for r in rects_crop)
        return PlanarOutput(q, angle, width, M, rects)

    def detect(
        self, frame: RGBDFrame, max_grasps: int = 50, color: bool = True
    ) -> tuple[PlanarOutput, list[Grasp]]:
        """The maps and rectangles of one camera frame (its :meth:`view_frame`; crop centred
        on the workspace point, zoomed to the training scale) and their base-frame grasps,
        best first; ``out.view`` is the frame the rectangles are in. ``color=False`` leaves
        the colour out of the view when the network takes depth only (re-rendering from above
        then skips the colour, most of its cost: docs/models/ggcnn.md); the node passes it
        when nobody watches the quality image."""
        if not color and not self.takes_rgb and frame.color is not None:
            frame = dataclasses.replace(frame, color=None)
        frame = self.view_frame(frame)
        p = self._workspace_in_camera(frame)  # once per frame, for the centre and the zoom
        center, zoom = self._crop_center_at(frame, p), self._crop_zoom_at(frame, p)
        out = self.run(frame.depth, frame.color, center, max_grasps, zoom)
        grasps = P.rects_to_grasps(
            out.rects, frame.depth, frame.camera, self.name, depth_offset=self.depth_offset
        )
        return dataclasses.replace(out, view=frame), grasps

    def predict(self, inp: GraspInput, max_grasps: int = 50) -> list[Grasp]:
        if inp.frame is None:
            raise ModelError(f"{self.name}: needs GraspInput.frame (an RGB-D frame)")
        return self.detect(inp.frame, max_grasps, color=False)[1]


def _load(name: str, weights: str | Path | None, device: str) -> PlanarGraspModel:
    path = Path(weights) if weights is not None else shipped_weights(name)
    if not path.is_file():
        raise CheckpointError(
            f"{name}: weights not found at {path}; train them with "
            f"`grasp train --model {name.replace('_ggcnn', '')} ...` and pass --weights"
        )
    net, card = load_network(path)
    if card.get("arch") != name:
        raise CheckpointError(f"{path}: card says arch {card.get('arch')!r}, expected {name!r}")
    return PlanarGraspModel(net, card, name=name, device=device)


def load_ggcnn(weights: str | Path | None = None, device: str = "cpu") -> PlanarGraspModel:
    return _load("ggcnn", weights, device)


def load_ggcnn2(weights: str | Path | None = None, device: str = "cpu") -> PlanarGraspModel:
    return _load("ggcnn2", weights, device)


def load_vqvae_ggcnn(weights: str | Path | None = None, device: str = "cpu") -> PlanarGraspModel:
    return _load("vqvae_ggcnn", weights, device)
