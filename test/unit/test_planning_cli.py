"""``grasp plan-robot`` / ``grasp plan-reach`` subcommands."""

from __future__ import annotations

import json

from grasp_bringup.cli import main


def test_plan_reach_reports_reachable_and_unreachable(capsys) -> None:
    assert main(["plan-reach", "0.5", "0.0", "0.05"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["reachable"] and len(out["q_grasp"]) == 7
    assert main(["plan-reach", "1.5", "0.0", "0.05"]) == 1
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert not out["reachable"] and out["reason"]


def test_plan_robot_prints_the_group(capsys) -> None:
    assert main(["plan-robot", "--robot", "baxter", "--group", "right_arm"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["joints"][0] == "right_s0" and out["group"] == "right_arm"
