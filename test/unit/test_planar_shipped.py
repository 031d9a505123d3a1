"""The shipped planar weights load through the registry, carry a complete model card,
and reproduce the card's accuracy on the shipped evaluation set within one point."""

from __future__ import annotations

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
