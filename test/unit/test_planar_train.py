"""Short training runs on a tiny Cornell-format dataset written here: the loss goes down,
runs resume from their checkpoint, cards carry held-out metrics, and the weights load
through the registry."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from grasp_core import GraspRect
from grasp_models.checkpoint import load_card
from grasp_models.datasets.synthetic import write_cornell_image
from grasp_models.errors import CheckpointError
from grasp_models.planar.inference import load_ggcnn, load_vqvae_ggcnn
from grasp_models.planar.train import TrainConfig, train

pytestmark = pytest.mark.timeout(300)


def tiny_dataset(root: Path, n: int = 8, seed: int = 0, rgb: bool = False) -> Path:
    """Bars on a table at random angles, each labelled with a grasp across its middle;
    with ``rgb`` a colour image too (a red bar on a grey table)."""
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        depth = np.full((96, 128), 0.8, np.float32)
        angle = rng.uniform(-math.pi / 2, math.pi / 2)
        cu, cv = 63.5 + rng.uniform(-4, 4), 47.5 + rng.uniform(-4, 4)
        v, u = np.mgrid[0:96, 0:128]
        along = (u - cu) * math.cos(angle) + (v - cv) * math.sin(angle)
        across = -(u - cu) * math.sin(angle) + (v - cv) * math.cos(angle)
        bar = (np.abs(along) < 4) & (np.abs(across) < 18)
        depth[bar] = 0.75
        colour = None
        if rgb:
            colour = np.full((96, 128, 3), 128, np.uint8)
            colour[bar] = (200, 30, 30)
        grasp = GraspRect((cu, cv), angle, 18.0, 24.0)
        write_cornell_image(root, i, depth, colour, [grasp], [])
        lines.append(f"{i} bar{i}\n")
    (root / "objects.txt").write_text("".join(lines))
    return root


def tiny_run(tmp_path: Path, n: int = 8, **overrides) -> dict:
    """TrainConfig fields of a short GG-CNN run on a tiny dataset written under tmp_path."""
    return dict(
        model="ggcnn",
        data=str(tiny_dataset(tmp_path / "data", n=n)),
        out=str(tmp_path / "w" / "ggcnn.pt"),
        batch_size=2,
        lr=3e-3,
        size=64,
        test_fraction=0.25,
        seed=1,
        threads=1,
        augment=False,
        **overrides,
    )


def read_losses(run_dir: Path) -> list[float]:
    with (run_dir / "log.csv").open() as fh:
        return [float(row["loss"]) for row in csv.DictReader(fh)]


def test_ggcnn_loss_goes_down_resumes_and_loads(tmp_path: Path) -> None:
    cfg = tiny_run(tmp_path)
    out = Path(cfg["out"])
    train(TrainConfig(epochs=20, **cfg), progress=False)
    losses = read_losses(out.with_suffix(".run"))
    assert len(losses) == 20
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3]), losses
    train(TrainConfig(epochs=21, **cfg), progress=False)  # resumes: one more epoch
    assert len(read_losses(out.with_suffix(".run"))) == 21
    card = load_card(out)
    assert card["arch"] == "ggcnn" and card["seed"] == 1
    # the card names both calls and the epoch each one started from
    assert [h["from_epoch"] for h in card["history"]] == [0, 20]
    assert all(h["command"] for h in card["history"])
    assert card["data"]["test_images"] == 2 and card["processing"]["size"] == 64
    assert set(card["metrics"]) == {"image", "gt"}
    assert 0.0 <= card["metrics"]["image"]["top1"] <= 1.0
    model = load_ggcnn(out)
    out_run = model.run(np.full((96, 128), 0.8, np.float32), max_grasps=3)
    assert out_run.quality.shape == (64, 64) and len(out_run.rects) >= 1


def test_vqvae_then_vqvae_ggcnn(tmp_path: Path) -> None:
    data = tiny_dataset(tmp_path / "data", n=6)
    common = dict(data=str(data), batch_size=3, size=64, test_fraction=0.2, seed=0, threads=1)
    vq_out = tmp_path / "vqvae.pt"
    vq_cfg = TrainConfig(model="vqvae", out=str(vq_out), epochs=8, lr=1e-3, augment=False, **common)
    train(vq_cfg, progress=False)
    losses = read_losses(vq_out.with_suffix(".run"))
    assert np.mean(losses[-2:]) < 0.7 * np.mean(losses[:2]), losses
    assert "vq_config" in load_card(vq_out)
    out = tmp_path / "vqvae_ggcnn.pt"
    train(
        TrainConfig(model="vqvae_ggcnn", out=str(out), epochs=2, vqvae=str(vq_out), **common),
        progress=False,
    )
    model = load_vqvae_ggcnn(out)
    assert model.card["arch"] == "vqvae_ggcnn"
    assert len(model.run(np.full((96, 128), 0.8, np.float32)).rects) == 1
    # fine-tuning a vqvae_ggcnn needs no VQ-VAE file: the init weights carry theirs
    # (--vqvae was required, and the init weights then replaced its codebook anyway)
    tuned = tmp_path / "tuned.pt"
    cfg = TrainConfig(
        model="vqvae_ggcnn", out=str(tuned), epochs=1, init_weights=str(out), **common
    )
    card = train(cfg, progress=False)
    assert card["init_weights"]["path"] == str(out)
    codebook = "quantizer.embedding.weight"
    before, after = load_vqvae_ggcnn(out).reference_net, load_vqvae_ggcnn(tuned).reference_net
    assert torch_equal(before.state_dict()[codebook], after.state_dict()[codebook])  # frozen
    with pytest.raises(CheckpointError, match="not both"):
        TrainConfig(
            model="vqvae_ggcnn", out="o.pt", vqvae=str(vq_out), init_weights=str(out), **common
        )


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))


def test_validation_keeps_the_best_epoch_and_the_test_set_is_only_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from grasp_models.datasets import CornellDataset
    from grasp_models.planar.evaluate import evaluate

    data = tiny_dataset(tmp_path / "data", n=6, seed=0)
    val = tiny_dataset(tmp_path / "val", n=4, seed=5)
    out = tmp_path / "w" / "ggcnn.pt"
    cfg = TrainConfig(
        model="ggcnn",
        data=str(data),
        test_data=str(data),
        val_data=str(val),
        val_every=2,
        out=str(out),
        epochs=5,
        batch_size=2,
        lr=3e-3,
        size=64,
        seed=2,
        threads=1,
        augment=False,
    )
    card = train(cfg, progress=True)
    with (out.with_suffix(".run") / "log.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    validated = {int(r["epoch"]): r for r in rows if "val_top1" in r["details"]}
    assert sorted(validated) == [2, 4, 5]  # every 2 epochs and the last
    sel = card["selection"]
    assert sel["chosen_epoch"] in validated and sel["val_images"] == 4
    # with progress, each validation is a line on stderr naming the epoch the run keeps
    printed = capsys.readouterr()
    lines = [ln for ln in printed.err.splitlines() if ": validation top-1" in ln]
    assert [int(ln.split(":")[0].split()[-1]) for ln in lines] == [2, 4, 5], printed.err
    chosen = sel["chosen_epoch"]
    assert f"epoch {chosen}: validation top-1 {sel['val_top1']:.1%}" in printed.err
    assert lines[-1].endswith(
        "(best so far: kept)"
        if chosen == 5
        else f"(epoch {chosen} stays best at {sel['val_top1']:.1%})"
    ), lines
    assert "validation" not in printed.out
    # the shipped weights are the chosen epoch's: they reproduce its validation score
    again = evaluate(load_ggcnn(out), CornellDataset(str(val)), range(4), crop="image")
    assert again["top1"] == pytest.approx(sel["val_top1"])
    assert again["top5"] == pytest.approx(sel["val_top5"])
    listed = evaluate(
        load_ggcnn(out), CornellDataset(str(val)), range(4), crop="image", per_image=True
    )
    for k in (1, 5):  # the images listed as hits are the ones counted
        assert len(listed["hit_indices"][k]) == round(again[f"top{k}"] * 4)
        assert set(listed["hit_indices"][1]) <= set(listed["hit_indices"][5]) <= set(range(4))
    assert "hit_indices" not in again


def test_shipping_writes_eval_accuracy_and_data_notes_into_the_card(tmp_path: Path) -> None:
    from grasp_models.datasets import CornellDataset
    from grasp_models.planar.evalset import evaluate_eval_set, export_eval_set, ship_weights

    data = tiny_dataset(tmp_path / "data", n=4, seed=3)
    out = tmp_path / "w" / "ggcnn.pt"
    train(
        TrainConfig(
            model="ggcnn",
            data=str(data),
            test_data=str(data),
            out=str(out),
            epochs=2,
            batch_size=2,
            size=64,
            threads=1,
            augment=False,
        ),
        progress=False,
    )
    eval_set = tmp_path / "eval.npz"
    assert export_eval_set(CornellDataset(str(data)), range(4), eval_set, size=64) == 4
    card = ship_weights(
        out, "ggcnn", eval_set, tmp_path / "ship", data_notes={"generator_commit": "abc1234"}
    )
    shipped = load_card(tmp_path / "ship" / "ggcnn.pt")
    assert shipped["data"]["generator_commit"] == "abc1234"
    assert shipped["data"]["root"] == str(data)  # the training card's data stays
    assert shipped["shipped_eval"] == card["shipped_eval"]
    again = evaluate_eval_set(load_ggcnn(tmp_path / "ship" / "ggcnn.pt"), eval_set)
    assert again["top1"] == shipped["shipped_eval"]["top1"] and again["images"] == 4


def test_rgbd_weights_are_evaluated_and_shipped_with_their_colour_images(tmp_path: Path) -> None:
    from grasp_bringup.cli import main
    from grasp_models.datasets import CornellDataset
    from grasp_models.errors import DatasetError
    from grasp_models.planar.evalset import evaluate_eval_set, export_eval_set, ship_weights

    data = tiny_dataset(tmp_path / "data", n=4, seed=5, rgb=True)
    out = tmp_path / "w" / "ggcnn.pt"
    cfg = dict(data=str(data), test_data=str(data), out=str(out), batch_size=2, size=64)
    train(
        TrainConfig(model="ggcnn", rgb=True, epochs=2, threads=1, augment=False, **cfg),
        progress=False,
    )
    card = load_card(out)
    assert card["in_channels"] == 4
    # `grasp eval` reads the colour images a 4-channel model needs: the card's numbers
    result = tmp_path / "eval.json"
    argv = ["eval", "--model", "ggcnn", "--weights", str(out), "--data", str(data)]
    assert main([*argv, "--threads", "1", "--quiet", "--out", str(result)]) == 0
    read = json.loads(result.read_text())["results"]
    for crop in ("image", "gt"):
        assert read[crop]["top1"] == card["metrics"][crop]["top1"], crop
    # the shipped evaluation set carries the colour crops, and shipping reads them
    eval_set = tmp_path / "eval.npz"
    assert export_eval_set(CornellDataset(str(data), load_rgb=True), range(4), eval_set, 64) == 4
    shipped = ship_weights(out, "ggcnn", eval_set, tmp_path / "ship")
    again = evaluate_eval_set(load_ggcnn(tmp_path / "ship" / "ggcnn.pt"), eval_set)
    assert again["top1"] == shipped["shipped_eval"]["top1"] == card["metrics"]["image"]["top1"]
    # a depth-only set cannot score an RGB-D model: the error names the set
    depth_only = tmp_path / "depth_only.npz"
    export_eval_set(CornellDataset(str(data)), range(4), depth_only, size=64)
    with pytest.raises(DatasetError, match="depth_only.npz.*RGB"):
        evaluate_eval_set(load_ggcnn(out), depth_only)


def test_training_crops_follow_the_labels_or_the_image_centre(tmp_path: Path) -> None:
    from grasp_models.datasets import CornellDataset
    from grasp_models.planar.train import training_data

    root = tmp_path / "data"
    depth = np.full((96, 128), 0.8, np.float32)
    depth[10:20, 90:110] = 0.75  # an object far from the image centre (63.5, 47.5)
    write_cornell_image(root, 0, depth, None, [GraspRect((100.0, 15.0), 0.0, 18.0, 8.0)], [])
    (root / "objects.txt").write_text("0 box0\n")
    source = CornellDataset(root)
    base = dict(model="ggcnn", data=str(root), out=str(tmp_path / "w.pt"), size=64)
    centre = {}
    for crop in ("gt", "image"):
        cfg = TrainConfig(**base, train_size=48, train_crop=crop, augment=False)
        data = training_data(cfg, source, [0])
        M = data.transform(0)
        # the image point that lands on the crop's centre pixel
        centre[crop] = np.linalg.solve(M[:, :2], np.array([23.5, 23.5]) - M[:, 2])
        x, y, _ = data[0]
        assert tuple(x.shape) == (1, 48, 48)
        centre[crop + "_quality"] = float(y[0].max())
    np.testing.assert_allclose(centre["gt"], [100.0, 15.0], atol=1e-6)
    np.testing.assert_allclose(centre["image"], [63.5, 47.5], atol=1e-6)
    assert centre["gt_quality"] == 1.0  # the label is inside the patch
    assert centre["image_quality"] == 0.0  # 36 px right of a 48 px crop's centre: outside
    with pytest.raises(ValueError, match="train_crop"):
        TrainConfig(**base, train_crop="labels")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_malloc_tuning_is_applied_and_can_be_turned_off() -> None:
    import argparse

    from grasp_models import cli
    from grasp_models.malloc import M_MMAP_THRESHOLD, SETTINGS, tune_malloc

    assert SETTINGS[M_MMAP_THRESHOLD] == 32 << 20  # glibc's largest accepted value
    assert tune_malloc() is True
    sub = argparse.ArgumentParser().add_subparsers()
    cli.register(sub)
    parser = sub.choices["train"]
    base = ["--model", "ggcnn", "--data", "d", "--out", "o.pt"]
    assert parser.parse_args(base).no_malloc_tuning is False
    assert parser.parse_args([*base, "--no-malloc-tuning"]).no_malloc_tuning is True
    assert parser.parse_args(base).no_channels_last is False
    assert parser.parse_args([*base, "--no-channels-last"]).no_channels_last is True


def test_cosine_schedule_decays_to_zero_and_old_checkpoints_still_resume(tmp_path: Path) -> None:
    import torch

    from grasp_models.checkpoint import load_checkpoint, save_checkpoint
    from grasp_models.planar.train import learning_rate, same_config

    cos = TrainConfig(model="ggcnn", data="d", out="o.pt", lr=2e-3, lr_schedule="cosine")
    assert learning_rate(cos, 0.0) == pytest.approx(2e-3)
    assert learning_rate(cos, 0.5) == pytest.approx(1e-3)
    assert learning_rate(cos, 0.75) == pytest.approx(1e-3 * (1 - math.sqrt(0.5)))
    assert learning_rate(cos, 1.0) == pytest.approx(0.0, abs=1e-12)
    const = TrainConfig(model="ggcnn", data="d", out="o.pt", lr=2e-3)
    assert {learning_rate(const, p) for p in (0.0, 0.5, 1.0)} == {2e-3}
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(model="ggcnn", data="d", out="o.pt", lr_schedule="step")

    cfg = tiny_run(tmp_path, n=6, lr_schedule="cosine")
    out = Path(cfg["out"])
    train(TrainConfig(epochs=3, **cfg), progress=False)
    ckpt = out.with_suffix(".run") / "checkpoint.pt"
    state = load_checkpoint(ckpt)
    # the optimiser's last step ran at the lr of progress (3 epochs - 1 step) / 3
    steps = 2  # 4 training images, batch 2
    last = learning_rate(TrainConfig(epochs=3, **cfg), (3 - 1 / steps) / 3)
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(last)
    assert 0 < last < 0.2 * 3e-3
    assert same_config(state["config"], TrainConfig(epochs=5, **cfg))
    assert not same_config(state["config"], TrainConfig(epochs=3, **{**cfg, "lr": 1e-3}))
    # a copied run folder resumes under its new weights path
    assert same_config(state["config"], TrainConfig(epochs=3, **{**cfg, "out": "copy/w.pt"}))
    # a checkpoint written before lr_schedule existed resumes as "constant" only
    old = {k: v for k, v in state["config"].items() if k != "lr_schedule"}
    assert same_config(old, TrainConfig(epochs=3, **{**cfg, "lr_schedule": "constant"}))
    assert not same_config(old, TrainConfig(epochs=3, **cfg))
    # how a run runs may change on resume: threads and device
    assert same_config(state["config"], TrainConfig(epochs=3, **{**cfg, "threads": 2}))
    save_checkpoint(ckpt, {**state, "config": {**old, "lr_schedule": "constant"}})
    with pytest.raises(
        Exception, match=r"another configuration \(lr_schedule 'constant' -> 'cosine'\)"
    ):
        train(TrainConfig(epochs=4, **cfg), progress=False)
    assert isinstance(state["model"], dict) and torch.is_tensor(next(iter(state["model"].values())))


def test_width_loss_option_trains_and_is_recorded(tmp_path: Path) -> None:
    cfg = tiny_run(tmp_path, n=6, width_loss="grasp")
    out = Path(cfg["out"])
    card = train(TrainConfig(epochs=2, **cfg), progress=False)
    assert card["train_config"]["width_loss"] == "grasp"
    with (out.with_suffix(".run") / "log.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert all(np.isfinite(float(r["loss"])) for r in rows) and len(rows) == 2
    with pytest.raises(ValueError, match="width_loss"):
        TrainConfig(model="ggcnn", data="d", out="o.pt", width_loss="masked")


def test_fine_tuning_starts_from_the_given_weights_and_the_card_names_them(
    tmp_path: Path,
) -> None:
    import torch

    from grasp_core.files import file_sha256
    from grasp_models.checkpoint import load_checkpoint
    from grasp_models.errors import CheckpointError

    base = tiny_run(tmp_path, n=6)
    first = Path(base["out"])
    train(TrainConfig(epochs=9, **base), progress=False)
    train(TrainConfig(epochs=10, **base), progress=False)  # resumed: its card has a history
    scratch = read_losses(first.with_suffix(".run"))

    # lr 0: Adam moves nothing, so the fine-tuned file holds exactly the initial weights
    frozen = tmp_path / "frozen.pt"
    card = train(
        TrainConfig(
            epochs=1, **{**base, "out": str(frozen), "lr": 0.0, "init_weights": str(first)}
        ),
        progress=False,
    )
    start, end = load_checkpoint(first), load_checkpoint(frozen)
    assert start.keys() == end.keys()
    assert all(torch.equal(start[k], end[k]) for k in start)
    assert card["init_weights"]["sha256"] == file_sha256(first)
    assert card["init_weights"]["path"] == str(first)
    assert card["init_weights"]["command"] == load_card(first)["command"]
    assert card["init_weights"]["date"] == load_card(first)["date"]
    assert card["init_weights"]["history"] == load_card(first)["history"]

    # a fine-tune goes on from where the first run ended, below its random start's loss
    # (same seed: the same random weights are what a fine-tune that loaded nothing gets)
    tuned = tmp_path / "tuned.pt"
    cfg = {**base, "out": str(tuned), "lr": 1e-3, "init_weights": str(first)}
    train(TrainConfig(epochs=1, **cfg), progress=False)
    tuned_loss = read_losses(tuned.with_suffix(".run"))[0]
    assert tuned_loss < 0.9 * scratch[0] and tuned_loss < scratch[-1], (tuned_loss, scratch)
    # resumed, it keeps its record and does not re-load the initial weights
    card = train(TrainConfig(epochs=2, **cfg), progress=False)
    assert card["init_weights"]["sha256"] == file_sha256(first)
    assert len(read_losses(tuned.with_suffix(".run"))) == 2
    assert not all(torch.equal(start[k], load_checkpoint(tuned)[k]) for k in start)
    assert "init_weights" not in card["init_weights"]  # the first run started from nothing
    # a fine-tune of a fine-tune: the card holds the whole chain back to the first run
    again = train(
        TrainConfig(
            epochs=1, **{**cfg, "out": str(tmp_path / "again.pt"), "init_weights": str(tuned)}
        ),
        progress=False,
    )
    assert again["init_weights"]["sha256"] == file_sha256(tuned)
    assert again["init_weights"]["init_weights"] == card["init_weights"]
    assert again["init_weights"]["init_weights"]["command"] == load_card(first)["command"]

    with pytest.raises(CheckpointError, match=r"init_weights .*first|ggcnn2"):
        train(
            TrainConfig(epochs=1, **{**cfg, "model": "ggcnn2", "out": str(tmp_path / "g2.pt")}),
            progress=False,
        )
    with pytest.raises(CheckpointError, match="only the grasp models"):
        TrainConfig(model="vqvae", data="d", out="o.pt", init_weights=str(first))


def test_vqvae_ggcnn_decoder_learns_at_its_own_rate_and_older_checkpoints_resume(
    tmp_path: Path,
) -> None:
    import torch

    from grasp_models.checkpoint import load_checkpoint, save_checkpoint
    from grasp_models.planar.train import build_model, param_groups

    data = tiny_dataset(tmp_path / "data", n=6)
    common = dict(data=str(data), batch_size=3, size=64, test_fraction=0.2, seed=0, threads=1)
    vq_out = tmp_path / "vqvae.pt"
    train(TrainConfig(model="vqvae", out=str(vq_out), epochs=1, augment=False, **common), False)
    with pytest.raises(ValueError, match="vq_decoder_lr_scale"):
        TrainConfig(
            model="vqvae_ggcnn", out="o.pt", vqvae=str(vq_out), vq_decoder_lr_scale=-1, **common
        )
    vq = dict(model="vqvae_ggcnn", vqvae=str(vq_out), lr=2e-3, **common)

    # one group unless the decoder's rate differs; the decoder's group holds exactly it
    cfg = TrainConfig(out=str(tmp_path / "a.pt"), vq_decoder_lr_scale=0.1, **vq)
    net = build_model(cfg)
    groups = param_groups(net, cfg)
    assert [g["lr_scale"] for g in groups] == [1.0, 0.1]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in net.decoder.parameters()}
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in net.ggcnn.parameters()}
    same = TrainConfig(out="b.pt", **vq)
    assert [g["lr_scale"] for g in param_groups(build_model(same), same)] == [1.0]

    # scale 0: the pretrained decoder stays as the VQ-VAE left it, the GG-CNN learns
    out = tmp_path / "zero.pt"
    train(TrainConfig(out=str(out), epochs=2, vq_decoder_lr_scale=0.0, **vq), False)
    state = load_checkpoint(out.with_suffix(".run") / "checkpoint.pt")
    start = build_model(TrainConfig(out="c.pt", **vq)).state_dict()
    dec = [k for k in start if k.startswith("decoder.")]
    head = [k for k in start if k.startswith("ggcnn.") and start[k].is_floating_point()]
    assert dec and all(torch.equal(state["model"][k], start[k]) for k in dec)
    assert any(not torch.equal(state["model"][k], start[k]) for k in head)
    assert [g["lr"] for g in state["optimizer"]["param_groups"]] == [2e-3, 0.0]

    # a checkpoint written before the groups carried lr_scale resumes at lr
    old = TrainConfig(out=str(tmp_path / "old.pt"), epochs=1, **vq)
    train(old, False)
    ckpt = tmp_path / "old.run" / "checkpoint.pt"
    state = load_checkpoint(ckpt)
    for group in state["optimizer"]["param_groups"]:
        del group["lr_scale"]
    save_checkpoint(ckpt, state)
    train(TrainConfig(out=old.out, epochs=2, **vq), False)
    assert load_checkpoint(ckpt)["epoch"] == 2


def test_vqvae_trains_on_more_unlabelled_folders_and_the_card_names_them(tmp_path: Path) -> None:
    import json
    from dataclasses import asdict

    from grasp_models.datasets import CornellDataset
    from grasp_models.errors import CheckpointError, DatasetError
    from grasp_models.planar.train import same_config, training_data

    data = tiny_dataset(tmp_path / "data", n=6)
    extra = tmp_path / "unlabelled"
    for i in range(4):  # unlabelled: no rectangles at all
        write_cornell_image(extra, i, np.full((96, 128), 0.8 - 0.01 * i, np.float32), None, [], [])
    common = dict(data=str(data), batch_size=3, size=64, test_fraction=0.2, seed=0, threads=1)
    cfg = TrainConfig(
        model="vqvae", out=str(tmp_path / "vq.pt"), unlabelled_data=(str(extra),), **common
    )

    # the VQ-VAE's crops: its training split of data, then every image of the extra folder
    crops = training_data(cfg, CornellDataset(cfg.data), [0, 1, 2])
    assert len(crops) == 3 + 4
    crops.epoch = 5
    assert [part.epoch for part in crops.datasets] == [5, 5]
    x, y, _ = crops[3 + 2]
    assert x.shape == (1, 64, 64) and not y.any()  # an unlabelled image, no targets

    card = train(TrainConfig(**{**asdict(cfg), "epochs": 1}), progress=False)
    assert card["data"]["unlabelled_roots"] == [str(extra)]
    assert card["data"]["unlabelled_root_images"] == 4
    assert list(card["train_config"]["unlabelled_data"]) == [str(extra)]

    # only the VQ-VAE takes them; an empty folder is named
    with pytest.raises(CheckpointError, match="only the vqvae trains on unlabelled images"):
        TrainConfig(model="ggcnn", out="g.pt", unlabelled_data=(str(extra),), **common)
    (tmp_path / "empty").mkdir()
    empty = TrainConfig(
        model="vqvae", out="e.pt", unlabelled_data=(str(tmp_path / "empty"),), **common
    )
    with pytest.raises(DatasetError, match="empty: no pcdNNNNcpos.txt .labelled. nor"):
        training_data(empty, CornellDataset(cfg.data), [0])
    # your own captures: depth images without any rectangle files are unlabelled images
    captures = tmp_path / "captures"
    captures.mkdir()
    for i in range(3):
        (captures / f"pcd{i:04d}d.tiff").write_bytes(
            (Path(cfg.data) / "pcd0000d.tiff").read_bytes()
        )
    caps = CornellDataset(captures)
    assert len(caps) == 3 and caps.labelled_indices() == [] and caps[2].positives == ()
    own = TrainConfig(model="vqvae", out="o.pt", unlabelled_data=(str(captures),), **common)
    assert len(training_data(own, CornellDataset(cfg.data), [0])) == 1 + 3

    # a checkpoint saved before the field existed still matches a run without it
    plain = TrainConfig(model="vqvae", out="p.pt", **common)
    saved = json.loads(json.dumps(asdict(plain)))
    del saved["unlabelled_data"]
    assert same_config(saved, plain) and not same_config(saved, cfg)


def test_an_extended_run_matches_one_trained_that_long_from_scratch(tmp_path: Path) -> None:
    """Batches and augmentations are seeded per (seed, epoch) and the checkpoint holds the
    optimiser: 2 epochs then extended to 4 gives the 4-epoch run's weights, bit for bit."""
    import torch

    from grasp_models.checkpoint import load_checkpoint

    data = tiny_dataset(tmp_path / "data", n=6, seed=0)
    common = dict(
        model="ggcnn",
        data=str(data),
        test_data=str(data),
        batch_size=2,
        lr=3e-3,
        size=64,
        seed=3,
        threads=1,
        augment=True,  # rotation/zoom/crop shift drawn per epoch
        train_crop="image",
        train_size=64,
        train_shift=6.0,
    )
    whole, split = tmp_path / "whole" / "g.pt", tmp_path / "split" / "g.pt"
    train(TrainConfig(out=str(whole), epochs=4, **common), progress=False)
    train(TrainConfig(out=str(split), epochs=2, **common), progress=False)
    train(TrainConfig(out=str(split), epochs=4, **common), progress=False)
    a = load_checkpoint(whole.with_suffix(".run") / "checkpoint.pt")
    b = load_checkpoint(split.with_suffix(".run") / "checkpoint.pt")
    assert a["epoch"] == b["epoch"] == 4
    for name, t in a["model"].items():
        assert torch.equal(t, b["model"][name]), name
    assert read_losses(whole.with_suffix(".run")) == read_losses(split.with_suffix(".run"))


