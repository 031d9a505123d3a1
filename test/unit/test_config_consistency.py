"""The node configs that restate a fact of the cell (the overhead camera's mount, the base
frame) agree with config/sim/panda_table.yaml, which the simulator renders from."""

import numpy as np
import pytest
import yaml

from grasp_core.cell import load_layout
from grasp_core.paths import config_path
from grasp_core.se3 import pose_from_pq


@pytest.mark.parametrize("node", ["perception", "grasp_detector"])
def test_camera_mount_matches_the_cell_layout(node):
    params = yaml.safe_load(config_path(f"{node}.yaml").read_text())[node]["ros__parameters"]
    T = pose_from_pq(np.array(params["camera_position"]), np.array(params["camera_orientation"]))
    T_layout = load_layout().cameras["overhead"].camera_model().T_base_camera
    np.testing.assert_allclose(T, T_layout, atol=1e-5)
    assert params["base_frame"] == "panda_link0"
