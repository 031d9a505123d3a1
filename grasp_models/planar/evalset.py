"""A small, shippable evaluation set: blind (image-centred) depth crops in millimetres,
the colour crops when the source has colour images (for RGB-D weights), and their
ground-truth rectangles in crop pixels, in one compressed ``.npz``.

Shipped beside the weights so a test can check that the weights reproduce their model
card's accuracy without the full dataset.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grasp_core import GraspRect, depth_m_to_mm, depth_mm_to_m
from grasp_core.files import atomic_write_bytes
from grasp_models.datasets.sample import PlanarDataset
from grasp_models.datasets.torch_dataset import crop_center_for
from grasp_models.errors import DatasetError
from grasp_models.metrics import RectangleMetric
from grasp_models.planar import processing as P
from grasp_models.planar.inference import PlanarGraspModel


def export_eval_set(
    source: PlanarDataset, indices: Sequence[int], path: Path, size: int = 300
) -> int:
    """Write the blind crops of the labelled ``indices`` (colour crops too when every one
    of those samples has a colour image); returns how many were written."""
    crops, colours, rects = [], [], []
    for idx in indices:
        s = source[idx]
        if not s.labelled:
            continue
        M = P.crop_transform(crop_center_for(s, "image"), size)
        crops.append(depth_m_to_mm(P.warp(s.depth, M, size, nearest=True)))
        colours.append(None if s.rgb is None else P.warp(np.asarray(s.rgb, np.uint8), M, size))
        for r in s.positives:
            rc = P.transform_rect(r, M)
            rects.append([len(crops) - 1, *rc.center, rc.angle, rc.width, rc.length])
    arrays = {"depth_mm": np.stack(crops), "rects": np.asarray(rects, dtype=np.float32)}
    if colours and all(c is not None for c in colours):
        arrays["rgb"] = np.stack(colours)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    return len(crops)


def load_eval_set(
    path: Path,
) -> tuple[np.ndarray, list[list[GraspRect]], np.ndarray | None]:
    """Depth crops [m] (N x S x S), the ground-truth rectangles of each, and the colour
    crops (N x S x S x 3 uint8) or None where the set has none."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"evaluation set not found: {path}")
    with np.load(path) as z:
        depth = depth_mm_to_m(z["depth_mm"])
        rows = z["rects"]
        rgb = z["rgb"] if "rgb" in z.files else None
    gts: list[list[GraspRect]] = [[] for _ in range(len(depth))]
    for i, u, v, a, w, l in rows:
        gts[int(i)].append(GraspRect((float(u), float(v)), float(a), float(w), float(l)))
    return depth, gts, rgb


def evaluate_eval_set(
    model: PlanarGraspModel, path: Path, ks: Sequence[int] = (1, 5), metric=None
) -> dict:
    """Top-k accuracies of ``model`` on a shipped evaluation set."""
    metric = metric or RectangleMetric()
    depth, gts, rgb = load_eval_set(path)
    if model.takes_rgb and rgb is None:
        raise DatasetError(
            f"{path}: the set has depth crops only and {model.name} takes RGB-D input; "
            "export it from colour images (grasp export-planar with the RGB-D weights)"
        )
    colours = rgb if model.takes_rgb else [None] * len(depth)
    hits = {k: 0 for k in ks}
    for d, c, gt in zip(depth, colours, gts, strict=True):
        rects = model.run(d, c, max_grasps=max(ks)).rects
        for k in ks:
            hits[k] += metric.success_at_k(rects, gt, k)
    return {"images": len(depth), **{f"top{k}": hits[k] / len(depth) for k in ks}}


def ship_weights(
    weights: Path,
    name: str,
    eval_set: Path,
    dest_dir: Path,
    threads: int = 2,
    data_notes: dict | None = None,
) -> dict:
    """Copy trained weights to ``dest_dir/<name>.pt`` as a plain ``state_dict``, and write
    their card with the accuracy on ``eval_set`` (``shipped_eval``) added, and
    ``data_notes`` (e.g. the commit of the dataset generator) merged into its ``data``."""
    import torch

    from grasp_models.checkpoint import load_card, load_checkpoint, save_checkpoint
    from grasp_models.planar.inference import load_network

    torch.set_num_threads(threads)
    net, card = load_network(weights)
    if card.get("arch") != name:
        raise DatasetError(f"{weights}: card arch {card.get('arch')!r} is not {name!r}")
    model = PlanarGraspModel(net, card, name=name)
    card = dict(load_card(weights))
    card["shipped_eval"] = {"file": Path(eval_set).name, **evaluate_eval_set(model, eval_set)}
    card["trained_weights"] = str(weights)
    if data_notes:
        card["data"] = {**card.get("data", {}), **data_notes}
    state = load_checkpoint(weights)
    dest = Path(dest_dir) / f"{name}.pt"
    save_checkpoint(dest, {k: v.contiguous() for k, v in state.items()}, card)
    return card