def test_the_codebook_size_and_code_dimension_are_options_the_grasp_model_inherits(
    tmp_path: Path,
) -> None:
    from grasp_bringup.cli import main

    data = tiny_dataset(tmp_path / "data", n=4)
    vq_out = tmp_path / "vqvae.pt"
    argv = ["train", "--model", "vqvae", "--data", str(data), "--epochs", "1", "--size", "64"]
    argv += ["--batch-size", "2", "--threads", "1", "--quiet", "--out", str(vq_out)]
    assert main([*argv, "--vq-codes", "24", "--vq-dim", "6"]) == 0
    vq_config = load_card(vq_out)["vq_config"]
    assert (vq_config["num_embeddings"], vq_config["dim"]) == (24, 6)
    out = tmp_path / "vqvae_ggcnn.pt"
    common = dict(data=str(data), batch_size=2, size=64, threads=1, epochs=1)
    train(TrainConfig(model="vqvae_ggcnn", out=str(out), vqvae=str(vq_out), **common), False)
    model = load_vqvae_ggcnn(out)
    assert tuple(model.reference_net.quantizer.embedding.weight.shape) == (24, 6)
    for field, value in (("vq_num_embeddings", 1), ("vq_dim", 0)):
        with pytest.raises(ValueError, match=field):
            TrainConfig(model="vqvae", out="o.pt", data=str(data), **{field: value})
    # the grasp models do not take a codebook: asking for one is an error, not ignored
    with pytest.raises(ValueError, match="vq_num_embeddings.*vqvae_ggcnn"):
        TrainConfig(
            model="vqvae_ggcnn", out="o.pt", vqvae=str(vq_out), vq_num_embeddings=512, **common
        )
    argv = ["train", "--model", "ggcnn", "--data", str(data), "--out", str(tmp_path / "g.pt")]
    with pytest.raises(ValueError, match="vq_dim.*ggcnn"):
        main(["--traceback", *argv, "--vq-dim", "64", "--quiet"])


