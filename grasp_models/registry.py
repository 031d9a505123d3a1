"""Model registry: one name per model, resolved lazily so importing is cheap.

Adding a model is adding an entry here that names a factory
``factory(weights: str | Path | None, device: str) -> GraspModel``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from grasp_core.errors import ValidationError
from grasp_models.base import GraspModel
from grasp_models.errors import UnknownModelError

#: name -> "module:factory". Each module implements its model and a ``load`` factory.
MODELS: dict[str, str] = {
    "ggcnn": "grasp_models.planar.inference:load_ggcnn",
    "ggcnn2": "grasp_models.planar.inference:load_ggcnn2",
    "vqvae_ggcnn": "grasp_models.planar.inference:load_vqvae_ggcnn",
    "graspnet6dof": "grasp_models.graspnet6dof.inference:load_graspnet6dof",
}

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def shipped_weights(name: str) -> Path:
    """The shipped weights file of model ``name``, its card beside it (``.json``); the
    6-DOF model's is its sampler's, the evaluator beside it. Imports no torch."""
    if name not in MODELS:
        raise UnknownModelError(
            f"unknown grasp model {name!r}; available: {', '.join(available())}"
        )
    if name == "graspnet6dof":
        from grasp_models.graspnet6dof import SAMPLER_FILE

        return WEIGHTS_DIR / SAMPLER_FILE
    return WEIGHTS_DIR / f"{name}.pt"


def available() -> list[str]:
    """Names of the registered models."""
    return sorted(MODELS)


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is present, else ``"cpu"``; any other name must
    be a torch device this machine has (a :class:`ValidationError` says which it is not)."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as exc:
        raise ValidationError(
            f"device: {device!r} is not a torch device (cpu, cuda, cuda:1, auto)"
        ) from exc
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValidationError(f"device: {device!r}, but torch sees no CUDA GPU here (use cpu)")
    return device


def load_model(name: str, weights: str | Path | None = None, device: str = "auto") -> GraspModel:
    """Instantiate model ``name`` with ``weights`` (default: the shipped ones) on ``device``."""
    if name not in MODELS:
        raise UnknownModelError(
            f"unknown grasp model {name!r}; available: {', '.join(available())}"
        )
    module_name, factory_name = MODELS[name].split(":")
    factory: Callable[..., GraspModel] = getattr(importlib.import_module(module_name), factory_name)
    return factory(weights=weights, device=resolve_device(device))
