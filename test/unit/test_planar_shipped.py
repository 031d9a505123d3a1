"""The shipped planar weights load through the registry, carry a complete model card,
and reproduce the card's accuracy on the shipped evaluation set within one point."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from grasp_core import CameraModel, RGBDFrame
from grasp_core.se3 import make_transform, rot_x
from grasp_models.base import GraspInput
from grasp_models.checkpoint import load_card
from grasp_models.planar.evalset import evaluate_eval_set
from grasp_models.planar.inference import shipped_weights
from grasp_models.registry import WEIGHTS_DIR, load_model

EVAL_SET = WEIGHTS_DIR / "planar_eval_set.npz"
SHIPPED = ("ggcnn", "vqvae_ggcnn")

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize("name", SHIPPED)
def test_card_is_complete_and_weights_are_small(name: str) -> None:
    path = shipped_weights(name)
    card = load_card(path)
    assert card["arch"] == name
    for key in ("data", "seed", "command", "metrics", "shipped_eval", "processing"):
        assert key in card, key
    assert card["metrics"]["image"]["images"] > 0
    assert path.stat().st_size < 5e6


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_reproduce_their_card(name: str) -> None:
    torch.set_num_threads(2)
    model = load_model(name, device="cpu")
    card = load_card(shipped_weights(name))
    result = evaluate_eval_set(model, EVAL_SET)
    assert result["images"] == card["shipped_eval"]["images"]
    assert abs(result["top1"] - card["shipped_eval"]["top1"]) <= 0.01
    assert abs(result["top5"] - card["shipped_eval"]["top5"]) <= 0.01


def test_registry_model_predicts_base_frame_grasps_on_a_frame() -> None:
    model = load_model("ggcnn", device="cpu")
    T_base_camera = make_transform(rot_x(math.pi), [0.5, 0.0, 0.8])
    cam = CameraModel.from_intrinsics(615, 615, 319.5, 239.5, 640, 480, T_base_camera=T_base_camera)
    depth = np.full((480, 640), 0.8, np.float32)
    depth[225:255, 290:350] = 0.77  # a 3 cm high bar, 6 cm x 3 cm seen from 0.8 m
    grasps = model.predict(GraspInput(frame=RGBDFrame(depth=depth, camera=cam)), max_grasps=5)
    assert 1 <= len(grasps) <= 5
    assert all(g.frame_id == "panda_link0" and g.model == "ggcnn" for g in grasps)
    assert [g.quality for g in grasps] == sorted((g.quality for g in grasps), reverse=True)
    np.testing.assert_allclose(grasps[0].approach, [0.0, 0.0, -1.0], atol=1e-6)


def _box_scene(width: int, height: int, f: float, eye_z: float = 0.8) -> RGBDFrame:
    """A 3 x 7 x 6 cm box on the table under an overhead camera of any intrinsics."""
    from grasp_core.se3 import look_at
    from grasp_perception.synthetic import SyntheticBox, SyntheticScene, render

    T = look_at(np.array([0.5, 0.0, eye_z]), np.array([0.5, 0.0, 0.0]), up=(1.0, 0.0, 0.0))
    cam = CameraModel.from_intrinsics(
        f, f, (width - 1) / 2, (height - 1) / 2, width, height, T_base_camera=T
    )
    box = SyntheticBox((0.52, 0.03), (0.03, 0.07, 0.06))
    return render(SyntheticScene(boxes=(box,)), cam)[0]


@pytest.mark.parametrize(
    "width, height, f, eye_z",
    [(1280, 720, 910.0, 0.8), (424, 240, 303.0, 0.8), (640, 480, 615.0, 0.6)],
)
def test_other_cameras_are_zoomed_to_the_training_scale(width, height, f, eye_z) -> None:
    """The network learned sizes in pixels at 769 px/m (615 px at 0.8 m). A 1280x720 or
    424x240 RealSense, or a camera 0.6 m above the table, sees the same box as the
    training camera does once the crop is zoomed: the best grasp keeps its width and
    axis. (Unzoomed: 4.5 and 8.7 cm wide instead of 5.8 cm, the axis up to 16° off.)"""
    torch.set_num_threads(2)
    model = load_model("ggcnn", device="cpu")
    model.workspace_center_base = (0.5, 0.0, 0.0)
    ref_frame = _box_scene(640, 480, 615.0)
    assert model.crop_zoom(ref_frame) == 1.0  # the training camera: no zoom at all
    ref = model.predict(GraspInput(frame=ref_frame), max_grasps=1)[0]
    frame = _box_scene(width, height, f, eye_z)
    zoom = model.crop_zoom(frame)
    assert zoom == pytest.approx(768.838 * (eye_z / f), rel=1e-6)
    got = model.predict(GraspInput(frame=frame), max_grasps=1)[0]
    assert abs(got.width - ref.width) < 0.01, (got.width, ref.width)
    assert abs(float(got.closing @ ref.closing)) > math.cos(math.radians(10))
    assert np.linalg.norm(got.position[:2] - ref.position[:2]) < 0.01


def test_crop_centre_falls_back_to_the_image_centre_for_a_point_it_cannot_see() -> None:
    """A workspace point behind the camera or outside its image (a wrong mount) would
    centre the crop on a mirrored or off-image pixel: the image centre is used instead."""
    model = load_model("ggcnn", device="cpu")
    frame = _box_scene(640, 480, 615.0)
    model.workspace_center_base = (0.55, 0.02, 0.0)
    u, v = model.crop_center(frame)
    assert (u, v) != (319.5, 239.5) and 0 <= u < 640 and 0 <= v < 480
    for point in ((0.5, 0.0, 1.6), (0.5, 2.0, 0.0)):  # behind the camera; far outside
        model.workspace_center_base = point
        assert model.crop_center(frame) == (319.5, 239.5)


def _box_from(eye) -> RGBDFrame:
    """The 3 x 7 x 6 cm box of :func:`_box_scene` seen from ``eye``, looking at (0.5, 0, 0)."""
    from grasp_core.se3 import look_at
    from grasp_perception.synthetic import SyntheticBox, SyntheticScene, render

    T = look_at(np.array(eye, float), np.array([0.5, 0.0, 0.0]), up=(1.0, 0.0, 0.0))
    cam = CameraModel.from_intrinsics(615, 615, 319.5, 239.5, 640, 480, T_base_camera=T)
    box = SyntheticBox((0.52, 0.03), (0.03, 0.07, 0.06))
    return render(SyntheticScene(boxes=(box,)), cam)[0]


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize(
    "eye", [(0.05, 0.0, 0.8), (-0.2, 0.0, 0.6), (0.5, -0.45, 0.7), (0.9, 0.3, 0.7)]
)
def test_a_tilted_camera_gives_the_grasps_a_camera_above_gives(name, eye) -> None:
    """Cameras 29-49° from straight down, from four sides: re-rendered from above (view
    ``auto``), the best grasp is the straight-down camera's (within 1 cm, 1 cm of width,
    10° of axis) and approaches vertically. Seen as they are (view ``camera``) the grasps
    approach along the optical axis, and from (0.9, 0.3, 0.7) the best one lay 26 cm
    from the box (2026-12-07, both models)."""
    torch.set_num_threads(2)
    model = load_model(name, device="cpu")
    model.workspace_center_base = (0.5, 0.0, 0.0)
    ref = model.predict(GraspInput(frame=_box_from((0.5, 0.0, 0.8))), max_grasps=1)[0]
    frame = _box_from(eye)
    assert 25 < model.camera_tilt(frame.camera) < 50
    out, grasps = model.detect(frame, max_grasps=1)
    got = grasps[0]
    np.testing.assert_allclose(got.approach, [0.0, 0.0, -1.0], atol=1e-6)
    assert np.linalg.norm(got.position - ref.position) < 0.01, (got.position, ref.position)
    assert abs(got.width - ref.width) < 0.01, (got.width, ref.width)
    assert abs(float(got.closing @ ref.closing)) > math.cos(math.radians(10))
    assert out.view.frame_id.endswith("_topdown")  # the maps are of the view from above
    assert model.camera_tilt(out.view.camera) < 1e-6
    model.view = "camera"
    seen = model.predict(GraspInput(frame=frame), max_grasps=1)[0]
    np.testing.assert_allclose(seen.approach, frame.camera.T_base_camera[:3, 2], atol=1e-6)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_depth_only_view_without_colour_gives_the_same_grasps(name) -> None:
    """``detect(color=False)`` (the node's call when nobody watches the quality image)
    re-renders a tilted frame without its colour for a depth-only network: the same maps
    and grasps, no colour in the view. An RGB-D network keeps the colour it needs."""
    from grasp_models.planar.inference import PlanarGraspModel
    from grasp_models.planar.networks import GGCNN

    torch.set_num_threads(2)
    model = load_model(name, device="cpu")
    model.workspace_center_base = (0.5, 0.0, 0.0)
    frame = _box_from((0.9, 0.3, 0.7))
    out, grasps = model.detect(frame, max_grasps=3)
    bare, bare_grasps = model.detect(frame, max_grasps=3, color=False)
    assert out.view.color is not None and bare.view.color is None
    np.testing.assert_array_equal(bare.view.depth, out.view.depth)
    np.testing.assert_array_equal(bare.quality, out.quality)
    assert [g.position.tolist() for g in bare_grasps] == [g.position.tolist() for g in grasps]
    rgbd = PlanarGraspModel(GGCNN(in_channels=4), {"arch": "ggcnn", "in_channels": 4}, name="ggcnn")
    rgbd.workspace_center_base = (0.5, 0.0, 0.0)
    assert rgbd.detect(frame, max_grasps=1, color=False)[0].view.color is not None


def test_the_view_setting_and_its_warnings() -> None:
    """Straight down: no warning, the frame used as it is (with ``topdown`` too, re-rendered
    to itself). Tilted 29°: ``camera`` warns that grasps will not be top-down, ``auto``
    re-renders and says nothing; tilted 65°: ``auto`` warns the table is mostly hidden.
    With no workspace point and no depth at the image centre there is nowhere to put the
    view from above: the frame is used as it is, and the warning says why. An unknown
    view is refused by name."""
    from grasp_core import ValidationError

    model = load_model("ggcnn", device="cpu")
    model.workspace_center_base = (0.5, 0.0, 0.0)
    above, tilted, steep = (_box_from(e) for e in ((0.5, 0, 0.8), (0.05, 0, 0.8), (-0.9, 0, 0.6)))
    assert model.view_warning(above) is None and model.view_frame(above) is above
    assert model.view_warning(tilted) is None and model.view_frame(tilted) is not tilted
    assert "misses most of the table" in model.view_warning(steep)
    model.view = "camera"
    assert "tilted 29° from straight down" in model.view_warning(tilted)
    assert model.view_frame(tilted) is tilted
    model.view = "topdown"
    top = model.view_frame(above)
    assert top is not above and top.camera.fx == pytest.approx(615.0)
    model.view = "auto"  # no workspace point, no depth at the image centre: said, not hidden
    model.workspace_center_base = None
    depth = tilted.depth.copy()
    depth[230:251, 310:331] = 0  # the 21 x 21 pixels at the image centre
    blind = dataclasses.replace(tilted, depth=depth)
    assert model.view_frame(blind) is blind and "neither a workspace point" in model.view_warning(
        blind
    )
    assert model.view_warning(blind, model.view_frame(blind)) == model.view_warning(blind)
    # the node's call when nobody watches the quality image: detect's view has no colour
    bare = model.detect(blind, max_grasps=1, color=False)[0].view
    assert bare is not blind and model.view_warning(blind, bare) == model.view_warning(blind)
    model.view = "sideways"
    with pytest.raises(ValidationError, match="view.*sideways"):
        model.view_frame(tilted)


def test_grasp_eval_zooms_data_of_another_scale_as_the_detector_does(tmp_path, capsys) -> None:
    """The same rendered images at twice the resolution (camera.json K doubled): `grasp
    eval` scored them 0 % unzoomed; zoomed from their camera.json to the card's scale,
    as the detector zooms camera frames, they score what the originals score."""
    import json

    import cv2

    from grasp_bringup.cli import main
    from grasp_models.datasets import CornellDataset
    from grasp_models.datasets.synthetic import SynthConfig, generate

    lo_root, hi_root = tmp_path / "lo", tmp_path / "hi"
    cfg = SynthConfig(out=str(lo_root), split="test", objects=3, views=1, labeller="geometric")
    generate(cfg, progress=False)
    lo = CornellDataset(lo_root)
    cam = json.loads((lo_root / "camera.json").read_text())
    K = np.array(cam["K"])
    K[:2] *= 2.0
    K[0, 2], K[1, 2] = 639.5, 479.5
    hi_root.mkdir()
    (hi_root / "camera.json").write_text(json.dumps({**cam, "K": K.tolist()}))
    for i in range(len(lo)):
        s = lo[i]
        big = cv2.resize(s.depth, (1280, 960), interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(hi_root / f"pcd{i:04d}d.tiff"), big)
        corners = "".join(f"{x} {y}\n" for r in s.positives for x, y in r.corners() * 2 + 0.5)
        (hi_root / f"pcd{i:04d}cpos.txt").write_text(corners)
    out = {}
    for name, root in (("lo", lo_root), ("hi", hi_root)):
        args = ["eval", "--model", "ggcnn", "--data", str(root), "--crop", "image", "--quiet"]
        assert main([*args, "--threads", "2", "--out", str(tmp_path / f"{name}.json")]) == 0
        out[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert "no camera.json" not in capsys.readouterr().err
    lo_r, hi_r = out["lo"]["results"]["image"], out["hi"]["results"]["image"]
    assert lo_r["zoom"] == 1.0 and hi_r["zoom"] == pytest.approx(0.5, abs=0.01)
    assert lo_r["top1"] > 0.5 and hi_r["top1"] == lo_r["top1"]
    assert out["hi"]["weights"] == "shipped" and out["hi"]["format"] == "cornell"
    # without a camera.json the scale is unknown: zoom 1, and it says so (it was silent)
    (hi_root / "camera.json").unlink()
    args = ["eval", "--model", "ggcnn", "--data", str(hi_root), "--crop", "image", "--quiet"]
    assert main(args) == 0
    assert f"grasp eval: {hi_root} has no camera.json" in capsys.readouterr().err