def test_a_malformed_camera_json_stops_training_before_the_first_epoch(tmp_path: Path) -> None:
    """It was read only when the card was written: after training, or at each validation
    before the checkpoint, so every rerun trained epoch 1 again and crashed on KeyError."""
    from grasp_models.errors import DatasetError

    cfg = TrainConfig(**tiny_run(tmp_path))
    (Path(cfg.data) / "camera.json").write_text('{"fx": 615}')
    with pytest.raises(DatasetError, match=r"camera\.json: expected a JSON object with 'K'"):
        train(cfg, progress=False)
    assert not (Path(cfg.out).with_suffix(".run") / "log.csv").is_file() or not read_losses(
        Path(cfg.out).with_suffix(".run")
    )


def test_card_records_the_data_scale_and_an_object_split_that_is_image_wise(
    tmp_path: Path,
) -> None:
    """With a camera.json the card's processing carries the data's pixels per metre (the
    detector zooms other cameras to it); without objects.txt an object-wise split is
    image-wise, which the card now says (it said "object"), with a warning."""
    cfg = TrainConfig(**tiny_run(tmp_path, epochs=1, device="auto"))  # auto: cpu or cuda
    root = Path(cfg.data)
    K = [[100.0, 0.0, 63.5], [0.0, 100.0, 47.5], [0.0, 0.0, 1.0]]
    (root / "camera.json").write_text(json.dumps({"K": K}))
    (root / "objects.txt").unlink()
    with pytest.warns(UserWarning, match="object-wise split is image-wise"):
        card = train(cfg, progress=False)
    assert card["processing"]["pixels_per_metre"] == pytest.approx(100.0 / 0.8)
    assert card["data"]["split"].startswith("object requested, image-wise in effect")


