"""Shared helpers of the sim benchmarks: :mod:`common`'s writer, recording MuJoCo too."""

from __future__ import annotations

import os
from pathlib import Path

from common import RESULTS_DIR, machine
from common import write_result as _write_result

__all__ = ["RESULTS_DIR", "machine", "write_result"]


def write_result(name: str, result: dict) -> Path:
    """Write ``results/<name>.json`` atomically, with the MuJoCo version and GL backend."""
    import mujoco

    return _write_result(
        name, result, mujoco=mujoco.__version__, mujoco_gl=os.environ.get("MUJOCO_GL", "")
    )
