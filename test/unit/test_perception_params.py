"""PerceptionParams: validated, frozen, loaded from the node's YAML."""

from __future__ import annotations

import dataclasses

import pytest

from grasp_core.paths import config_path
from grasp_perception.errors import ParamsError
from grasp_perception.params import PARAM_INFO, PerceptionParams


def test_defaults_valid_and_frozen() -> None:
    p = PerceptionParams()
    assert set(PARAM_INFO) == set(PerceptionParams.names())
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.voxel_size = 0.01  # type: ignore[misc]
    assert p.crop_min.tolist() == [p.crop_x_min, p.crop_y_min, p.crop_z_min]


def test_from_dict_shorthands_and_errors() -> None:
    p = PerceptionParams.from_dict({"crop_min": [0, -1, -0.1], "voxel_size": 0.01})
    assert p.crop_y_min == -1 and p.voxel_size == 0.01
    with pytest.raises(ParamsError, match="unknown parameter.*'voxelsize'.*valid"):
        PerceptionParams.from_dict({"voxelsize": 0.01})
    assert PerceptionParams.from_dict({"voxelsize": 0.01}, strict=False) == PerceptionParams()
    with pytest.raises(ParamsError, match="voxel_size.*outside the valid range"):
        PerceptionParams(voxel_size=1.0)
    with pytest.raises(ParamsError, match="crop_x_min .* must be < max"):
        PerceptionParams(crop_x_min=1.0, crop_x_max=0.5)
    with pytest.raises(ParamsError, match="integer"):
        PerceptionParams(pixel_stride=1.5)


def test_node_yaml_is_loadable_and_complete(tmp_path) -> None:
    path = config_path("perception.yaml")
    p = PerceptionParams.from_yaml(path, strict=False)
    import yaml

    block = yaml.safe_load(path.read_text())["perception"]["ros__parameters"]
    # every library parameter is set in the node's YAML, with the same value
    for name in PerceptionParams.names():
        assert name in block, name
        assert getattr(p, name) == pytest.approx(block[name])
    flat = tmp_path / "flat.yaml"
    flat.write_text("voxel_size: 0.004\n")
    assert PerceptionParams.from_yaml(flat).voxel_size == 0.004
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n")
    with pytest.raises(ParamsError, match="mapping"):
        PerceptionParams.from_yaml(bad)