def test_train_reads_a_jacquard_folder(tmp_path: Path) -> None:
    """`grasp train --format jacquard` (the docs said a Jacquard folder loads; train only
    knew the Cornell layout)."""
    import cv2

    root = tmp_path / "jq"
    for i in range(4):
        obj = root / f"obj{i}"
        obj.mkdir(parents=True)
        depth = np.full((96, 96), 0.8, np.float32)
        depth[40:56, 30:66] = 0.75
        cv2.imwrite(str(obj / f"0_obj{i}_perfect_depth.tiff"), depth)
        (obj / f"0_obj{i}_grasps.txt").write_text("48;48;90;20;10\n")
    cfg = TrainConfig(**{**tiny_run(tmp_path, epochs=1), "data": str(root)}, data_format="jacquard")
    card = train(cfg, progress=False)
    assert card["data"]["train_images"] == 3 and card["train_config"]["data_format"] == "jacquard"


def test_a_run_does_not_resume_on_changed_data(tmp_path: Path) -> None:
    """Six more images after epoch 1 used to resume silently (the split and the labelled
    subset were then drawn from other images than the first epoch's)."""
    cfg = TrainConfig(**tiny_run(tmp_path, epochs=1))
    card = train(cfg, progress=False)
    fp = card["data"]["fingerprint"][cfg.data]
    assert fp["files"] > 8 and len(fp["sha256"]) == 64
    tiny_dataset(Path(cfg.data), n=14)  # the same 8 images (same seed) and 6 more
    with pytest.raises(CheckpointError, match="the data changed since it was written"):
        train(dataclasses.replace(cfg, epochs=2), progress=False)


