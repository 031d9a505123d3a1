"""``grasp`` subcommands of grasp_models: with only the required options, each builds the
same config as the library's dataclass defaults (the CLI's defaults are written twice)."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from grasp_bringup.cli import main


def _capture(monkeypatch, module, name: str, result) -> list:
    """Replace ``module.name`` (the handler's worker) by a stub that records its config."""
    seen: list = []

    def stub(cfg, *args, **kwargs):
        seen.append(cfg)
        return result

    monkeypatch.setattr(module, name, stub)
    return seen


def test_train_defaults_are_the_planar_train_config_defaults(monkeypatch, capsys) -> None:
    pytest.importorskip("torch")
    from grasp_models.planar import train as planar_train

    seen = _capture(monkeypatch, planar_train, "train", {"metrics": {}})
    argv = ["train", "--model", "ggcnn", "--data", "d", "--out", "w.pt", "--no-malloc-tuning"]
    assert main(argv) == 0
    assert asdict(seen[0]) == asdict(planar_train.TrainConfig(model="ggcnn", data="d", out="w.pt"))


def test_datagen_planar_defaults_are_the_synth_config_defaults(monkeypatch, capsys) -> None:
    from grasp_models.datasets import synthetic

    seen = _capture(monkeypatch, synthetic, "generate", {"stats": {}})
    assert main(["datagen-planar", "--out", "o"]) == 0
    assert asdict(seen[0]) == asdict(synthetic.SynthConfig(out="o"))


def test_6dof_train_and_eval_defaults_are_their_config_defaults(monkeypatch, capsys) -> None:
    pytest.importorskip("torch")
    from grasp_models.graspnet6dof import evaluate as gn_eval
    from grasp_models.graspnet6dof import train as gn_train

    trained = _capture(monkeypatch, gn_train, "train", None)
    assert main(["train-6dof", "--model", "vae", "--data", "d", "--out", "w.pt"]) == 0
    assert asdict(trained[0]) == asdict(gn_train.TrainConfig(model="vae", data="d", out="w.pt"))

    evaluated = _capture(monkeypatch, gn_eval, "evaluate", {"summary": {}})
    assert main(["eval-6dof", "--data", "d"]) == 0
    assert asdict(evaluated[0]) == asdict(gn_eval.EvalConfig(data="d"))
