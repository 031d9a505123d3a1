"""Held-out accuracy of planar grasp weights on several datasets, each and pooled.

Each weights file (``shipped`` for the packaged one) is evaluated with the rectangle
metric on every ``--data`` folder (blind image-centred and ground-truth-centred crops,
top-1 and top-5) and on all of them pooled image by image, and, for the selection rules
of the training plans, on ``--val-data`` (blind crops). Blind top-1 is also given per
object kind over the pooled sets (the kind is the last ``_`` part of the object id in
``objects.txt``, e.g. ``test_0004_bottle``) and per number of positive labels (an image
with one positive, often a single lucky trial on an object near the gripper's stroke, is
harder to hit than one with thirty). The card's own selection (kept epoch, its
validation top-1) and training options are copied beside the numbers.

    .venv/bin/python benchmarks/planar_heldout.py --model ggcnn \\
        --weights shipped runs/planar/v5/ggcnn_cos60_s0.pt \\
        --data runs/planar/synth_test_v4 runs/planar/synth_test_v4b \\
        --val-data runs/planar/synth_val_v4c --out benchmarks/results/planar_ggcnn_v5.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import write_result

from grasp_models.checkpoint import load_card
from grasp_models.datasets import CornellDataset
from grasp_models.planar.evaluate import evaluate, pooled_top1
from grasp_models.planar.inference import shipped_weights
from grasp_models.registry import load_model

#: Training options worth seeing next to a run's numbers.
TRAIN_KEYS = ("seed", "epochs", "lr", "lr_schedule", "width_loss", "label_fraction", "val_data")


#: ``pooled_by_positives`` bins: label, fewest and most positive labels an image has.
POSITIVE_BINS = (("1", 1, 1), ("2-4", 2, 4), ("5-9", 5, 9), ("10+", 10, None))


def positive_bin(n: int) -> str:
    for label, lo, hi in POSITIVE_BINS:
        if n >= lo and (hi is None or n <= hi):
            return label
    raise ValueError(f"an image with {n} positives is not scored")


def grouped_top1(groups: dict[str, list[str]], indices: dict, blind_hits: dict) -> dict:
    """Blind top-1 per group over all sets together: ``groups[root][i]`` names image i's
    group, ``indices`` are each set's labelled images and ``blind_hits`` those that hit."""
    out: dict = {}
    for root, names in groups.items():
        hit = set(blind_hits[root])
        for i in indices[root]:
            g = out.setdefault(names[i], {"hits": 0, "images": 0})
            g["hits"] += i in hit
            g["images"] += 1
    return {name: {**v, "top1": v["hits"] / v["images"]} for name, v in sorted(out.items())}


def evaluate_weights(
    args, name: str, sources: dict[str, CornellDataset], indices: dict, groups: dict, val
) -> dict:
    """One weights file's numbers; ``groups``: grouping name -> root -> each image's group
    (``pooled_by_<name>``)."""
    path = shipped_weights(args.model) if name == "shipped" else Path(name)
    model = load_model(args.model, path, device="cpu")
    card = load_card(path)
    entry: dict = {
        "weights": str(path),
        "selection": card.get("selection"),
        "train_config": {k: card.get("train_config", {}).get(k) for k in TRAIN_KEYS},
        "sets": {},
    }
    blind_hits = {}
    for root, source in sources.items():
        blind = evaluate(model, source, indices[root], "image", (1, 5), per_image=True)
        blind_hits[root] = blind.pop("hit_indices")[1]
        gt = evaluate(model, source, indices[root], "gt", (1, 5))
        entry["sets"][root] = {"image": blind, "gt": gt}
    sets = list(entry["sets"].values())
    entry["pooled"] = {
        "images": sum(s["image"]["images"] for s in sets),
        **{
            f"{crop}_top{k}": pooled_top1(*(s[crop] for s in sets), k=k)
            for crop in ("image", "gt")
            for k in (1, 5)
        },
    }
    for grouping, names in groups.items():
        entry[f"pooled_by_{grouping}"] = grouped_top1(names, indices, blind_hits)
    if val is not None:
        entry["val"] = evaluate(model, val[0], val[1], "image", (1, 5))
    return entry


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="registry name: ggcnn, vqvae_ggcnn, ...")
    ap.add_argument("--weights", nargs="+", required=True, help="'shipped' or .pt files")
    ap.add_argument("--data", nargs="+", required=True, help="held-out Cornell-format sets")
    ap.add_argument("--val-data", default=None, help="validation set (blind top-1/top-5)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    sources = {root: CornellDataset(root) for root in args.data}
    counts = {root: source.positive_counts() for root, source in sources.items()}
    indices = {root: [i for i, n in enumerate(c) if n] for root, c in counts.items()}
    for root, idx in indices.items():
        if not idx:
            raise SystemExit(f"--data {root}: no labelled images")
    groups = {  # the same for every weights file: computed once
        "kind": {r: [o.rsplit("_", 1)[-1] for o in s.object_ids()] for r, s in sources.items()},
        "positives": {r: [positive_bin(n) if n else "" for n in c] for r, c in counts.items()},
    }
    val = None
    if args.val_data:
        val_source = CornellDataset(args.val_data)
        val = (val_source, val_source.labelled_indices())
    result = {
        "model": args.model,
        "data": args.data,
        "val_data": args.val_data,
        "runs": {w: evaluate_weights(args, w, sources, indices, groups, val) for w in args.weights},
    }
    path = write_result("planar_heldout", result, args.out, threads=args.threads)
    for w, entry in result["runs"].items():
        p = entry["pooled"]
        v = entry.get("val", {}).get("top1")
        print(f"{w}: pooled blind top-1 {p['image_top1']:.3f} over {p['images']}, val {v}")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
