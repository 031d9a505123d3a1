"""ruff (lint + import order + format) and codespell are clean: `make lint` in the suite."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "cmd",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["codespell", "grasp_core", "grasp_perception", "grasp_models", "grasp_planning",
         "grasp_sim", "grasp_bringup", "test", "benchmarks", "docs", "README.md"],
    ],
    ids=["ruff-check", "ruff-format", "codespell"],
)  # fmt: skip
def test_tree_is_clean(cmd):
    exe = BIN / cmd[0] if (BIN / cmd[0]).exists() else shutil.which(cmd[0])
    assert exe, f"{cmd[0]} is not installed (requirements-dev.txt)"
    proc = subprocess.run([str(exe), *cmd[1:]], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
