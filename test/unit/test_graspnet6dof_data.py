"""ACRONYM-layout HDF5: the reader reads what the writer wrote, and real ACRONYM files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from grasp_models.graspnet6dof.data import (
    ACRONYM_TCP_OFFSET,
    GraspFile,
    read_grasps,
    write_grasps,
)
from grasp_models.graspnet6dof.errors import AcronymFormatError


def test_reader_reads_what_the_writer_wrote(tmp_path, rng) -> None:
    T = np.tile(np.eye(4), (5, 1, 1))
    T[:, :3, 3] = rng.normal(size=(5, 3))
    data = GraspFile(
        object_file="box_003",
        scale=1.0,
        transforms=T,
        success=np.array([1, 0, 1, 0, 0], bool),
        mass=0.2,
        spec={"name": "box_003", "kind": "box"},
        kind=np.array([0, 0, 0, 1, 1]),
        prefilter=np.array([0, 1, 0, 2, 0]),
        view_points=rng.normal(size=(2, 10, 3)).astype(np.float32),
        T_object_camera=np.tile(np.eye(4), (2, 1, 1)),
        meta={"seed": 3},
    )
    path = tmp_path / "box_003.h5"
    write_grasps(path, data)
    back = read_grasps(path)
    assert back.object_file == "box_003" and back.scale == 1.0 and back.mass == 0.2
    np.testing.assert_array_equal(back.transforms, T)
    np.testing.assert_array_equal(back.success, data.success)
    np.testing.assert_array_equal(back.prefilter, data.prefilter)
    np.testing.assert_allclose(back.view_points, data.view_points)
    assert back.spec == data.spec and back.meta == {"seed": 3}
    assert back.positives.shape == (2, 4, 4)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_reads_a_plain_acronym_file_with_flex_qualities(tmp_path) -> None:
    path = tmp_path / "Mug_abc_0.02.h5"
    T = np.tile(np.eye(4), (3, 1, 1))
    with h5py.File(path, "w") as f:
        f["object/file"] = b"meshes/Mug/abc.obj"
        f["object/scale"] = 0.02
        f["grasps/transforms"] = T
        f["grasps/qualities/flex/object_in_gripper"] = np.array([1, 0, 1])
    g = read_grasps(path, grasp_offset=ACRONYM_TCP_OFFSET)
    assert g.source == "flex" and g.object_file == "meshes/Mug/abc.obj"
    np.testing.assert_allclose(g.transforms[:, 2, 3], ACRONYM_TCP_OFFSET)
    assert g.success.tolist() == [True, False, True] and g.view_points is None


def test_missing_dataset_is_named(tmp_path) -> None:
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["object/file"] = "x"
    with pytest.raises(AcronymFormatError, match="object/scale"):
        read_grasps(path)
    with pytest.raises(AcronymFormatError, match="not found"):
        read_grasps(tmp_path / "nope.h5")
