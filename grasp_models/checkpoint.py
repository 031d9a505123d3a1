"""Checkpoints and shipped weights: a ``state_dict`` file plus a JSON model card.

Both are written to a temporary name and renamed, so a crash never leaves a truncated
file. Loading always maps to the CPU first, then the caller moves the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from grasp_core.files import atomic_write, atomic_write_json
from grasp_models.errors import CheckpointError


def save_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON, atomically."""
    atomic_write_json(path, data)


def card_path(weights: Path) -> Path:
    """The model card beside a weights file: ``foo.pt`` -> ``foo.json``."""
    return Path(weights).with_suffix(".json")


def save_checkpoint(path: Path, state: dict[str, Any], card: dict | None = None) -> None:
    """Save ``state`` (state_dicts, optimiser state, epoch ...) and optionally its card."""
    atomic_write(Path(path), lambda fh: torch.save(state, fh))
    if card is not None:
        save_json(card_path(path), card)


def rng_state() -> dict[str, Any]:
    """torch's global random streams (CPU, and the CUDA generators once CUDA is in use), for
    a checkpoint from which a resumed run draws what a run never stopped would have drawn."""
    state: dict[str, Any] = {"torch_rng": torch.get_rng_state()}
    if torch.cuda.is_initialized():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back :func:`rng_state` from a checkpoint; keys it lacks (older checkpoints) are
    skipped, and so are CUDA generators saved on a machine with another GPU count."""
    if "torch_rng" in state:
        torch.set_rng_state(state["torch_rng"])
    cuda = state.get("cuda_rng")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


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
