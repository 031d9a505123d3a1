"""Files that must survive a crash: written to a temporary name beside the target, synced,
then renamed over it, so a reader sees the old file or the new one, never half of one. And
the one reader of the YAML files users write (cells, robots, grippers, parameters, graphs),
whose errors name the file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import yaml

from grasp_core.errors import ValidationError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename it over
    ``path`` (parents created). The file gets the usual mode (0666 minus the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented, key-sorted JSON atomically (numpy scalars as floats)."""
    text = json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"
    return atomic_write_bytes(path, text.encode())


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_yaml_mapping(
    path: str | Path, what: str, error: type[Exception] = ValidationError
) -> dict[str, Any]:
    """The mapping at the top of the YAML file ``path`` (an empty file: an empty one). A
    missing or unreadable file, invalid YAML or another top level raises ``error`` naming
    the file and ``what`` it should hold (``"work cell layout"``)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read {what}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(
            f"{path}: {what}: expected a mapping at the top level, got {type(data).__name__}"
        )
    return data


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (names the exact weights or data a result came from)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
