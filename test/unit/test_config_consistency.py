"""The node configs take the overhead camera's mount from config/sim/panda_table.yaml,
which the simulator renders from, and restate its base frame."""

import numpy as np
import pytest
import yaml

from grasp_core.cell import camera_mount, load_layout
from grasp_core.paths import config_path


@pytest.mark.parametrize("node", ["perception", "grasp_detector"])
def test_camera_mount_is_the_cell_layouts(node):
    params = yaml.safe_load(config_path(f"{node}.yaml").read_text())[node]["ros__parameters"]
    # one source: the cell file, not a second copy of its numbers
    assert "camera_position" not in params and "camera_orientation" not in params
    # nor of the crop box and workspace centre built around its workspace
    assert not {"crop_x_min", "crop_z_max", "workspace_center"} & set(params)
    T, _ = camera_mount(
        params["cell_layout"], params["cell_camera"], None, None, params["base_frame"], node
    )
    T_layout = load_layout().cameras["overhead"].camera_model().T_base_camera
    np.testing.assert_allclose(T, T_layout, atol=1e-12)
    assert params["base_frame"] == "panda_link0"