def test_cpu_training_runs_channels_last_and_saves_the_usual_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the CPU the network and its batches are channels-last (oneDNN's fast layout);
    ``channels_last=False`` keeps PyTorch's default. Both learn the same up to rounding,
    the files hold contiguous tensors either way, and a run resumes across the switch."""
    import torch

    from grasp_models.checkpoint import load_checkpoint
    from grasp_models.planar import train as train_module
    from grasp_models.planar.train import memory_format

    seen: list[bool] = []
    real_loss = train_module.grasp_loss

    def recording_loss(pred, target, width_loss="all"):
        seen.append(pred.is_contiguous(memory_format=torch.channels_last))
        return real_loss(pred, target, width_loss)

    monkeypatch.setattr(train_module, "grasp_loss", recording_loss)
    losses, weights = {}, {}
    for layout in (True, False):
        cfg = tiny_run(tmp_path / str(layout), channels_last=layout)
        seen.clear()
        train(TrainConfig(epochs=3, **cfg), progress=False)
        assert seen and set(seen) == {layout}, seen  # the 4-channel maps tell the layouts apart
        losses[layout] = read_losses(Path(cfg["out"]).with_suffix(".run"))
        weights[layout] = load_checkpoint(Path(cfg["out"]))
        assert all(t.is_contiguous() for t in weights[layout].values())
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-4)
    for name, t in weights[True].items():
        torch.testing.assert_close(t, weights[False][name], rtol=1e-3, atol=1e-5)
    # the layout changes the speed, not what is learned: a run resumes across it
    cfg = tiny_run(tmp_path / "True", channels_last=False)
    train(TrainConfig(epochs=4, **cfg), progress=False)
    assert len(read_losses(Path(cfg["out"]).with_suffix(".run"))) == 4
    base = TrainConfig(model="ggcnn", data="d", out="o.pt")
    assert memory_format(base, "cpu") == torch.channels_last
    assert memory_format(dataclasses.replace(base, channels_last=False), "cpu") == (
        torch.contiguous_format
    )
    assert memory_format(base, "cuda") == torch.contiguous_format  # CPU only


@pytest.mark.parametrize("model", ["ggcnn", "vqvae_ggcnn", "vqvae"])
def test_a_stopped_and_resumed_run_ends_as_one_that_never_stopped(
    tmp_path: Path, monkeypatch, model
) -> None:
    """Long benchmark runs (the 29-seed reading of docs/BENCHMARKS.md) are stopped with a
    session and resumed from their checkpoint: their numbers stand only if a resumed run
    ends with the same weights and the same chosen epoch as one never stopped. Shuffling
    and augmentation are seeded per epoch and the validation choice travels in the
    checkpoint; the VQ-VAE's dead-code restarts draw on the global RNG and count idle
    batches in a buffer state_dict leaves out, so until late 2026-12-07 a resumed VQ-VAE
    restarted other codes at other times."""
    import torch

    from grasp_models.planar import train as train_module

    data = tiny_dataset(tmp_path / "data", n=8)
    val = tiny_dataset(tmp_path / "val", n=3, seed=5)
    common: dict = dict(
        model=model,
        data=str(data),
        batch_size=2,
        lr=3e-3,
        lr_schedule="cosine",
        size=64,
        train_size=48,
        augment=True,
        test_fraction=0.25,
        seed=3,
        threads=1,
    )
    epochs, stop = 4, 2
    if model == "vqvae":  # 1-image batches: 6 a epoch, restarts after 20 idle ones
        common["batch_size"], epochs, stop = 1, 8, 5
    else:
        common.update(
            val_data=str(val),
            val_every=1,
            train_crop="image",
            train_shift=6.0,
            label_fraction=0.75,
        )
    if model == "vqvae_ggcnn":
        vq = tmp_path / "vqvae.pt"
        train(
            TrainConfig(
                model="vqvae",
                data=str(data),
                out=str(vq),
                epochs=2,
                batch_size=4,
                size=64,
                seed=0,
                threads=1,
                augment=False,
            ),
            progress=False,
        )
        common["vqvae"] = str(vq)
    straight, stopped = tmp_path / "straight" / "m.pt", tmp_path / "stopped" / "m.pt"
    card = train(TrainConfig(out=str(straight), epochs=epochs, **common), progress=False)
    saves, save = [], train_module.save_checkpoint

    def save_then_stop(path, state, card=None):  # a kill right after a checkpoint
        save(path, state, card)
        saves.append(path)
        if len(saves) == stop:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(out=str(stopped), epochs=epochs, **common), progress=False)
    monkeypatch.setattr(train_module, "save_checkpoint", save)
    assert not stopped.exists()
    resumed = train(TrainConfig(out=str(stopped), epochs=epochs, **common), progress=False)
    assert [h["from_epoch"] for h in resumed["history"]] == [0, stop]
    assert resumed.get("selection") == card.get("selection")
    assert resumed["final_train_loss"] == card["final_train_loss"]
    a, b = torch.load(straight, weights_only=True), torch.load(stopped, weights_only=True)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
