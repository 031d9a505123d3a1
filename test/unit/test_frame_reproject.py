"""``grasp_core.frame.reproject``: a frame seen from another camera (z-buffered forward
projection, one-pixel gaps closed, the unseen left empty)."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_core import CameraModel, RGBDFrame, ValidationError
from grasp_core.frame import reproject
from grasp_core.se3 import look_at
from grasp_perception.synthetic import SyntheticBox, SyntheticScene, render

SCENE = SyntheticScene(
    boxes=(
        SyntheticBox((0.52, 0.03), (0.03, 0.07, 0.06)),
        SyntheticBox((0.45, -0.06), (0.05, 0.05, 0.12)),
    )
)


def camera(eye, f: float = 615.0, target=(0.5, 0.0, 0.0)) -> CameraModel:
    T = look_at(np.array(eye, float), np.array(target, float), up=(1.0, 0.0, 0.0))
    return CameraModel.from_intrinsics(f, f, 319.5, 239.5, 640, 480, T_base_camera=T)


def test_the_same_camera_gives_the_frame_back() -> None:
    frame, _ = render(SCENE, camera((0.5, 0.0, 0.8)), stamp=2.5)
    same = reproject(frame, frame.camera)
    np.testing.assert_allclose(same.depth, frame.depth, atol=1e-6)
    np.testing.assert_array_equal(same.color, frame.color)
    assert same.stamp == 2.5 and same.frame_id == frame.camera.frame_id


def test_a_tilted_view_seen_from_above_matches_the_view_from_above() -> None:
    """A camera 49° from straight down, re-rendered from 0.73 m above the workspace: every
    pixel it fills agrees with a real render from there (z-buffer: nearest surface wins;
    gaps closed with the nearest neighbour), the box tops are filled, and the table the
    12 cm box hides from the tilted camera stays empty (no return), not painted over."""
    tilted, _ = render(SCENE, camera((-0.2, 0.0, 0.6)))
    above_cam = camera((0.5, 0.0, 0.728), f=400.0)
    above, labels = render(SCENE, above_cam)
    got = reproject(tilted, above_cam)
    assert got.camera is above_cam and got.depth.shape == (480, 480 * 4 // 3)
    seen = got.depth > 0
    err = np.abs(got.depth - above.depth)[seen]
    assert np.median(err) < 1e-4 and np.mean(err > 0.005) < 0.01, np.percentile(err, 99)
    for box in (1, 2):  # the tops (labels from the render above) are seen
        assert seen[labels == box].mean() > 0.9, box
    # the table strip just beyond the tall box (+x: image up), 3-10 cm from it, is hidden
    u, v = above_cam.project_base(np.array([[0.45, -0.06, 0.0], [0.45 + 0.025 + 0.03, -0.06, 0.0],
                                            [0.45 + 0.025 + 0.10, -0.06, 0.0]]))[:, :2].T  # fmt: skip
    hidden = got.depth[int(v[2]) : int(v[1]), int(u[0]) - 5 : int(u[0]) + 5]
    assert hidden.size > 0 and (hidden == 0).all()
    assert np.array_equal(got.color[~seen], np.zeros(((~seen).sum(), 3), np.uint8))
    right = seen & (np.abs(got.depth - above.depth) < 0.005)  # (not the edge pixels)
    top = got.color[(labels == 2) & right]  # the colour came with the points
    assert (top == SCENE.colors[1]).all(axis=-1).mean() > 0.95


def test_without_gap_closing_a_finer_view_is_full_of_holes() -> None:
    """The gap closing is what fills the table: a 29° view at full focal length leaves
    about a fifth of the central pixels without a point; closed, a few percent."""
    tilted, _ = render(SCENE, camera((0.05, 0.0, 0.8)))
    above_cam = camera((0.5, 0.0, 0.9))
    window = (slice(140, 340), slice(220, 420))
    raw = reproject(tilted, above_cam, gap_passes=0).depth[window]
    closed = reproject(tilted, above_cam).depth[window]
    assert (raw == 0).mean() > 0.15
    assert (closed == 0).mean() < 0.6 * (raw == 0).mean()


def test_cameras_of_different_base_frames_are_refused() -> None:
    frame, _ = render(SCENE, camera((0.5, 0.0, 0.8)))
    other = CameraModel.from_intrinsics(615, 615, 319.5, 239.5, 640, 480, base_frame="base")
    with pytest.raises(ValidationError, match="'base'.*'panda_link0'"):
        reproject(frame, other)
    with pytest.raises(ValidationError, match="gap_neighbours 0"):
        reproject(frame, frame.camera, gap_neighbours=0)


def test_a_frame_with_no_return_stays_empty() -> None:
    cam = camera((0.5, 0.0, 0.8))
    empty = RGBDFrame(depth=np.zeros((480, 640), np.float32), camera=cam)
    assert not reproject(empty, cam).depth.any()
