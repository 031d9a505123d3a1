"""Cornell-format loader, splits and the Cornell writer, on fixtures written here."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from grasp_core import GraspRect
from grasp_models.datasets import CornellDataset, parse_cornell_rects, split_indices
from grasp_models.datasets.splits import labelled_subset
from grasp_models.datasets.synthetic import corners_text, write_cornell_image
from grasp_models.errors import DatasetError

# One rectangle, opening along +x (p0 -> p1 is 40 px along u), jaw 20 px along v.
RECT = "100 200\n140 200\n140 220\n100 220\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_rectangle_geometry_and_angle_convention(tmp_path: Path) -> None:
    # Opening edge from (100, 200) to (130, 230): closing axis at +45° (from +u towards +v).
    text = "100 200\n130 230\n120 240\n90 210\n"
    (r,) = parse_cornell_rects(write(tmp_path / "pcd0100cpos.txt", text))
    assert r.center == pytest.approx((110.0, 220.0))
    assert r.angle == pytest.approx(math.pi / 4)
    assert r.width == pytest.approx(math.hypot(30, 30))
    assert r.length == pytest.approx(math.hypot(10, 10))


def test_nan_rectangles_are_skipped(tmp_path: Path) -> None:
    text = RECT + "NaN NaN\n1 2\n3 4\n5 6\n" + RECT
    rects = parse_cornell_rects(write(tmp_path / "pcd0100cpos.txt", text))
    assert len(rects) == 2


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("100 200\n140 200 7\n140 220\n100 220\n", 2),
        ("100 200\n140 abc\n140 220\n100 220\n", 2),
        (RECT + "1 2\n3 4\n", 5),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path / "pcd0100cpos.txt", text)
    with pytest.raises(DatasetError, match=rf"pcd0100cpos\.txt:{line}"):
        parse_cornell_rects(path)


def _write_image(root: Path, num: int, depth: np.ndarray, pos: str, neg: str = "") -> None:
    cv2.imwrite(str(root / f"pcd{num:04d}d.tiff"), depth.astype(np.float32))
    write(root / f"pcd{num:04d}cpos.txt", pos)
    write(root / f"pcd{num:04d}cneg.txt", neg)
    rgb = np.zeros((*depth.shape, 3), np.uint8)
    rgb[..., 0] = 255  # red in RGB
    cv2.imwrite(str(root / f"pcd{num:04d}r.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def test_dataset_reads_depth_rgb_labels_and_object_ids(tmp_path: Path) -> None:
    depth = np.full((48, 64), 0.7, np.float32)
    _write_image(tmp_path, 100, depth, RECT, RECT)
    _write_image(tmp_path, 101, depth * 1000.0, RECT)  # millimetres are converted
    write(tmp_path / "objects.txt", "100 mug\n101 mug\n")
    ds = CornellDataset(tmp_path, load_rgb=True)
    assert len(ds) == 2
    s0, s1 = ds[0], ds[1]
    assert s0.depth.dtype == np.float32 and s0.depth.shape == (48, 64)
    np.testing.assert_allclose(s1.depth, 0.7, atol=1e-6)
    assert len(s0.positives) == 1 and len(s0.negatives) == 1 and s0.negatives[0].quality == 0
    assert s0.rgb is not None and tuple(s0.rgb[0, 0]) == (255, 0, 0)
    assert ds.object_ids() == ["mug", "mug"]
    assert ds.labelled_flags() == [True, True]


def test_labelled_indices_skip_images_without_positives(tmp_path: Path) -> None:
    depth = np.full((48, 64), 0.7, np.float32)
    _write_image(tmp_path, 100, depth, RECT)
    _write_image(tmp_path, 101, depth, "", RECT)  # negatives only: not scorable
    _write_image(tmp_path, 102, depth, RECT + RECT)
    ds = CornellDataset(tmp_path)
    assert ds.positive_counts() == [1, 0, 2]
    assert [len(ds[i].positives) for i in range(3)] == [1, 0, 2]
    assert ds.labelled_flags() == [True, False, True]
    assert ds.labelled_indices() == [0, 2]


def test_depth_from_point_cloud_when_no_tiff(tmp_path: Path) -> None:
    rows = ["# .PCD v.7", "FIELDS x y z rgb index", "DATA ascii"]
    rows += ["0 0 600 0 0", "0 0 700 0 641"]  # mm, pixel (0, 0) and (1, 1)
    write(tmp_path / "pcd0200.txt", "\n".join(rows) + "\n")
    write(tmp_path / "pcd0200cpos.txt", RECT)
    s = CornellDataset(tmp_path)[0]
    assert s.depth.shape == (480, 640)
    assert s.depth[0, 0] == pytest.approx(0.6) and s.depth[1, 1] == pytest.approx(0.7)
    assert s.depth[2, 2] == 0.0


def test_malformed_point_cloud_names_line(tmp_path: Path) -> None:
    write(tmp_path / "pcd0200.txt", "DATA ascii\n1 2 3 0 0\n1 2 x 0 1\n")
    write(tmp_path / "pcd0200cpos.txt", RECT)
    with pytest.raises(DatasetError, match=r"pcd0200\.txt:3"):
        CornellDataset(tmp_path)[0]


def test_the_fast_point_cloud_reader_gives_the_line_readers_depth(tmp_path: Path) -> None:
    """numpy's reader (a few times faster) and the line-by-line one agree; a
    file it cannot take whole goes to the line reader, whose error names the line."""
    from grasp_models.datasets import cornell

    rng = np.random.default_rng(3)
    index = rng.choice(48 * 64, 900, replace=False)
    xyz = rng.uniform(-300.0, 900.0, (900, 3))
    rows = ["# .PCD v.7 - Point Cloud Data file format", "FIELDS x y z rgb index", "DATA ascii"]
    rows += [
        f"{x:.4f} {y:.4f} {z:.4f} 4.2108e+06 {i}" for (x, y, z), i in zip(xyz, index, strict=True)
    ]
    path = write(tmp_path / "pcd0500.txt", "\n".join(rows) + "\n")
    fast = cornell._depth_from_pcd_fast(path, (48, 64))
    assert fast is not None and np.count_nonzero(fast) == 900
    np.testing.assert_array_equal(fast, cornell._depth_from_pcd_lines(path, (48, 64)))
    for bad, line in (("0 0 600 0 3072", 4), ("0 0 600 0 nan", 4), ("0 0 600 0", 4)):
        write(path, "DATA ascii\n0 0 600 0 1\n0 0 600 0 2\n" + bad + "\n")
        assert cornell._depth_from_pcd_fast(path, (48, 64)) is None
        with pytest.raises(DatasetError, match=rf"pcd0500\.txt:{line}"):
            cornell.depth_from_pcd(path, (48, 64))


def test_point_cloud_takes_the_size_of_its_colour_image(tmp_path: Path) -> None:
    """Your own 424x240 capture as pcdNNNN.txt: index = row * 424 + column (read as 640
    wide, its rows wrapped and the depth under a label was another pixel's)."""
    rows = ["FIELDS x y z rgb index", "DATA ascii", "0 0 600 0 425", "0 0 700 0 1000"]
    write(tmp_path / "pcd0300.txt", "\n".join(rows) + "\n")
    cv2.imwrite(str(tmp_path / "pcd0300r.png"), np.zeros((240, 424, 3), np.uint8))
    write(tmp_path / "pcd0300cpos.txt", RECT)
    s = CornellDataset(tmp_path)[0]
    assert s.depth.shape == (240, 424)
    assert s.depth[1, 1] == pytest.approx(0.6) and s.depth[2, 152] == pytest.approx(0.7)


def test_binary_point_clouds_and_bad_object_lines_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "pcd0400.txt").write_bytes(b"FIELDS x y z rgb index\nDATA binary\n\x00\xff\x13")
    write(tmp_path / "pcd0400cpos.txt", RECT)
    with pytest.raises(DatasetError, match=r"pcd0400\.txt:2: only 'DATA ascii'"):
        CornellDataset(tmp_path)[0]
    write(tmp_path / "objects.txt", "400 mug\npcd0401 bowl\n")
    with pytest.raises(DatasetError, match=r"objects\.txt:2: expected an image number"):
        CornellDataset(tmp_path)


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no pcdNNNNcpos"):
        CornellDataset(tmp_path)


