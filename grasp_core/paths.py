"""Where the package's installed data (config/, launch/, shipped weights) lives.

From a source checkout (``pip install -e .``) that is the repository root; after
``colcon build`` it is ``share/grasp_bringup`` found through the ament index.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

from grasp_core.errors import GraspBringupError

PACKAGE = "grasp_bringup"


@lru_cache(maxsize=1)
def share_dir() -> Path:
    """Root holding ``config/`` and ``launch/`` for this install."""
    source_root = Path(__file__).resolve().parents[1]
    if (source_root / "config").is_dir() and (source_root / "package.xml").is_file():
        return source_root
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(PACKAGE))
    except (ImportError, LookupError) as exc:
        raise GraspBringupError(
            f"cannot find the {PACKAGE} share directory: not a source checkout "
            f"({source_root}) and the ament index has no {PACKAGE} ({exc})"
        ) from exc


def config_path(*parts: str) -> Path:
    """Path of a file under ``config/``; raises naming the path if it does not exist."""
    path = share_dir().joinpath("config", *parts)
    if not path.exists():
        raise GraspBringupError(f"config file not found: {path}")
    return path


ROBOT_DATA = "example-robot-data"


def example_robot_data_dir() -> Path:
    """The ``robots/`` folder of example-robot-data (robot URDFs, SRDFs and meshes).

    Looked for in this order: ``$EXAMPLE_ROBOT_DATA_DIR`` (a ``robots/`` folder); the pip
    wheel's cmeel prefix on ``sys.path``; the ROS package of that name in the ament index
    (what ``rosdep install`` gives a colcon workspace); ``/opt/openrobots``. Raises naming
    the places it looked.
    """
    env = os.environ.get("EXAMPLE_ROBOT_DATA_DIR")
    candidates = [Path(env)] if env else []
    for entry in sys.path:
        candidates.append(Path(entry or ".") / "cmeel.prefix" / "share" / ROBOT_DATA / "robots")
    for c in candidates:
        if c.is_dir():
            return c
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory(ROBOT_DATA)) / "robots")
    except (ImportError, LookupError, OSError, ValueError):
        pass  # no ament index here (no ROS environment), or no such package in it
    candidates.append(Path("/opt/openrobots/share") / ROBOT_DATA / "robots")
    for c in candidates[-2:]:
        if c.is_dir():
            return c
    raise GraspBringupError(
        f"{ROBOT_DATA} not found: pip install {ROBOT_DATA}, rosdep install it into the "
        f"workspace, or set EXAMPLE_ROBOT_DATA_DIR to its robots/ folder; looked in "
        + ", ".join(str(c) for c in ([*candidates[:1], *candidates[-2:]]))
    )
