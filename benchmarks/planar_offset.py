"""How far planar grasps and labels sit from the object's centre, in metres on the table.

For each labelled image of a Cornell-format synthetic set (one object per image): the
object's footprint is the connected region of depth more than 6 mm above the table
(median depth) that holds the most positive label centres (the arm and the bin are also
above the table); its centroid is compared with (a) the centres of the positive labels and (b) the top-1 grasp
of each given model on the blind crop. Distances are converted with the camera's focal
length at the table depth (``camera.json``). Each top-1 grasp is also scored with the
rectangle metric and sorted by where its centre lies: on the footprint (grown by 3 px),
within ``--border`` px of the crop's edge, or elsewhere (bare table, another surface), so
a model's blind misses can be told apart: on the object, or a peak off it.

    .venv/bin/python benchmarks/planar_offset.py --data runs/planar/synth_test_v3 \\
        --weights ggcnn=grasp_models/weights/ggcnn.pt --out benchmarks/results/planar_offset.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from common import write_result
from scipy import ndimage

from grasp_models.datasets import CornellDataset
from grasp_models.datasets.torch_dataset import crop_center_for
from grasp_models.metrics import RectangleMetric
from grasp_models.planar import processing as P
from grasp_models.planar.inference import load_ggcnn, load_vqvae_ggcnn

LOADERS = {"ggcnn": load_ggcnn, "vqvae_ggcnn": load_vqvae_ggcnn}


def stats(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median_m": statistics.median(values) if values else None,
        "mean_m": statistics.fmean(values) if values else None,
    }


SITES = ("object", "border", "elsewhere")


def at(image: np.ndarray, col: int, row: int):
    """``image[row, col]`` with the pixel clamped into the image."""
    h, w = image.shape
    return image[min(max(row, 0), h - 1), min(max(col, 0), w - 1)]


def top1_site(out, footprint: np.ndarray, size: int, border: int) -> str:
    """Where the top-1 rectangle's centre lies: on the (grown) footprint, within
    ``border`` px of the crop's edge, or elsewhere."""
    u, v = out.rects[0].center
    if at(footprint, int(round(u)), int(round(v))):
        return "object"
    cu, cv = out.M @ np.array([u, v, 1.0])  # crop pixels
    return "border" if min(cu, cv, size - 1 - cu, size - 1 - cv) < border else "elsewhere"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True, help="Cornell-format folders")
    ap.add_argument("--weights", nargs="*", default=[], help="NAME=PATH (ggcnn, vqvae_ggcnn)")
    ap.add_argument("--border", type=int, default=12, help="crop-edge band [px] (node's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    metric = RectangleMetric()
    models = {}
    for item in args.weights:
        name, path = item.split("=", 1)
        arch = json.loads(Path(path).with_suffix(".json").read_text())["arch"]
        models[name] = LOADERS[arch](Path(path))
    result = {"data": {}}
    for root in args.data:
        fx = json.loads((Path(root) / "camera.json").read_text())["K"][0][0]
        source = CornellDataset(root)
        labels, preds = [], {n: [] for n in models}
        sites = {
            n: {"hit": dict.fromkeys(SITES, 0), "miss": dict.fromkeys(SITES, 0)} for n in models
        }
        for i, flag in enumerate(source.labelled_flags()):
            if not flag:
                continue
            s = source[i]
            table = P.table_depth(s.depth)
            regions, _ = ndimage.label((s.depth > 0) & (s.depth < table - 0.006))
            hits = [at(regions, int(r.center[0]), int(r.center[1])) for r in s.positives]
            hits = [k for k in hits if k > 0]
            if not hits:
                continue
            footprint = regions == max(set(hits), key=hits.count)
            grown = ndimage.binary_dilation(footprint, iterations=3)
            v, u = np.nonzero(footprint)
            c = np.array([u.mean(), v.mean()])
            m_per_px = table / fx
            labels += [float(np.hypot(*(np.array(r.center) - c)) * m_per_px) for r in s.positives]
            for name, model in models.items():
                out = model.run(s.depth, None, crop_center_for(s, "image"), max_grasps=1)
                if out.rects:
                    d = np.hypot(*(np.array(out.rects[0].center) - c)) * m_per_px
                    preds[name].append(float(d))
                    hit = "hit" if metric.success_at_k(out.rects, s.positives, 1) else "miss"
                    site = top1_site(out, grown, model.cfg.size, args.border)
                    sites[name][hit][site] += 1
        result["data"][root] = {
            "label_centre_to_centroid": stats(labels),
            "top1_centre_to_centroid": {n: stats(v) for n, v in preds.items()},
            "top1_sites": sites,
        }
        print(root, json.dumps(result["data"][root]), flush=True)
    result["weights"] = args.weights
    write_result("planar_offset", result, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
