"""Ship a trained 6-DOF GraspNet pair: copy ``graspnet6dof_vae.pt`` and
``graspnet6dof_evaluator.pt`` from a training folder into ``grasp_models/weights/`` with
model cards = the training card + the data command + the held-out numbers of an
evaluation run of exactly these files (``benchmarks/graspnet6dof_eval.py --weights FOLDER
--tag TAG``; its JSON records the files' sha256, checked here).

    .venv/bin/python benchmarks/graspnet6dof_ship.py --weights runs/graspnet6dof/train150 \\
        --eval benchmarks/results/graspnet6dof_eval_train150.json --data-command "..."

``test/unit/test_graspnet6dof_shipped.py`` checks the shipped cards against the eval JSON
and re-runs the top-10 measure on ``grasp_models/weights/graspnet6dof_eval_set.npz``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from grasp_core.files import file_sha256
from grasp_models.checkpoint import card_path, load_card, save_json
from grasp_models.graspnet6dof.inference import EVALUATOR_FILE, SAMPLER_FILE
from grasp_models.registry import WEIGHTS_DIR

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT_DATA = "grasp datagen-6dof --split test --count 14 --candidates 1000 --perturbed 100 --views 3 --seed 0"


def held_out_block(eval_json: Path) -> dict:
    """The card's ``held_out`` entry from an eval result (numbers as measured)."""
    r = json.loads(Path(eval_json).read_text())
    s = r["summary"]
    return {
        "benchmark": str(Path(eval_json).resolve().relative_to(ROOT)),
        "command": r["command"].replace(str(ROOT) + "/", ""),
        "data": HELD_OUT_DATA,
        "date": r["date"],
        "load_average": {
            "start": r["machine"].get("load_average_at_start"),
            "end": r["machine"].get("load_average_at_end"),
        },
        "physics_trials": s["physics_trials"],
        "views": s["views"],
        "objects_left_out": s.get("objects_left_out", {"min_positives": 0, "names": []}),
        "top10_success_at_iteration_10": s["top10_success_at_iteration_10"],
        "top10_by_view": s["top10_by_view"],
        "auc_by_iteration": s["auc_by_iteration"],
        "auc_definition": s["auc_definition"],
        "success_all_grasps_by_iteration": s["success_all_grasps_by_iteration"],
        "eval_set": "grasp_models/weights/graspnet6dof_eval_set.npz",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True, help="training folder with both .pt + .json")
    ap.add_argument("--eval", required=True, help="graspnet6dof_eval*.json of these weights")
    ap.add_argument("--data-command", required=True, help="the datagen command of the data")
    ap.add_argument("--note", default=None, help="free text stored in both cards")
    args = ap.parse_args(argv)
    src = Path(args.weights)
    result = json.loads(Path(args.eval).read_text())
    held_out = held_out_block(Path(args.eval))
    for key, name in (("sampler", SAMPLER_FILE), ("evaluator", EVALUATOR_FILE)):
        digest = file_sha256(src / name)
        measured = result["weights"][key]["sha256"]
        if digest != measured:
            raise SystemExit(f"{src / name}: sha256 {digest} is not the evaluated {measured}")
    for key, name in (("sampler", SAMPLER_FILE), ("evaluator", EVALUATOR_FILE)):
        card = load_card(src / name)
        card.update(
            {
                "data_command": args.data_command,
                "held_out": held_out,
                "sha256": file_sha256(src / name),
                # re-shipping the shipped files with new held-out numbers keeps their origin
                "trained_from": card.get("trained_from", str(src)),
                "shipped_by": " ".join(["benchmarks/graspnet6dof_ship.py", *sys.argv[1:]]),
            }
        )
        if args.note:
            card["note"] = args.note
        dst = WEIGHTS_DIR / name
        tmp = dst.with_suffix(".tmp")
        shutil.copyfile(src / name, tmp)
        tmp.replace(dst)
        save_json(card_path(dst), card)
        print(f"shipped {key}: {dst} ({dst.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
