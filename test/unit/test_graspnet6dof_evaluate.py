"""Success / coverage curve and AUC of the held-out evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grasp_models.graspnet6dof.evaluate import _Rows, auc, curve, pooled, sweep


def test_curve_counts_success_and_coverage_within_two_centimetres() -> None:
    rows = _Rows(
        scores=[np.array([0.9, 0.2])],
        success=[np.array([True, False])],
        positions=[np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])],
        gt=[np.array([[0.015, 0.0, 0.0], [1.0, 0.03, 0.0], [5.0, 0.0, 0.0]])],
    )
    c = curve(rows, (0.0, 0.5, 0.95))
    assert c["success"][:2] == [0.5, 1.0] and np.isnan(c["success"][2])
    assert c["coverage"] == [pytest.approx(1 / 3), pytest.approx(1 / 3), 0.0]


def test_grid_auc_extends_to_zero_coverage() -> None:
    assert auc([0.5, 1.0], [1.0, 1.0]) == pytest.approx(1.0)
    assert auc([0.5, 1.0], [1.0, 1.0], from_zero=False) == pytest.approx(0.5)
    assert auc([0.2], [float("nan")]) == 0.0


def test_sweep_uses_every_score_as_threshold_and_starts_at_coverage_zero() -> None:
    # 4 grasps; 3 ground-truth positives, best nearby scores 0.9, 0.5 and none
    c = sweep(
        np.array([0.9, 0.7, 0.5, 0.1]),
        np.array([True, False, True, False]),
        np.array([0.9, 0.5, -np.inf]),
    )
    assert c["thresholds"].tolist() == [0.9, 0.7, 0.5, 0.1]
    assert c["success"].tolist() == [1.0, 0.5, pytest.approx(2 / 3), 0.5]
    assert c["coverage"].tolist() == [pytest.approx(1 / 3)] * 2 + [pytest.approx(2 / 3)] * 2
    # (0, 1) -> (1/3, 1), vertical to 0.5, (1/3, 0.5) -> (2/3, 2/3), vertical
    assert c["auc"] == pytest.approx(1 / 3 + (0.5 + 2 / 3) / 2 / 3)


def test_sweep_agrees_with_the_grid_curve_at_shared_thresholds(rng) -> None:
    rows = _Rows(
        scores=[rng.uniform(0, 1, 50) for _ in range(3)],
        success=[rng.uniform(0, 1, 50) < 0.5 for _ in range(3)],
        positions=[rng.uniform(-0.05, 0.05, (50, 3)) for _ in range(3)],
        gt=[rng.uniform(-0.05, 0.05, (n, 3)) for n in (20, 0, 30)],
    )
    raw = pooled(rows)
    full = sweep(raw["scores"], raw["success"], raw["gt_best"])
    picks = full["thresholds"][[0, 10, 60, 149]]
    grid = curve(rows, tuple(picks))
    at = [int(np.flatnonzero(full["thresholds"] == t)[0]) for t in picks]
    assert np.allclose(full["success"][at], grid["success"])
    assert np.allclose(full["coverage"][at], grid["coverage"])
    assert full["coverage"][0] < full["coverage"][-1] and 0 < full["auc"] < 1


def test_reproduce_topk_on_an_exported_set_equals_the_evaluation(tmp_path, seed) -> None:
    """The shipped-card check re-runs only the top-k grasps: same views, seeds, iterate and
    trial seeds as the full evaluation, so the per-view records must be identical."""
    from grasp_models.graspnet6dof.datagen import DatagenConfig, generate_object
    from grasp_models.graspnet6dof.evaluate import (
        EvalConfig,
        evaluate,
        export_eval_set,
        reproduce_topk,
    )
    from grasp_models.graspnet6dof.inference import load_graspnet6dof
    from grasp_sim.objects import ObjectSpec

    obj = ObjectSpec(name="cyl", kind="cylinder", size=(0.025, 0.08), mass=0.1)
    data = tmp_path / "data"
    data.mkdir()
    generate_object(obj, data / "cyl.h5", DatagenConfig(candidates=40, perturbed=10, views=1), seed)
    cfg = EvalConfig(
        data=str(data), views=1, samples=24, iterations=3, label_iterations=(0, 3),
        trials=5, topk_iteration=3, seed=seed,
    )  # fmt: skip
    model = load_graspnet6dof()
    full = evaluate(cfg, model=model, progress=False)["summary"]
    export_eval_set(cfg, tmp_path / "set.npz")
    again = reproduce_topk(model, tmp_path / "set.npz")
    assert len(again["by_view"]) == 1
    assert again["by_view"] == full["top5_by_view"]
    assert again["success"] == full["top5_success_at_iteration_3"]


def test_min_positives_leaves_out_objects_no_grasp_held_and_keeps_the_seeds(tmp_path, seed):
    """An object wider than the stroke every way has no positive label: with
    min_positives=1 it is left out and named, and the other object keeps its index (its
    view seeds)."""
    from grasp_models.graspnet6dof.datagen import DatagenConfig, generate_object
    from grasp_models.graspnet6dof.evaluate import EvalConfig, eval_objects, export_eval_set
    from grasp_sim.objects import ObjectSpec

    data = tmp_path / "data"
    data.mkdir()
    cfg_gen = DatagenConfig(candidates=40, perturbed=10, views=1)
    wide = ObjectSpec(name="a_wide", kind="sphere", size=(0.06,), mass=0.3)
    narrow = ObjectSpec(name="b_cyl", kind="cylinder", size=(0.025, 0.08), mass=0.1)
    generate_object(wide, data / "a_wide.h5", cfg_gen, seed)
    generate_object(narrow, data / "b_cyl.h5", cfg_gen, seed)
    every, none_left = eval_objects(EvalConfig(data=str(data)))
    assert [o.name for _, o in every] == ["a_wide", "b_cyl"] and none_left == []
    assert len(every[0][1].positives) == 0 < len(every[1][1].positives)
    cfg = EvalConfig(data=str(data), views=1, seed=seed, min_positives=1)
    kept, left_out = eval_objects(cfg)
    assert [(i, o.name) for i, o in kept] == [(1, "b_cyl")]
    assert left_out == ["a_wide"]
    info = export_eval_set(cfg, tmp_path / "set.npz")
    assert info["views"] == 1 and info["objects_left_out"] == ["a_wide"]
    meta = json.loads(str(np.load(tmp_path / "set.npz")["meta"]))
    assert meta["views"][0]["seed"] == seed * 10_000 + 1 * 100 + 0
