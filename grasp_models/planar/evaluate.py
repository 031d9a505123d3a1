"""Rectangle-metric evaluation of a planar model on a dataset split, through the same
path the node uses (:meth:`PlanarGraspModel.run`)."""

from __future__ import annotations

from collections.abc import Sequence

from tqdm import tqdm

from grasp_models.datasets.sample import PlanarDataset
from grasp_models.datasets.torch_dataset import crop_center_for
from grasp_models.metrics import RectangleMetric
from grasp_models.planar.inference import PlanarGraspModel


def evaluate(
    model: PlanarGraspModel,
    source: PlanarDataset,
    indices: Sequence[int],
    crop: str = "image",
    ks: Sequence[int] = (1, 5),
    metric: RectangleMetric | None = None,
    progress: bool = False,
    per_image: bool = False,
    zoom: float = 1.0,
) -> dict:
    """Top-k accuracies (fractions) over the labelled images among ``indices``; with
    ``per_image`` also ``hit_indices``: k -> the indices of the images that succeed.
    ``zoom`` scales every image in its crop (:meth:`PlanarGraspModel.data_zoom`: data at
    another scale than the model's training data, as the detector zooms camera frames)."""
    metric = metric or RectangleMetric()
    hit_indices: dict[int, list[int]] = {k: [] for k in ks}
    n = 0
    for idx in tqdm(indices, desc=f"eval {model.name} ({crop} crops)", disable=not progress):
        sample = source[idx]
        if not sample.labelled:
            continue
        rgb = sample.rgb if model.takes_rgb else None
        out = model.run(
            sample.depth, rgb, crop_center_for(sample, crop), max_grasps=max(ks), zoom=zoom
        )
        n += 1
        for k in ks:
            if metric.success_at_k(out.rects, sample.positives, k):
                hit_indices[k].append(idx)
    result = {
        "images": n,
        "crop": crop,
        "zoom": zoom,
        "iou_threshold": metric.iou_threshold,
        "angle_threshold_deg": metric.angle_threshold_deg,
        **{f"top{k}": (len(hit_indices[k]) / n if n else float("nan")) for k in ks},
    }
    if per_image:
        result["hit_indices"] = hit_indices
    return result


def pooled_top1(*results: dict, k: int = 1) -> float:
    """Top-k over several :func:`evaluate` results' images together, each image counted
    once (hits rebuilt from the fractions, which are exact counts over ``images``)."""
    results = [r for r in results if r["images"]]  # an empty set's fractions are NaN
    images = sum(r["images"] for r in results)
    hits = sum(round(r[f"top{k}"] * r["images"]) for r in results)
    return hits / images if images else float("nan")
