"""Launch arguments of a graph file: an ``auto`` argument with ``true_when`` resolves from
the others; a malformed condition is an error naming the file and the argument."""

from __future__ import annotations

import pytest
import yaml

from grasp_bringup.graph import GraphError, load_graph


def _graph(tmp_path, true_when) -> str:
    data = {
        "robot": "panda",
        "arguments": {
            "camera": {"default": "sim", "choices": ["sim", "realsense"]},
            "use_sim_time": {
                "default": "auto",
                "choices": ["auto", "true", "false"],
                "true_when": true_when,
            },
        },
        "nodes": [],
    }
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_auto_is_true_only_when_every_condition_matches(tmp_path) -> None:
    path = _graph(tmp_path, {"camera": "sim"})
    assert load_graph(path).arguments["use_sim_time"] == "true"
    assert load_graph(path).use_sim_time
    assert load_graph(path, {"camera": "realsense"}).arguments["use_sim_time"] == "false"
    given = load_graph(path, {"camera": "realsense", "use_sim_time": "true"})
    assert given.use_sim_time  # a value given explicitly is kept


def test_a_condition_that_is_not_a_mapping_names_the_file_and_argument(tmp_path) -> None:
    with pytest.raises(GraphError, match=r"g\.yaml: argument 'use_sim_time' true_when"):
        load_graph(_graph(tmp_path, ["camera", "sim"]))
