"""The shared planar pre-/post-processing path."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grasp_core import CameraModel, GraspRect
from grasp_core.se3 import make_transform, rot_x
from grasp_models.planar import processing as P


def test_crop_transform_centres_the_crop_and_round_trips_rectangles() -> None:
    M = P.crop_transform((320.0, 240.0), 300)
    r = GraspRect((330.0, 250.0), 0.3, 40.0, 20.0)
    rc = P.transform_rect(r, M)
    assert rc.center == pytest.approx((159.5, 159.5))
    assert rc.angle == pytest.approx(0.3) and rc.width == pytest.approx(40.0)
    back = P.transform_rect(rc, P.invert_affine(M))
    assert back.center == pytest.approx(r.center) and back.angle == pytest.approx(r.angle)


def test_rotation_and_zoom_move_rectangles_with_the_image() -> None:
    M = P.crop_transform((100.0, 100.0), 64, rotation=math.pi / 2, zoom=2.0)
    r = GraspRect((110.0, 100.0), 0.0, 10.0, 4.0)  # 10 px right of the centre
    rc = P.transform_rect(r, M)
    assert rc.center == pytest.approx((31.5, 31.5 + 20.0))  # turned to below, twice as far
    assert rc.width == pytest.approx(20.0) and abs(rc.angle) == pytest.approx(math.pi / 2)
    # The image content follows: a bright pixel lands where the rectangle went.
    img = np.zeros((200, 200), np.float32)
    img[100, 110] = 1.0
    out = P.warp(img, M, 64)
    v, u = np.unravel_index(np.argmax(out), out.shape)
    assert (u, v) == pytest.approx((31.5, 51.5), abs=1.0)


def test_prepare_input_fills_holes_removes_mean_and_clips() -> None:
    depth = np.full((120, 160), 0.8, np.float32)
    depth[50:70, 70:90] = 0.7
    depth[10, 10] = 0.0  # a hole
    depth[11, 11] = np.nan
    cfg = P.ProcessingConfig(size=64)
    x = P.prepare_input(depth, P.crop_transform(P.image_center(depth.shape), 64), cfg)
    assert x.shape == (1, 64, 64) and x.dtype == np.float32
    assert abs(float(x.mean())) < 1e-5 and np.isfinite(x).all()
    assert x.min() < -0.05  # the raised block is nearer than the mean
    rgb = np.zeros((120, 160, 3), np.uint8)
    x4 = P.prepare_input(depth, P.crop_transform((80, 60), 64), cfg, rgb)
    assert x4.shape == (4, 64, 64) and x4[1:].max() == pytest.approx(-0.5)


def test_unseen_parts_of_a_view_from_above_become_table_not_object() -> None:
    """Behind an object a tilted camera sees no table: in the view re-rendered from above
    that strip is filled with the table's depth and colour (fill_invalid, the
    nearest-value fill, would stretch the object's 5 cm top over it)."""
    depth = np.full((60, 80), 0.8, np.float32)
    depth[20:30, 20:40] = 0.75  # an object's top
    depth[10:20, 20:40] = 0.0  # the table it hid from the camera
    color = np.full((60, 80, 3), (90, 80, 70), np.uint8)
    color[20:30, 20:40] = (200, 0, 0)
    color[10:20, 20:40] = 0
    filled, fcolor = P.fill_unseen(depth, color)
    assert (filled[10:20, 20:40] == np.float32(0.8)).all()
    assert (P.fill_invalid(depth)[19, 22:38] == np.float32(0.75)).all()  # what it avoids
    np.testing.assert_array_equal(filled[20:30], depth[20:30])
    assert (fcolor[10:20, 20:40] == (90, 80, 70)).all()
    np.testing.assert_array_equal(fcolor[20:30], color[20:30])
    assert P.fill_unseen(filled, None)[0] is filled  # nothing unseen: as it was


def test_target_maps_paint_the_centre_third() -> None:
    r = GraspRect((32.0, 32.0), math.pi / 4, 30.0, 10.0)
    maps = P.grasp_maps([r], 64)
    q, cos2, sin2, w = maps
    assert q[32, 32] == 1.0 and q[0, 0] == 0.0
    assert cos2[32, 32] == pytest.approx(0.0, abs=1e-6) and sin2[32, 32] == pytest.approx(1.0)
    assert w[32, 32] == pytest.approx(30.0 / P.WIDTH_SCALE)
    # along the closing axis only the centre third (5 px each side) is painted
    d = 9.0 / math.sqrt(2)
    assert q[round(32 + d), round(32 + d)] == 0.0
    assert 40 < q.sum() < 160


def test_detect_rects_finds_the_peak_with_its_angle_and_width() -> None:
    size = 64
    maps = np.zeros((4, size, size), np.float32)
    maps[0, 20:25, 40:45] = 1.0
    maps[0, 50:53, 10:13] = 0.6
    angle = -0.5
    maps[1] = math.cos(2 * angle)
    maps[2] = math.sin(2 * angle)
    maps[3] = 30.0 / P.WIDTH_SCALE
    cfg = P.ProcessingConfig(size=size, min_distance=5)
    rects = P.detect_rects(maps, cfg, n=5)
    assert len(rects) == 2
    best = rects[0]
    assert best.center == pytest.approx((42.0, 22.0), abs=1.0)
    assert best.angle == pytest.approx(angle, abs=1e-3)
    assert best.width == pytest.approx(30.0, rel=1e-3) and best.quality > rects[1].quality


