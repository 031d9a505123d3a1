"""The ``grasp`` command line: every option's ``--help`` says what it is and its default;
a bad value or file ends a command with one line naming it, not a traceback."""

from __future__ import annotations

import argparse

import pytest

from grasp_bringup.cli import build_parser, main


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_of_every_subcommand_has_a_help_line() -> None:
    commands = _subcommands()
    assert {"demo", "train", "eval", "datagen-planar", "launch"} <= set(commands)
    missing = [
        f"grasp {name} {'/'.join(a.option_strings) or a.dest}"
        for name, parser in commands.items()
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction) and not a.help
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("argv", "shown", "not_shown"),
    [
        # defaults from the parser, not written twice in the help text
        (["train"], ["images per training step (default: 8)", "(default: 0.001)"], []),
        (["eval"], ["(default: image gt)", "(default: 0.25)"], ["(default: None)"]),
        # a flag's False, a None and an empty string say nothing
        (["demo"], ["objects on the table (default: 3)"], ["(default: False)", "(default: )"]),
        # a help line that already names its default keeps its own words
        (["plan-reach"], ["planning group (default: the robot's)"], ["(default: None)"]),
    ],
)
def test_help_shows_the_defaults(capsys, argv, shown, not_shown) -> None:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for s in shown:
        assert s in text
    for s in not_shown:
        assert s not in text


def test_an_error_of_the_stack_is_one_line_naming_the_command(tmp_path, capsys) -> None:
    """A missing dataset or model card ends the command with exit code 1 and one line on
    stderr (it was a traceback ending in the same message); ``--traceback`` raises."""
    from grasp_core.errors import GraspBringupError

    missing = tmp_path / "nowhere"
    assert main(["eval", "--model", "ggcnn", "--data", str(missing), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"grasp eval: error: Cornell dataset root is not a directory: {missing}"]
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"not a checkpoint")
    argv = ["eval", "--model", "ggcnn", "--weights", str(weights), "--data", str(missing)]
    assert main(argv) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("grasp eval: error: model card not found beside the weights")
    with pytest.raises(GraspBringupError, match="not a directory"):
        main(["--traceback", "eval", "--model", "ggcnn", "--data", str(missing)])


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--zoom", "abc"], "--zoom: expected a number, got 'abc'"),  # was a ValueError
        (["--k", "0"], "--k: 0 is outside the valid range"),  # was a silent "top0"
        (["--model", "graspnet6dof"], "(6-DOF: `grasp eval-6dof`)"),  # was an AttributeError
    ],
)
def test_eval_refuses_a_bad_option_before_reading_data(tmp_path, capsys, option, message):
    argv = ["eval", "--model", "ggcnn", "--data", str(tmp_path / "nowhere"), *option]  # last wins
    assert main(argv) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # were tracebacks from torch (ValueError, RuntimeError) after the data was read
        (["train", "--model", "ggcnn", "--lr", "-1"], "lr: -1 is outside the valid range [0,"),
        (["train", "--model", "ggcnn", "--threads", "0"], "threads: 0 is outside"),
        (["train", "--model", "ggcnn", "--device", "gpu0"], "device: 'gpu0' is not a torch device"),
        (["train-6dof", "--model", "vae", "--lr", "-0.5"], "lr: -0.5 is outside"),
        (["train-6dof", "--model", "vae", "--steps", "0"], "steps: 0 is outside"),
    ],
)
def test_training_refuses_bad_options_before_reading_data(tmp_path, capsys, argv, message):
    argv = [*argv, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "w.pt")]
    assert main([*argv, "--quiet"] if argv[0] == "train" else argv) == 1
    err = capsys.readouterr().err
    assert message in err and "nowhere" not in err
    assert not (tmp_path / "w.pt").exists()


def test_a_demo_of_no_objects_is_refused_at_once_and_makes_no_run_folder(tmp_path, capsys):
    """It waited 120 s for grasp candidates that zero objects never give."""
    assert main(["demo", "--objects", "0", "--out", str(tmp_path / "runs")]) == 1
    assert "objects: 0 is outside the valid range [1, inf]" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_info_lists_the_models_with_their_cards_numbers(capsys) -> None:
    """``grasp info`` (was: the share directory and grasp_core's exports) names every
    registered model with its shipped card's held-out figure, robots, graphs and cells."""
    import json

    from grasp_models.checkpoint import load_card
    from grasp_models.registry import WEIGHTS_DIR, available

    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert list(info["models"]) == available()
    card = load_card(WEIGHTS_DIR / "ggcnn.pt")
    sets = [v for v in card["heldout"].values() if isinstance(v, dict)]
    big = max(sets, key=lambda v: v["images"])  # the largest held-out set first
    line = info["models"]["ggcnn"]
    assert f"top-1 {100 * big['image_top1']:.1f} % on blind crops ({big['images']} images)" in line
    top1 = card["metrics"]["image"]["top1"]
    assert line.endswith(f"{100 * top1:.1f} % on its own test set (52 images)")
    assert info["models"]["ggcnn2"].startswith("no shipped weights")
    assert "AUC" in info["models"]["graspnet6dof"]
    assert {"panda", "baxter"} <= set(info["robots"])
    assert {"panda_grasp", "baxter_grasp"} <= set(info["graphs"])
    assert "sim/panda_table.yaml" in info["cells"]
    assert all(info["versions"][dist] for dist in ("grasp_bringup", "torch", "mujoco"))
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert info["models"]["vqvae_ggcnn"] in text and info["share_dir"] in text


def test_version_is_the_installed_packages(capsys) -> None:
    import importlib.metadata

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"grasp {importlib.metadata.version('grasp_bringup')}"


def test_sim_render_takes_a_file_name_or_a_prefix(tmp_path, capsys) -> None:
    """``--out shots/r.png`` wrote ``r.png_color.png`` (and failed on a new folder)."""
    import numpy as np

    assert main(["sim-render", "--objects", "1", "--out", str(tmp_path / "shots" / "r.png")]) == 0
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == ["r_color.png", "r_depth.npy"]
    depth = np.load(tmp_path / "shots" / "r_depth.npy")
    assert depth.shape == (480, 640) and 0.5 < float(np.median(depth)) < 1.0


def test_training_refuses_a_test_set_without_labels_before_the_first_epoch(tmp_path, capsys):
    """It trained every epoch, then reported NaN (and printed it as invalid JSON)."""
    import json

    import numpy as np

    from grasp_core import GraspRect
    from grasp_models.cli import json_with_nulls
    from grasp_models.datasets.synthetic import write_cornell_image

    labelled, unlabelled = tmp_path / "labelled", tmp_path / "unlabelled"
    rect = GraspRect((64.0, 48.0), 0.3, 18.0, 24.0)
    for i in range(2):
        write_cornell_image(labelled, i, np.full((96, 128), 0.8, np.float32), None, [rect], [])
    write_cornell_image(unlabelled, 0, np.full((96, 128), 0.8, np.float32), None, [], [])
    argv = ["train", "--model", "ggcnn", "--data", str(labelled), "--size", "64"]
    argv += ["--test-data", str(unlabelled), "--out", str(tmp_path / "w.pt"), "--quiet"]
    assert main(argv) == 1
    assert "no labelled images" in capsys.readouterr().err
    assert not (tmp_path / "w.pt").exists()
    assert json.loads(json_with_nulls({"top1": float("nan"), "k": [1.0, float("nan")]})) == {
        "top1": None,
        "k": [1.0, None],
    }
