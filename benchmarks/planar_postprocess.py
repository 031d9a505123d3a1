"""Post-processing blur of the planar models, chosen per model on validation data.

The quality and angle maps are blurred before the peaks are read (``ProcessingConfig``'s
``q_sigma`` and ``angle_sigma``, GG-CNN's 2 px by default; a model card's ``processing``
carries them). This script runs each network once per image on blind (image-centred)
crops, then re-reads its maps under every setting of a grid: blind top-1 on the
validation folders, the test folders (pooled, and each alone) and any extra test folders
(alone), and, at the card's own setting, why each top-1
miss missed (an angle error on a positive it overlaps, too little overlap, or none).
Per architecture it picks the setting with the most validation hits summed over its runs
(ties: the card's setting, then the smallest change), and, where runs of ``ggcnn`` and
another architecture share a seed (``--weights ggcnn_s0=... vqvae_ggcnn_s0=...``), reports
the paired lead over GG-CNN at the cards' settings and at the chosen ones.

    .venv/bin/python benchmarks/planar_postprocess.py --val-data runs/planar/synth_val_v4 \\
        --test-data runs/planar/synth_test_v4_neg120 runs/planar/synth_test_v4b_neg120 \\
        --weights ggcnn_s0=runs/planar/label_fraction_curve_v4/ggcnn_f0.10_s0.pt ... \\
        --out benchmarks/results/planar_postprocess_f010.json
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import torch
from common import paired_points, write_result
from tqdm import tqdm

from grasp_models.datasets import CornellDataset
from grasp_models.datasets.torch_dataset import crop_center_for
from grasp_models.metrics import RectangleMetric, rect_iou
from grasp_models.planar import processing as P
from grasp_models.planar.inference import load_ggcnn, load_vqvae_ggcnn

LOADERS = {"ggcnn": load_ggcnn, "vqvae_ggcnn": load_vqvae_ggcnn}
MISSES = ("angle", "overlap", "apart", "none")


def network_maps(model, roots: list[str]) -> list[tuple[np.ndarray, np.ndarray, list]]:
    """``(raw maps, crop affine, positives)`` of every labelled image of ``roots``."""
    out = []
    for root in roots:
        source = CornellDataset(root)
        for i, flag in enumerate(source.labelled_flags()):
            if not flag:
                continue
            s = source[i]
            M = P.crop_transform(crop_center_for(s, "image"), model.cfg.size)
            x = P.prepare_input(s.depth, M, model.cfg, None)
            out.append((model.forward_maps(x).astype(np.float32), M, s.positives))
    return out


def top1_outcome(maps, M, positives, cfg, metric: RectangleMetric) -> str:
    """ "hit", or why the top-1 rectangle missed (:data:`MISSES`)."""
    rects = P.detect_rects(maps, cfg, n=1)
    if not rects:
        return "none"
    pred = P.transform_rect(rects[0], P.invert_affine(M))
    if metric.match_any(pred, positives):
        return "hit"
    iou = [rect_iou(pred, g) for g in positives]
    if max(iou, default=0.0) > metric.iou_threshold:
        return "angle"  # overlaps a positive enough, at the wrong angle
    return "overlap" if max(iou, default=0.0) > 0 else "apart"


def choose(val_hits: dict[str, int], default: str, settings: dict[str, dict]) -> str:
    """Most validation hits; ties go to ``default``, then to the smallest change."""
    best = max(val_hits.values())
    tied = [k for k, v in val_hits.items() if v == best]
    if default in tied:
        return default
    base = settings[default]
    return min(tied, key=lambda k: sum(abs(settings[k][f] - base[f]) for f in base))


def paired_leads(runs: dict, chosen: dict, part: str) -> dict:
    """Top-1 on ``part`` minus GG-CNN's of the same seed [points], at the cards' blur and at
    the chosen ones, and the change."""
    base = {n.split("_s")[-1]: r for n, r in runs.items() if r["arch"] == "ggcnn"}
    lead: dict = {}
    for name, r in runs.items():
        seed = name.split("_s")[-1]
        if r["arch"] == "ggcnn" or seed not in base:
            continue
        g = base[seed]
        for which in ("card", "chosen"):
            k_r, k_g = chosen[r["arch"]][which], chosen["ggcnn"][which]
            acc_r = r[part][k_r] / r["images"][part]
            lead.setdefault(r["arch"], {}).setdefault(which, {})[seed] = 100 * (
                acc_r - g[part][k_g] / g["images"][part]
            )
    return {
        arch: {
            **{which: paired_points(per) for which, per in by.items()},
            "change": paired_points({s: by["chosen"][s] - by["card"][s] for s in by["card"]}),
        }
        for arch, by in lead.items()
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--val-data", nargs="+", required=True, help="Cornell-format folders")
    ap.add_argument("--test-data", nargs="+", required=True, help="folders, read pooled")
    ap.add_argument("--extra-test-data", nargs="*", default=[], help="folders, read alone")
    ap.add_argument("--weights", nargs="+", required=True, help="ARCH_sSEED=PATH")
    ap.add_argument("--q-sigma", nargs="+", type=float, default=[1.0, 2.0, 3.0, 4.0])
    ap.add_argument("--angle-sigma", nargs="+", type=float, default=[1.0, 2.0, 4.0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    metric = RectangleMetric()
    grid = list(itertools.product(args.q_sigma, args.angle_sigma))
    settings = {f"q{q:g}_a{a:g}": {"q_sigma": q, "angle_sigma": a} for q, a in grid}
    runs: dict = {}
    defaults: dict[str, str] = {}
    for item in tqdm(args.weights, desc="runs"):
        name, path = item.split("=", 1)
        arch = json.loads(Path(path).with_suffix(".json").read_text())["arch"]
        if arch not in LOADERS:
            raise SystemExit(f"{path}: arch {arch!r}, expected one of {sorted(LOADERS)}")
        model = LOADERS[arch](Path(path))
        card = {f: getattr(model.cfg, f) for f in ("q_sigma", "angle_sigma")}
        default = f"q{card['q_sigma']:g}_a{card['angle_sigma']:g}"
        if default not in settings:
            raise SystemExit(f"{path}: its card's blur {card} is not on the grid")
        defaults.setdefault(arch, default)
        split = {"val": network_maps(model, args.val_data)}
        tests = [*args.test_data, *args.extra_test_data]
        split.update({root: network_maps(model, [root]) for root in tests})
        entry: dict = {
            "arch": arch,
            "weights": path,
            "images": {k: len(v) for k, v in split.items()},
        }
        for key, blur in settings.items():
            cfg = dataclasses.replace(model.cfg, **blur)
            for part, items in split.items():
                outcomes = [top1_outcome(m, M, g, cfg, metric) for m, M, g in items]
                entry.setdefault(part, {})[key] = outcomes.count("hit")
                if key == default:
                    entry[f"{part}_misses_at_card"] = {r: outcomes.count(r) for r in MISSES}
        for key in settings:  # the test folders pooled
            entry.setdefault("test", {})[key] = sum(entry[root][key] for root in args.test_data)
        entry["images"]["test"] = sum(entry["images"][root] for root in args.test_data)
        runs[name] = entry
    chosen = {}
    for arch, default in defaults.items():
        mine = [r for r in runs.values() if r["arch"] == arch]
        val_hits = {k: sum(r["val"][k] for r in mine) for k in settings}
        chosen[arch] = {"card": default, "chosen": choose(val_hits, default, settings)}
        chosen[arch]["val_hits"] = val_hits
    result = {
        "val_data": args.val_data,
        "test_data": args.test_data,
        "extra_test_data": args.extra_test_data,
        "settings": settings,
        "runs": runs,
        "per_arch": chosen,
    }
    for arch, c in chosen.items():  # mean test top-1 [%] over its runs
        mine = [r for r in runs.values() if r["arch"] == arch]
        for which in ("card", "chosen"):
            acc = [100 * r["test"][c[which]] / r["images"]["test"] for r in mine]
            c[f"test_top1_{which}_mean"] = float(np.mean(acc))
    result["lead_over_ggcnn"] = {
        part: paired_leads(runs, chosen, part)
        for part in ("test", *args.test_data, *args.extra_test_data)
    }
    print(json.dumps(result["lead_over_ggcnn"]["test"], indent=1), flush=True)
    write_result("planar_postprocess", result, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
