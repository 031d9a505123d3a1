"""Checkpoints and shipped weights: a ``state_dict`` file plus a JSON model card.

Both are written to a temporary name and renamed, so a crash never leaves a truncated
file. Loading always maps to the CPU first, then the caller moves the model.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from grasp_models.errors import CheckpointError


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Call ``write(file_object)`` on a temp file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=True, default=str).encode()
    atomic_write_bytes(Path(path), lambda fh: fh.write(text))


def card_path(weights: Path) -> Path:
    """The model card beside a weights file: ``foo.pt`` -> ``foo.json``."""
    return Path(weights).with_suffix(".json")


def save_checkpoint(path: Path, state: dict[str, Any], card: dict | None = None) -> None:
    """Save ``state`` (state_dicts, optimiser state, epoch ...) and optionally its card."""
    atomic_write_bytes(Path(path), lambda fh: torch.save(state, fh))
    if card is not None:
        save_json(card_path(path), card)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint on the CPU (``weights_only``: no pickled modules)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt files
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc


def load_card(weights: Path) -> dict:
    """The JSON model card of a weights file."""
    path = card_path(Path(weights))
    if not path.is_file():
        raise CheckpointError(f"model card not found beside the weights: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"model card {path} is not valid JSON: {exc}") from exc
