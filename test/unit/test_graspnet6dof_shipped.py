"""The shipped 6-DOF GraspNet weights carry complete model cards whose held-out numbers
are those of the benchmark run of exactly these files (sha256), and the sampler +
evaluator reproduce the card's top-10 physics success on the shipped evaluation set
(``graspnet6dof_eval_set.npz``: the held-out views, object specs and seeds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from grasp_core.files import file_sha256
from grasp_models.checkpoint import load_card
from grasp_models.graspnet6dof.evaluate import reproduce_topk
from grasp_models.graspnet6dof.inference import EVALUATOR_FILE, SAMPLER_FILE, load_graspnet6dof
from grasp_models.registry import WEIGHTS_DIR

ROOT = Path(__file__).resolve().parents[2]
EVAL_SET = WEIGHTS_DIR / "graspnet6dof_eval_set.npz"
FILES = {"sampler": WEIGHTS_DIR / SAMPLER_FILE, "evaluator": WEIGHTS_DIR / EVALUATOR_FILE}
# Same machine and thread count: the run is deterministic and the numbers match exactly.
# Elsewhere (another CPU's bf16 rounding, or fp32 where the CPU has no native bf16) the
# scores stay within 0.02 but the refined poses move by a little, near-tied grasps swap and
# a grasp at the edge of holding flips in physics: one view's 10 trials can differ by 3
# (seen on an AMD EPYC without bf16: test_0000_box 6 vs 9, the three views 22 vs 23 of
# 30). Hence the successes are compared pooled: over the first views by a few grasps,
# over all views by 5 points.
FIRST_VIEWS = 3
FIRST_VIEWS_TOLERANCE = 3  # grasps of FIRST_VIEWS x 10
POOLED_TOLERANCE = 0.05

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def held_out() -> dict:
    cards = {k: load_card(p) for k, p in FILES.items()}
    assert cards["sampler"]["held_out"] == cards["evaluator"]["held_out"]
    return cards["evaluator"]["held_out"]


@pytest.mark.parametrize("key", sorted(FILES))
def test_card_is_complete_and_weights_are_small(key: str) -> None:
    card = load_card(FILES[key])
    for field in ("data", "data_command", "command", "config", "steps", "held_out", "sha256"):
        assert field in card, f"{FILES[key]}: card lacks {field}"
    assert card["config"]["seed"] == 0
    assert card["sha256"] == file_sha256(FILES[key])
    assert FILES[key].stat().st_size < 5e6


def test_card_numbers_are_the_benchmark_run_of_these_files(held_out: dict) -> None:
    result = json.loads((ROOT / held_out["benchmark"]).read_text())
    for key, path in FILES.items():
        assert result["weights"][key]["sha256"] == file_sha256(path), key
    s = result["summary"]
    assert held_out["top10_success_at_iteration_10"] == s["top10_success_at_iteration_10"]
    assert held_out["auc_by_iteration"] == s["auc_by_iteration"]
    assert held_out["top10_by_view"] == s["top10_by_view"]
    n = sum(len(v["indices"]) for v in s["top10_by_view"])
    assert n == 10 * s["views"]
    pooled = sum(v["successes"] for v in s["top10_by_view"]) / n
    assert pooled == pytest.approx(s["top10_success_at_iteration_10"])
    auc = {int(k): v for k, v in s["auc_by_iteration"].items()}
    assert auc[10] > auc[0]  # issue #6: refinement raises the success-coverage AUC


def _reproduce(views: int | None) -> dict:
    torch.manual_seed(0)
    torch.set_num_threads(1)  # the card's run used 1 thread
    return reproduce_topk(load_graspnet6dof(), EVAL_SET, views=views)


def test_first_views_reproduce_the_card(held_out: dict) -> None:
    got = _reproduce(views=FIRST_VIEWS)["by_view"]
    want = held_out["top10_by_view"][:FIRST_VIEWS]
    for g, w in zip(got, want, strict=True):
        assert (g["object"], g["view"], g["seed"]) == (w["object"], w["view"], w["seed"])
        np.testing.assert_allclose(sorted(g["scores"]), sorted(w["scores"]), atol=0.02)
    got_total = sum(g["successes"] for g in got)
    want_total = sum(w["successes"] for w in want)
    assert abs(got_total - want_total) <= FIRST_VIEWS_TOLERANCE, (got_total, want_total)


@pytest.mark.slow
def test_all_views_reproduce_the_card_top10(held_out: dict) -> None:
    got = _reproduce(views=None)
    assert len(got["by_view"]) == len(held_out["top10_by_view"])
    assert abs(got["success"] - held_out["top10_success_at_iteration_10"]) <= POOLED_TOLERANCE