def test_writer_round_trips_rectangles(tmp_path: Path) -> None:
    rects = [GraspRect((50.5, 60.25), 0.3, 40.0, 20.0), GraspRect((10, 20), -1.2, 12.0, 8.0)]
    depth = np.random.default_rng(0).uniform(0.5, 0.8, (30, 40)).astype(np.float32)
    write_cornell_image(tmp_path, 7, depth, None, rects, [])
    s = CornellDataset(tmp_path)[0]
    np.testing.assert_array_equal(s.depth, depth)
    for a, b in zip(rects, s.positives, strict=True):
        assert b.center == pytest.approx(a.center, abs=0.01)
        assert b.angle == pytest.approx(a.angle, abs=1e-3)
        assert (b.width, b.length) == pytest.approx((a.width, a.length), abs=0.02)
    assert corners_text([]) == ""


def test_splits_are_seeded_and_object_wise_keeps_objects_together() -> None:
    objects = [f"obj{i // 3}" for i in range(30)]  # 10 objects x 3 images
    tr, te = split_indices(objects, 0.2, "object", seed=3)
    assert split_indices(objects, 0.2, "object", seed=3) == (tr, te)
    assert sorted(tr + te) == list(range(30))
    assert {objects[i] for i in tr}.isdisjoint({objects[i] for i in te})
    assert len({objects[i] for i in te}) == 2
    _, te_i = split_indices(objects, 0.2, "image", seed=3)
    assert len(te_i) == 6 and split_indices(objects, 0.2, "image", seed=4)[1] != te_i
    sub = labelled_subset(tr, 0.1, seed=0)
    assert len(sub) == round(0.1 * len(tr)) and set(sub) <= set(tr)
