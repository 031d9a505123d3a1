"""End to end through real ROS 2 topics: sim driver → perception → grasp detector →
executor, all nodes of the panda_grasp graph in one process, one held-out object on the
table; at least one object must end up in the bin."""

from __future__ import annotations

import pytest

from grasp_bringup.demo import EpisodeOptions, run_episode

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_short_episode_puts_an_object_in_the_bin(ros_domain, tmp_path):
    opts = EpisodeOptions(
        model="ggcnn",
        objects=1,
        object_set="test",
        seed=2,
        max_attempts=3,
        real_time_factor=1.0,
        out_dir=tmp_path,
        object_kinds="box,cylinder",
    )
    metrics = run_episode(opts, log=print)
    summary = metrics["summary"]
    assert summary["objects"] == 1
    assert summary["placed"] >= 1, metrics["attempts"]
    placed = [a for a in metrics["attempts"] if a["outcome"] == "placed"]
    assert placed[0]["object"], "the placed object is named from ground truth"
    assert 0.0 < placed[0]["grasp_quality"] <= 1.0
    assert placed[0]["place"] in ("standing", "lying")  # the executor's status, over ROS
    assert (tmp_path / "report.md").is_file() and (tmp_path / "metrics.json").is_file()
