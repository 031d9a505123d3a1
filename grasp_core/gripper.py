"""Per-gripper facts, loaded from ``config/grippers/<name>.yaml``; adding a gripper is adding a file."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from pathlib import Path

from grasp_core.errors import ValidationError
from grasp_core.files import read_yaml_mapping
from grasp_core.paths import config_path, share_dir
from grasp_core.validation import require_range


@dataclass(frozen=True)
class GripperSpec:
    """Geometry and limits of a parallel-jaw gripper, all in metres / newtons.

    The TCP sits between the fingertips; ``finger_length`` is how far the fingers reach
    from the palm to the TCP along +Z (how deep an object can enter); ``finger_width``
    is the pad size across the closing direction; ``flange_to_tcp`` the distance from the
    arm flange to the TCP along +Z.
    """

    name: str
    max_width: float
    finger_length: float
    finger_width: float
    finger_thickness: float
    palm_depth: float
    flange_to_tcp: float
    max_force: float

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name != "name":
                require_range(f"{self.name}.{f.name}", getattr(self, f.name), 0.0, None, False)


def load_gripper(name_or_path: str | Path) -> GripperSpec:
    """Load a gripper by name (``panda_hand``) or from a YAML path (read once per name
    and process: the spec is immutable, and message codecs ask for it per message)."""
    return _load_gripper(str(name_or_path))


@functools.lru_cache(maxsize=32)
def _load_gripper(name_or_path: str) -> GripperSpec:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        available = sorted(p.stem for p in (share_dir() / "config" / "grippers").glob("*.yaml"))
        if f"{name_or_path}" not in available:
            raise ValidationError(
                f"gripper {name_or_path!r} is unknown; available: {', '.join(available)}"
            )
        path = config_path("grippers", f"{name_or_path}.yaml")
    data = read_yaml_mapping(path, "gripper")
    names = {f.name for f in fields(GripperSpec)}
    unknown = set(data) - names
    missing = names - set(data)
    if unknown or missing:
        raise ValidationError(
            f"{path}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}"
        )
    return GripperSpec(**data)
