"""Gripper control points and the symmetric control-point loss (paper Eq. 3).

Grasp frame (DESIGN §4): origin at the TCP between the fingertips, +Z approach, +X
closing. All control points lie in the X-Z plane, so turning a grasp 180° about its
approach axis maps the left finger's points onto the right finger's: the loss takes the
minimum over the two finger orderings and is zero for a grasp and its twin.
"""

from __future__ import annotations

import numpy as np
import torch

from grasp_core.gripper import GripperSpec, load_gripper

#: Index permutation that swaps the two fingers in :func:`control_points` order.
FINGER_SWAP = (0, 1, 3, 2, 5, 4)
#: Same for :func:`gripper_cloud` order.
CLOUD_SWAP = (0, 1, 3, 2, 5, 4, 7, 6)


def control_points(gripper: GripperSpec | None = None) -> np.ndarray:
    """6x3 control points in the grasp frame [m], fingers open to ``max_width``.

    Order: wrist (palm back), palm centre, finger base +X, finger base -X, fingertip +X,
    fingertip -X.
    """
    g = gripper or load_gripper("panda_hand")
    w, L = g.max_width / 2, g.finger_length
    return np.array(
        [
            [0.0, 0.0, -L - g.palm_depth / 2],
            [0.0, 0.0, -L],
            [w, 0.0, -L],
            [-w, 0.0, -L],
            [w, 0.0, 0.0],
            [-w, 0.0, 0.0],
        ]
    )


def gripper_cloud(gripper: GripperSpec | None = None) -> np.ndarray:
    """8x3 gripper points for the evaluator (the control points plus mid-finger points)."""
    g = gripper or load_gripper("panda_hand")
    w, L = g.max_width / 2, g.finger_length
    mid = np.array([[w, 0.0, -L / 2], [-w, 0.0, -L / 2]])
    return np.concatenate([control_points(g), mid])


def transform_points_batch(T: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Points Px3 (grasp frame) through poses Bx4x4 -> BxPx3."""
    return points @ T[:, :3, :3].transpose(1, 2) + T[:, None, :3, 3]


def control_point_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-grasp loss (B,) between control points ``pred``/``target`` BxPx3 [m].

    Mean over points of the L1 distance, minimum over the two finger orderings of
    ``target`` (P = 6 or 8 with :data:`FINGER_SWAP` / :data:`CLOUD_SWAP`).
    """
    swap = FINGER_SWAP if pred.shape[1] == 6 else CLOUD_SWAP
    direct = (pred - target).abs().sum(-1).mean(-1)
    twin = (pred - target[:, list(swap)]).abs().sum(-1).mean(-1)
    return torch.minimum(direct, twin)
