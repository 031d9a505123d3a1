"""Table plane + object clusters on synthetic frames with known geometry."""

from __future__ import annotations

import numpy as np
import pytest

from grasp_core.frame import RGBDFrame
from grasp_core.se3 import make_transform, rot_x, rot_y, transform_points
from grasp_perception.params import PerceptionParams
from grasp_perception.segmentation import SegmentationNote, fit_plane, segment
from grasp_perception.synthetic import (
    SyntheticBox,
    SyntheticScene,
    default_camera,
    render,
    visible_centroid,
)

BOXES = (
    SyntheticBox((0.40, -0.12), (0.05, 0.07, 0.06), yaw=0.3),
    SyntheticBox((0.58, 0.02), (0.04, 0.04, 0.10), yaw=-0.7),
    SyntheticBox((0.45, 0.16), (0.08, 0.05, 0.03), yaw=1.2),
)


def _tilted(frame: RGBDFrame, T_tilt: np.ndarray) -> RGBDFrame:
    """The same image with the world moved by T_tilt (a tilted table in the base frame)."""
    cam = frame.camera.with_extrinsic(T_tilt @ frame.camera.T_base_camera)
    return RGBDFrame(depth=frame.depth, camera=cam, color=frame.color, stamp=frame.stamp)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    c = np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


@pytest.mark.parametrize(
    ("tilt", "noise", "dropout"),
    [
        (np.eye(4), 0.0, 0.0),
        (make_transform(rot_x(0.08) @ rot_y(-0.05), [0, 0, 0.02]), 0.0015, 0.03),
    ],
    ids=["level", "tilted_noisy"],
)
def test_plane_and_boxes_at_known_poses(tilt, noise, dropout) -> None:
    scene = SyntheticScene(boxes=BOXES, table_height=0.0)
    frame, labels = render(scene, default_camera(), noise_std=noise, dropout=dropout, seed=3)
    truth_centroids = [
        transform_points(tilt, visible_centroid(frame, labels, i + 1)) for i in range(len(BOXES))
    ]
    frame = _tilted(frame, tilt)
    p = PerceptionParams(crop_z_min=-0.2)
    seg = segment(frame, p)
    assert seg.warnings == ()
    # plane: the tilted z = 0 plane, within 5 mm and 1 degree
    n_true = tilt[:3, 2]
    d_true = -n_true @ tilt[:3, 3]
    assert _angle_deg(seg.table_plane[:3], n_true) < 1.0
    # offset measured under the workspace centre
    x0 = tilt[:3, :3] @ np.array([0.5, 0.0, 0.0]) + tilt[:3, 3]
    assert abs(seg.table_plane[:3] @ x0 + seg.table_plane[3]) < 0.005
    assert abs(n_true @ x0 + d_true) < 1e-9
    # one cluster per box, centroid within 1 cm of the visible surface's
    assert len(seg.objects) == len(BOXES)
    found = np.array([o.centroid for o in seg.objects])
    for truth in truth_centroids:
        dist = np.linalg.norm(found - truth, axis=1)
        assert dist.min() < 0.01, (truth, found)
    matched = {int(np.argmin(np.linalg.norm(found - t, axis=1))) for t in truth_centroids}
    assert matched == set(range(len(BOXES)))
    # labels are 0..K-1, points lie above the table, bboxes contain the centroids
    assert [o.label for o in seg.objects] == list(range(len(BOXES)))
    for o in seg.objects:
        h = o.points @ seg.table_plane[:3] + seg.table_plane[3]
        assert h.min() >= p.footprint_min_height - 1e-6  # low parts inside the outline join
        assert np.all(o.bbox_min <= o.centroid) and np.all(o.centroid <= o.bbox_max)
    assert seg.clean_depth.shape == frame.depth.shape and np.all(seg.clean_depth > 0)


def test_object_pixels_match_ground_truth_labels() -> None:
    frame, labels = render(SyntheticScene(boxes=BOXES), default_camera(), seed=1)
    seg = segment(frame, PerceptionParams(pixel_stride=1))
    for o in seg.objects:
        gt = labels.ravel()[o.pixel_indices]
        box = np.bincount(gt[gt > 0]).argmax()
        precision = np.mean(gt == box)
        recall = len(o.pixel_indices) / np.count_nonzero(labels == box)
        assert precision > 0.99 and recall > 0.85, (o.label, precision, recall)
        mask = o.mask()
        assert mask.shape == labels.shape and mask.sum() == len(o.pixel_indices)
    img = seg.label_image()
    assert set(np.unique(img)) == {-1, 0, 1, 2}
    pts, lab = seg.object_points()
    assert len(pts) == len(lab) == sum(len(o.points) for o in seg.objects)


def test_stride_mask_covers_blocks() -> None:
    frame, labels = render(SyntheticScene(boxes=BOXES[:1]), default_camera(), seed=1)
    seg = segment(frame, PerceptionParams(pixel_stride=2))
    (obj,) = seg.objects
    mask = obj.mask()
    iou = (mask & (labels == 1)).sum() / (mask | (labels == 1)).sum()
    assert iou > 0.8


def _blank(depth_value: float) -> RGBDFrame:
    cam = default_camera()
    return RGBDFrame(depth=np.full((cam.height, cam.width), depth_value, np.float32), camera=cam)


@pytest.mark.parametrize("value", [np.nan, 0.0, -1.0])
def test_no_valid_depth_gives_empty_result(value: float) -> None:
    seg = segment(_blank(value))
    assert seg.objects == () and seg.table_plane is None and len(seg.scene_points) == 0
    assert any("no valid pixel" in w for w in seg.warnings)
    assert [w.cause for w in seg.warnings] == ["no_depth"]
    assert seg.clean_depth.shape == (480, 640)


