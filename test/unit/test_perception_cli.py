"""``grasp perception-record`` / ``perception-segment`` on the simulator and a recording."""

from __future__ import annotations

import json

from grasp_bringup.cli import main


def test_record_sim_then_segment_recording(tmp_path, capsys) -> None:
    out = tmp_path / "sim.mcap"
    assert main(["perception-record", "--frames", "2", "--objects", "2", "--out", str(out)]) == 0
    assert out.exists()
    capsys.readouterr()
    assert main(["perception-segment", "--source", str(out), "--frames", "5"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2  # the recording has two frames
    for rec in lines:
        assert abs(rec["table_height"]) < 0.005 and rec["warnings"] == []
        assert len(rec["objects"]) == 2
