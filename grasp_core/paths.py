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
    looked = []
    for candidate in _robot_data_candidates():
        if candidate.is_dir():
            return candidate
        looked.append(candidate)
    raise GraspBringupError(
        f"{ROBOT_DATA} not found: pip install {ROBOT_DATA}, rosdep install it into the "
        "workspace, or set EXAMPLE_ROBOT_DATA_DIR to its robots/ folder; looked in "
        + ", ".join(str(c) for c in [*looked[:1], *looked[-2:]])
    )


def _robot_data_candidates():
    """Where example-robot-data's ``robots/`` may be, in :func:`example_robot_data_dir`'s
    order (the ament index is only asked when the earlier places lack it)."""
    if os.environ.get("EXAMPLE_ROBOT_DATA_DIR"):
        yield Path(os.environ["EXAMPLE_ROBOT_DATA_DIR"])
    for entry in sys.path:
        yield Path(entry or ".") / "cmeel.prefix" / "share" / ROBOT_DATA / "robots"
    try:
        from ament_index_python.packages import get_package_share_directory

        yield Path(get_package_share_directory(ROBOT_DATA)) / "robots"
    except (ImportError, LookupError, OSError, ValueError):
        pass  # no ament index here (no ROS environment), or no such package in it
    yield Path("/opt/openrobots/share") / ROBOT_DATA / "robots"
