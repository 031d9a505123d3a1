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
    # every library parameter but the crop box is set in the node's YAML, with the same
    # value; the crop box is the one around the cell's workspace (the sim cell's here),
    # which the dataclass defaults restate for library callers
    from grasp_core.cell import CROP_KEYS, load_layout

    for name in PerceptionParams.names():
        if name in CROP_KEYS:
            assert name not in block, name
            continue
        assert name in block, name
        assert getattr(p, name) == pytest.approx(block[name])
    lo, hi = load_layout(block["cell_layout"] or None).crop_box()
    assert p.crop_min.tolist() == lo.tolist() and p.crop_max.tolist() == hi.tolist()
    assert p == PerceptionParams(**{k: getattr(p, k) for k in PerceptionParams.names()})
    assert (PerceptionParams().crop_min == lo).all() and (PerceptionParams().crop_max == hi).all()
    flat = tmp_path / "flat.yaml"
    flat.write_text("voxel_size: 0.004\n")
    assert PerceptionParams.from_yaml(flat).voxel_size == 0.004
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n")
    with pytest.raises(ParamsError, match="mapping"):
        PerceptionParams.from_yaml(bad)


def test_from_yaml_takes_the_crop_box_from_the_files_cell_like_the_node(tmp_path) -> None:
    """The CLI and the benchmarks read the node's YAML with from_yaml: its ``cell_layout``
    places the crop box as it does for the node; a crop_* key in the file wins."""
    import yaml

    data = yaml.safe_load(config_path("sim", "panda_table.yaml").read_text())
    data["workspace"] = {"x": [0.40, 0.70], "y": [-0.25, 0.15]}
    cell = tmp_path / "cell.yaml"
    cell.write_text(yaml.safe_dump(data))
    params = tmp_path / "perception.yaml"
    block = {"cell_layout": str(cell), "base_frame": "panda_link0", "crop_z_max": 0.25}
    params.write_text(yaml.safe_dump({"perception": {"ros__parameters": block}}))
    p = PerceptionParams.from_yaml(params)
    assert p.crop_min.tolist() == pytest.approx([0.25, -0.35, -0.05])
    assert p.crop_max.tolist() == pytest.approx([0.85, 0.25, 0.25])
    block["base_frame"] = "base"  # the cell is in panda_link0
    params.write_text(yaml.safe_dump({"perception": {"ros__parameters": block}}))
    with pytest.raises(ParamsError, match=r"perception\.yaml.*cell\.yaml.*'base'"):
        PerceptionParams.from_yaml(params)
