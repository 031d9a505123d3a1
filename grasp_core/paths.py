"""Where the package's installed data (config/, launch/, shipped weights) lives.

From a source checkout (``pip install -e .``) that is the repository root; after
``colcon build`` it is ``share/grasp_bringup`` found through the ament index.
"""

from __future__ import annotations

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
