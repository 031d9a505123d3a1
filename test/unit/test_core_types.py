import numpy as np
import pytest

from grasp_core import (
    CameraModel,
    Grasp,
    GraspRect,
    RGBDFrame,
    ValidationError,
    depth_m_to_mm,
    depth_mm_to_m,
)
from grasp_core.gripper import load_gripper
from grasp_core.se3 import look_at, transform_points

D435 = dict(fx=615.0, fy=615.0, cx=319.5, cy=239.5, width=640, height=480)


def overhead_camera(height: float = 0.8) -> CameraModel:
    # camera above (0.5, 0, 0), looking straight down, image "up" towards +x
    return CameraModel.from_intrinsics(
        **D435, T_base_camera=look_at([0.5, 0.0, height], [0.5, 0.0, 0.0], up=[1, 0, 0])
    )


def test_project_backproject_round_trip(rng):
    cam = overhead_camera()
    pts_base = np.column_stack(
        [rng.uniform(0.3, 0.7, 50), rng.uniform(-0.2, 0.2, 50), rng.uniform(0.0, 0.2, 50)]
    )
    uv = cam.project_base(pts_base)
    depth = transform_points(cam.T_camera_base, pts_base)[:, 2]
    back = transform_points(cam.T_base_camera, cam.backproject(uv[:, 0], uv[:, 1], depth))
    np.testing.assert_allclose(back, pts_base, atol=1e-9)


def test_principal_point_projects_to_centre():
    cam = overhead_camera()
    uv = cam.project_base([[0.5, 0.0, 0.0]])
    np.testing.assert_allclose(uv[0], [cam.cx, cam.cy], atol=1e-9)


def test_depth_to_points_plane_is_flat():
    cam = overhead_camera(0.8)
    depth = np.full((480, 640), 0.8, dtype=np.float32)
    depth[0, 0] = 0.0  # invalid pixel -> NaN
    pts = cam.depth_to_points(depth, frame="base")
    assert np.isnan(pts[0, 0]).all()
    np.testing.assert_allclose(pts[1:, :, 2], 0.0, atol=1e-6)


def test_camera_rejects_bad_intrinsics():
    with pytest.raises(ValidationError, match="focal lengths"):
        CameraModel.from_intrinsics(0.0, 615, 320, 240, 640, 480)
    with pytest.raises(ValidationError, match="width"):
        CameraModel.from_intrinsics(615, 615, 320, 240, 0, 480)


def test_camera_round_trips_through_dict():
    cam = overhead_camera()
    again = CameraModel.from_dict(cam.to_dict())
    np.testing.assert_array_equal(again.K, cam.K)
    np.testing.assert_array_equal(again.T_base_camera, cam.T_base_camera)


def test_camera_arrays_are_read_only():
    cam = overhead_camera()
    with pytest.raises(ValueError):
        cam.K[0, 0] = 1.0


def test_rgbd_frame_checks_shapes():
    cam = overhead_camera()
    RGBDFrame(depth=np.ones((480, 640), np.float32), camera=cam)
    with pytest.raises(ValidationError, match="does not match"):
        RGBDFrame(depth=np.ones((240, 320), np.float32), camera=cam)
    with pytest.raises(ValidationError, match="color"):
        RGBDFrame(depth=np.ones((480, 640), np.float32), camera=cam, color=np.zeros((480, 640)))
    with pytest.raises(ValidationError, match="depth_mm_to_m"):
        RGBDFrame(depth=np.ones((480, 640), np.uint16), camera=cam)


def test_depth_unit_conversion():
    mm = np.array([[0, 1, 1500, 65535]], dtype=np.uint16)
    m = depth_mm_to_m(mm)
    assert m.dtype == np.float32
    np.testing.assert_allclose(m, [[0, 0.001, 1.5, 65.535]], rtol=1e-6)
    np.testing.assert_array_equal(
        depth_m_to_mm(np.array([[np.nan, -1, 1.5, 100.0]])), [[0, 0, 1500, 0]]
    )


def test_grasp_validation_messages():
    with pytest.raises(ValidationError, match="Grasp.width"):
        Grasp(pose=np.eye(4), width=0.0)
    with pytest.raises(ValidationError, match="Grasp.quality"):
        Grasp(pose=np.eye(4), width=0.04, quality=1.5)
    bad = np.eye(4)
    bad[0, 3] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        Grasp(pose=bad, width=0.04)
    with pytest.raises(ValidationError, match="unit norm"):
        Grasp.from_pq([0, 0, 0], [0, 0, 0, 0.5], 0.04)


