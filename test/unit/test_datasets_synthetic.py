"""Physics labels of the synthetic planar generator: trials decide every written label."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from grasp_core import GraspRect
from grasp_models.datasets import CornellDataset
from grasp_models.datasets.synthetic import SynthConfig, generate, label_totals, physics_labels
from grasp_sim.objects import ObjectSpec
from grasp_sim.world import SimWorld

# 5 cm across, 12 cm long: a top-down pinch holds across its width, never along its length
# (the Panda's stroke is 8 cm).
BAR = ObjectSpec("bar", "box", (0.12, 0.05, 0.04), mass=0.2)


def _rect_along(frame, T_base_object: np.ndarray, axis: int, width_px: float) -> GraspRect:
    """A rectangle through the object's top centre, closing along its ``axis`` (0 = x)."""
    top = T_base_object[:3, 3] + T_base_object[:3, 2] * 0.02
    ends = np.stack([top, top + T_base_object[:3, axis] * 0.03])
    (u0, v0), (u1, v1) = frame.camera.project_base(ends)
    angle = (math.atan2(v1 - v0, u1 - u0) + math.pi / 2) % math.pi - math.pi / 2
    return GraspRect((float(u0), float(v0)), angle, width_px, 0.5 * width_px)


@pytest.fixture(scope="module")
def bar_scene():
    with SimWorld([BAR], seed=3) as world:
        world.reset(seed=3)
        frame = world.render("overhead", color=False)
        T = np.asarray(world.object_pose(BAR.name))
        yield world, frame, T


def test_trial_flips_a_geometric_negative_and_rejects_a_geometric_positive(bar_scene) -> None:
    world, frame, T = bar_scene
    px_per_m = frame.camera.fx / float(np.median(frame.depth))
    across = _rect_along(frame, T, 1, 0.048 * px_per_m)  # wrongly called negative
    along = _rect_along(frame, T, 0, 0.048 * px_per_m)  # wrongly called positive
    pos, neg, counts = physics_labels(world, BAR, frame, [along], [across], 0, px_per_m)
    assert counts == {
        "trialled_positive": 1,
        "trialled_negative": 1,
        "positive_failed": 1,
        "negative_succeeded": 1,
    }
    assert [r.center for r in pos] == [across.center]
    assert [r.center for r in neg] == [along.center]
    # the flipped label's width is what the fingers closed to (5 cm) plus the clearance
    assert pos[0].width / px_per_m == pytest.approx(0.05 + 0.012, abs=0.004)


def test_generator_writes_only_trialled_labels(tmp_path: Path) -> None:
    cfg = SynthConfig(
        out=str(tmp_path / "d"),
        objects=1,
        views=1,
        unlabelled=1,
        seed=0,
        candidates=300,
        max_positives=6,
        max_negatives=6,
        trial_negatives=4,
        kinds=("sphere",),
    )
    assert SynthConfig(out="x").labeller == "physics"
    manifest = generate(cfg, progress=False)
    rows = [json.loads(t) for t in (tmp_path / "d" / "labels.jsonl").read_text().splitlines()]
    assert [r["image"] for r in rows] == [0, 1]
    r = rows[0]
    trialled = r["trialled_positive"] + r["trialled_negative"]
    assert 0 < r["trialled_negative"] <= 4 and r["trialled_positive"] <= 6
    # every trialled rectangle is written once (positives may be thinned after flips)
    assert r["positives"] + r["negatives"] <= trialled
    assert r["negatives"] == trialled - (
        r["trialled_positive"] - r["positive_failed"] + r["negative_succeeded"]
    )
    assert rows[1]["positives"] == rows[1]["negatives"] == 0  # the unlabelled image
    stats = manifest["stats"]
    assert stats["images_counted"] == 2
    assert stats["trialled_negative"] == r["trialled_negative"]
    sample = CornellDataset(cfg.out)[0]
    assert len(sample.positives) == r["positives"] and len(sample.negatives) == r["negatives"]
    # a resumed run counts each image once
    assert label_totals(tmp_path / "d" / "labels.jsonl", {0, 1}) == stats
    assert generate(cfg, progress=False)["stats"] == stats