def test_empty_table_warns_no_object() -> None:
    frame, _ = render(SyntheticScene(boxes=()), default_camera())
    seg = segment(frame)
    assert seg.table_plane is not None and abs(seg.table_height) < 0.002
    assert seg.objects == () and any("no object" in w for w in seg.warnings)
    assert [w.cause for w in seg.warnings] == ["no_object"]  # the node logs it at INFO


def test_no_table_still_clusters_objects() -> None:
    frame, _ = render(SyntheticScene(boxes=BOXES), default_camera())
    seg = segment(frame, PerceptionParams(crop_z_min=0.015))  # table cropped away
    assert seg.table_plane is None and any("no table plane" in w for w in seg.warnings)
    assert [w.cause for w in seg.warnings] == ["no_table"]
    assert len(seg.objects) == len(BOXES)


def test_wall_is_not_a_table() -> None:
    # a vertical plane only (camera sees a wall): RANSAC finds it but the tilt check rejects it
    frame, _ = render(SyntheticScene(boxes=()), default_camera())
    wall = _tilted(frame, make_transform(rot_y(np.pi / 2), [0.5, 0, 0.4]))
    seg = segment(
        wall,
        PerceptionParams(
            crop_x_min=-2, crop_x_max=2, crop_y_min=-2, crop_y_max=2, crop_z_min=-2, crop_z_max=2
        ),
    )
    assert seg.table_plane is None and any("no table plane" in w for w in seg.warnings)


def test_nothing_in_crop_box_warns() -> None:
    frame, _ = render(SyntheticScene(boxes=BOXES), default_camera())
    far = _tilted(frame, make_transform(None, [5.0, 0, 0]))
    seg = segment(far)
    assert seg.objects == () and any("crop box" in w for w in seg.warnings)
    assert [w.cause for w in seg.warnings] == ["empty_crop"]


def test_segmentation_notes_are_text_with_a_cause() -> None:
    import copy
    import json
    import pickle

    note = SegmentationNote("no_object", "no object: no cluster of >= 20 voxels")
    assert note == "no object: no cluster of >= 20 voxels" and note.cause == "no_object"
    assert json.loads(json.dumps([note])) == [str(note)]  # reports write them as text
    for again in (pickle.loads(pickle.dumps(note)), copy.deepcopy(note)):
        assert again == note and again.cause == "no_object"
    with pytest.raises(ValueError, match="'empty' is not one of"):
        SegmentationNote("empty", "text")


def test_fit_plane_normal_points_up(rng) -> None:
    pts = rng.uniform(-1, 1, (100, 3))
    pts[:, 2] = 0.3
    plane = fit_plane(pts)
    np.testing.assert_allclose(plane, [0, 0, 1, -0.3], atol=1e-9)


def test_footprint_owner_claims_pixels_inside_an_objects_outline() -> None:
    from grasp_perception.segmentation import _footprint_owner

    h, w = 40, 60
    v, u = np.mgrid[0:h, 0:w]
    ring = (np.hypot(u - 20, v - 20) > 8) & (np.hypot(u - 20, v - 20) < 10)  # a bowl's rim
    pix = (v * w + u)[ring]
    labels = np.zeros(len(pix), np.int64)
    queries = np.array([20 * w + 20, 20 * w + 50, 0])  # centre of the ring, far right, corner
    np.testing.assert_array_equal(_footprint_owner(pix, labels, (h, w), 1, queries), [0, -1, -1])
    np.testing.assert_array_equal(_footprint_owner(pix, labels, (h, w), 2, queries), [0, -1, -1])


def test_merge_nested_joins_parts_inside_an_outline_only() -> None:
    from grasp_perception.segmentation import _merge_nested

    h, w = 40, 80
    v, u = np.mgrid[0:h, 0:w]
    r = np.hypot(u - 20, v - 20)
    shoulder = (r > 6) & (r < 10)  # a bottle's shoulder ring, seen from above
    cap = r < 3  # its cap, higher up: a separate DBSCAN cluster
    other = np.hypot(u - 60, v - 20) < 5  # a separate object
    pix = np.concatenate([(v * w + u)[m] for m in (cap, shoulder, other)])
    labels = np.concatenate([np.full(m.sum(), k) for k, m in enumerate((cap, shoulder, other))])
    np.testing.assert_array_equal(_merge_nested(pix, labels, (h, w), 1, 3), [1, 1, 2])
    np.testing.assert_array_equal(_merge_nested(pix, labels, (h, w), 2, 3), [1, 1, 2])


def test_voxel_downsample_matches_a_reference(rng) -> None:
    from grasp_perception.cloud import voxel_downsample, voxel_downsample_o3d

    pts = rng.uniform(-0.1, 0.1, (5000, 3)).astype(np.float32)
    cent, inv = voxel_downsample(pts, 0.02)
    keys = np.floor((pts - pts.min(axis=0)) / np.float32(0.02)).astype(np.int64)
    _, ref_inv = np.unique(keys, axis=0, return_inverse=True)
    # same partition of the points into voxels, centroids are the member means
    assert len(cent) == ref_inv.max() + 1
    pairs = set(zip(inv.tolist(), ref_inv.ravel().tolist(), strict=True))
    assert len(pairs) == len(cent)
    for k in (0, len(cent) // 2, len(cent) - 1):
        np.testing.assert_allclose(cent[k], pts[inv == k].mean(axis=0), atol=1e-6)
    # open3d anchors its grid differently; it occupies a similar number of voxels
    assert 0.5 * len(cent) < len(voxel_downsample_o3d(pts, 0.02)) < 2 * len(cent)