def test_grasp_axes_and_pregrasp():
    g = Grasp.from_pq([0.5, 0.0, 0.1], [1.0, 0.0, 0.0, 0.0], 0.04)  # 180° about x: +Z down
    np.testing.assert_allclose(g.approach, [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(g.closing, [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(g.offset_along_approach(-0.1)[:3, 3], [0.5, 0.0, 0.2], atol=1e-12)


def test_grasp_rect_angle_wraps_and_corners():
    r = GraspRect(center=(100, 50), angle=np.pi, width=20, length=10)
    assert r.angle == pytest.approx(0.0)
    c = r.corners()
    np.testing.assert_allclose(c.mean(axis=0), [100, 50])
    np.testing.assert_allclose(np.linalg.norm(c[1] - c[0]), 20)
    np.testing.assert_allclose(np.linalg.norm(c[2] - c[1]), 10)


def test_grasp_rect_to_grasp_top_down():
    cam = overhead_camera(0.8)
    depth = np.full((480, 640), 0.8, dtype=np.float32)
    depth[200:280, 280:360] = 0.75  # a 5 cm tall box top
    rect = GraspRect(center=(cam.cx, cam.cy), angle=0.0, width=615 * 0.05 / 0.75, length=20)
    g = rect.to_grasp(depth, cam, model="test", depth_offset=0.02)
    np.testing.assert_allclose(g.position, [0.5, 0.0, 0.05 - 0.02], atol=1e-6)
    np.testing.assert_allclose(g.approach, [0, 0, -1], atol=1e-9)  # straight down
    assert g.width == pytest.approx(0.05)
    assert g.rect is rect and g.model == "test" and g.frame_id == "panda_link0"
    # the closing axis follows the image +u axis, which this camera maps to base -y
    np.testing.assert_allclose(g.closing, [0, -1, 0], atol=1e-9)


@pytest.mark.parametrize("angle_deg", [0.0, 45.0, 90.0, 120.0])
def test_grasp_rect_jaws_land_where_their_pixels_are_with_unequal_focal_lengths(angle_deg):
    """A stream resized to another aspect ratio (1280x720 sent as 640x480: fx 455, fy 607):
    the jaw points the width and closing axis stand for are the back-projections of the
    rectangle's jaw pixels (before, width and axis used fx for both directions)."""
    T = look_at([0.5, 0.0, 0.8], [0.5, 0.0, 0.0], up=[1, 0, 0])
    cam = CameraModel.from_intrinsics(455.0, 607.0, 319.5, 239.5, 640, 480, T_base_camera=T)
    depth = np.full((480, 640), 0.8, dtype=np.float32)
    a = np.radians(angle_deg)
    rect = GraspRect(center=(300.0, 250.0), angle=a, width=60.0, length=20.0)
    g = rect.to_grasp(depth, cam)
    d = 0.5 * rect.width * np.array([np.cos(rect.angle), np.sin(rect.angle)])  # wrapped
    jaws = cam.backproject(
        np.array([300.0 - d[0], 300.0 + d[0]]),
        np.array([250.0 - d[1], 250.0 + d[1]]),
        np.full(2, 0.8),
    )
    jaws = transform_points(cam.T_base_camera, jaws)
    assert g.width == pytest.approx(np.linalg.norm(jaws[1] - jaws[0]), rel=1e-6)
    np.testing.assert_allclose(g.closing, (jaws[1] - jaws[0]) / g.width, atol=1e-6)


def test_grasp_rect_without_depth_is_an_error():
    cam = overhead_camera()
    depth = np.zeros((480, 640), dtype=np.float32)
    with pytest.raises(ValidationError, match="no valid depth"):
        GraspRect(center=(320, 240), angle=0, width=10, length=5).to_grasp(depth, cam)
    with pytest.raises(ValidationError, match="outside"):
        GraspRect(center=(900, 240), angle=0, width=10, length=5).to_grasp(depth + 1, cam)


def test_panda_hand_spec():
    hand = load_gripper("panda_hand")
    assert hand.max_width == pytest.approx(0.08)
    assert hand.flange_to_tcp == pytest.approx(0.1034)
    with pytest.raises(ValidationError, match="available: .*panda_hand"):
        load_gripper("robotiq_9000")