def test_shards_render_the_same_images_as_one_process(tmp_path: Path) -> None:
    common = dict(objects=1, views=2, seed=4, candidates=200, kinds=("box",))
    one = SynthConfig(out=str(tmp_path / "one"), **common)
    generate(one, progress=False)
    shards = SynthConfig(out=str(tmp_path / "two"), shard=1, shards=2, **common)
    generate(shards, progress=False)
    done = sorted(p.name for p in (tmp_path / "two").glob("pcd*cpos.txt"))
    assert done == ["pcd0001cpos.txt"]
    stats = generate(SynthConfig(out=str(tmp_path / "two"), **common), progress=False)["stats"]
    assert stats == json.loads((tmp_path / "one" / "manifest.json").read_text())["stats"]
    for name in ("pcd0000cpos.txt", "pcd0001cpos.txt", "pcd0001cneg.txt"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text()
    with pytest.raises(ValueError, match="shard"):
        SynthConfig(out="x", shard=2, shards=2)


def test_more_trialled_negatives_than_kept_ones_is_an_error() -> None:
    # they are drawn from the kept negatives: 120 of 30 used to trial 30 without a word
    with pytest.raises(ValueError, match="trial_negatives: 120 > max_negatives 30"):
        SynthConfig(out="x", trial_negatives=120, max_negatives=30)
    assert SynthConfig(out="x", trial_negatives=30, max_negatives=30).trial_negatives == 30


def test_the_cli_defaults_are_the_config_defaults() -> None:
    # the denser labeller (120 trials) is the default of both since 2026-12-06; the CLI
    # writes the numbers out so that `grasp --help` does not import torch
    import argparse

    from grasp_models import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["datagen-planar", "--out", "x"])
    cfg = SynthConfig(out="x")
    assert (args.trial_negatives, args.max_negatives) == (120, 120)
    assert (cfg.trial_negatives, cfg.max_negatives) == (120, 120)


def test_an_unlabelled_only_set_renders_without_trials(tmp_path: Path) -> None:
    # more images for the VQ-VAE alone: no labelled object, nothing trialled
    with pytest.raises(ValueError, match="no image to write"):
        SynthConfig(out="x", objects=0, unlabelled=0)
    cfg = SynthConfig(out=str(tmp_path / "u"), objects=0, unlabelled=2, seed=3, kinds=("box",))
    stats = generate(cfg, progress=False)["stats"]
    assert stats["images_counted"] == 2
    assert stats["trialled_positive"] == stats["trialled_negative"] == 0
    data = CornellDataset(cfg.out)
    assert len(data) == 2 and not any(data.labelled_flags())
    assert not np.array_equal(data[0].depth, data[1].depth)  # two objects, two images


def test_unlabelled_views_render_new_poses_of_a_labelled_sets_objects(tmp_path: Path) -> None:
    # with objects=0 and the labelled set's seed, the unlabelled objects are its objects;
    # unlabelled_first_view picks up where its views end (or repeats them, here view 1)
    with pytest.raises(ValueError, match="unlabelled_views"):
        SynthConfig(out="x", objects=0, unlabelled=1, unlabelled_views=0)
    with pytest.raises(ValueError, match="unlabelled_first_view"):
        SynthConfig(out="x", objects=0, unlabelled=1, unlabelled_first_view=-1)
    common = {"seed": 5, "kinds": ("box",), "labeller": "geometric"}
    labelled = SynthConfig(out=str(tmp_path / "l"), objects=1, views=2, **common)
    extra = SynthConfig(
        out=str(tmp_path / "u"),
        objects=0,
        unlabelled=1,
        unlabelled_views=2,
        unlabelled_first_view=1,
        **common,
    )
    generate(labelled, progress=False)
    assert generate(extra, progress=False)["stats"]["images_counted"] == 2
    seen, new = CornellDataset(labelled.out), CornellDataset(extra.out)
    assert len(new) == 2 and not any(new.labelled_flags())
    names = {Path(d.out, "objects.txt").read_text().split()[1] for d in (labelled, extra)}
    assert len(names) == 1  # one object in both sets
    np.testing.assert_array_equal(new[0].depth, seen[1].depth)  # view 1 again
    assert not np.array_equal(new[1].depth, seen[0].depth)  # view 2: a pose not in the set
    assert not np.array_equal(new[1].depth, seen[1].depth)