def test_no_peak_above_threshold_still_gives_the_best_pixel() -> None:
    q = np.zeros((32, 32), np.float32)
    q[5, 7] = 0.05
    assert P.local_maxima(q, 3, 2, threshold=0.5) == [(5, 7)]


def test_rectangles_become_base_frame_grasps() -> None:
    # Camera 0.8 m above the base origin looking down (optical +Z = base -Z).
    T_base_camera = make_transform(rot_x(math.pi), [0.5, 0.0, 0.8])
    cam = CameraModel.from_intrinsics(600, 600, 79.5, 59.5, 160, 120, T_base_camera=T_base_camera)
    depth = np.full((120, 160), 0.8, np.float32)
    r = GraspRect((79.5, 59.5), 0.0, 30.0, 15.0)
    (g,) = P.rects_to_grasps([r], depth, cam, "ggcnn", depth_offset=0.0)
    np.testing.assert_allclose(g.position, [0.5, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(g.approach, [0.0, 0.0, -1.0], atol=1e-9)
    np.testing.assert_allclose(g.closing, [1.0, 0.0, 0.0], atol=1e-9)
    assert g.width == pytest.approx(30.0 * 0.8 / 600)
    # no depth under the centre: dropped, not raised
    assert P.rects_to_grasps([r], np.zeros_like(depth), cam, "ggcnn") == []


def test_adaptive_depth_puts_the_tcp_half_way_down_the_object() -> None:
    T_base_camera = make_transform(rot_x(math.pi), [0.5, 0.0, 0.8])
    cam = CameraModel.from_intrinsics(600, 600, 79.5, 59.5, 160, 120, T_base_camera=T_base_camera)
    depth = np.full((120, 160), 0.8, np.float32)
    depth[50:70, 70:90] = 0.76  # a 4 cm tall box top on the table
    tall = np.full((120, 160), 0.8, np.float32)
    tall[50:70, 70:90] = 0.6  # 20 cm tall: the offset stops at 3 cm
    r = GraspRect((79.5, 59.5), 0.0, 30.0, 15.0)
    (g,) = P.rects_to_grasps([r], depth, cam, "ggcnn")
    assert g.position[2] == pytest.approx(0.04 - 0.02, abs=1e-6)
    (g,) = P.rects_to_grasps([r], tall, cam, "ggcnn")
    assert g.position[2] == pytest.approx(0.2 - 0.03, abs=1e-6)


def test_tcp_depth_comes_from_the_surface_between_the_jaws_not_the_centre_pixel() -> None:
    # A peak on the table 1.5 cm beside a 20 cm tall, 2 cm wide post (a bottle's neck seen
    # off-axis): the jaws close on the post, so the TCP goes 3 cm below its top, not 4 mm
    # below the table the centre pixel sees (the palm would hit the post).
    T_base_camera = make_transform(rot_x(math.pi), [0.5, 0.0, 0.8])
    cam = CameraModel.from_intrinsics(600, 600, 79.5, 59.5, 160, 120, T_base_camera=T_base_camera)
    depth = np.full((120, 160), 0.8, np.float32)
    depth[55:65, 60:70] = 0.6  # columns 60-69: left of the centre column 79.5
    r = GraspRect((79.5, 59.5), 0.0, 50.0, 15.0)  # jaws span columns 54.5-104.5
    (g,) = P.rects_to_grasps([r], depth, cam, "ggcnn")
    assert g.position[2] == pytest.approx(0.2 - 0.03, abs=1e-6)
    assert g.width == pytest.approx(50.0 * 0.6 / 600)
    assert P.surface_depth(r, depth) == pytest.approx(0.6)
    # the same rectangle turned 90 deg misses the post: the table it is
    turned = GraspRect((79.5, 59.5), math.pi / 2, 50.0, 15.0)
    assert P.surface_depth(turned, depth) == pytest.approx(0.8)
    # a rectangle entirely off the image has no surface and is dropped
    assert P.surface_depth(GraspRect((500.0, 500.0), 0.0, 10.0, 5.0), depth) is None


def test_peaks_at_the_crop_edge_are_ignored_with_a_border():
    local_maxima, ProcessingConfig = P.local_maxima, P.ProcessingConfig

    q = np.zeros((64, 64), dtype=np.float32)
    q[30, 62] = 0.9  # a padding ridge at the edge, higher than the object's peak
    q[32, 20] = 0.5
    assert local_maxima(q, 5, 3, 0.1)[0] == (30, 62)
    assert local_maxima(q, 5, 3, 0.1, border=4) == [(32, 20)]
    with pytest.raises(ValueError, match="border"):
        ProcessingConfig(size=64, border=40)
