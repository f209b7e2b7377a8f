"""The model a run resolves for its data (ModelConfig.resolved) and what config.json records of it."""

from __future__ import annotations

import json

import pytest

from fgan.errors import UsageError
from fgan.runner import MLP_LATENT_MAX, ModelConfig


@pytest.mark.parametrize(
    ("data", "dim", "latent"),
    [("ring", 2, 2), ("grid", 2, 2), ("mixture", 1, 1), ("file:x.npy", 5, 5), ("file:x.npy", 50, MLP_LATENT_MAX)],
)
def test_the_mlp_generator_takes_a_latent_of_the_datas_size_up_to_the_cap(data, dim, latent) -> None:
    resolved = ModelConfig().resolved(data, dim)
    assert (resolved.model, resolved.latent_dim) == ("mlp", latent)


def test_a_users_latent_size_wins_and_location_scale_records_its_own() -> None:
    assert ModelConfig(latent_dim=16).resolved("ring", 2).latent_dim == 16
    assert ModelConfig(generator="location-scale", latent_dim=16).resolved("mixture", 1).latent_dim == 1


def test_image_models_keep_a_latent_of_100_and_refuse_synthetic_models() -> None:
    resolved = ModelConfig().resolved("mnist", 784)
    assert (resolved.model, resolved.latent_dim) == ("mnist-mlp", 100)
    with pytest.raises(UsageError, match="model mlp is for synthetic data"):
        ModelConfig(model="mlp").resolved("mnist", 784)
    with pytest.raises(UsageError, match="needs image data"):
        ModelConfig(model="dcgan").resolved("ring", 2)


def test_fgan_train_on_the_ring_records_the_resolved_latent_and_resumes_with_it(tmp_path) -> None:
    from fgan.cli import main

    out = tmp_path / "run"
    assert main(["train", "--data", "ring", "--divergence", "kl", "--steps", "2", "--quiet", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["model"]["latent_dim"] == 2
    assert main(["train", "--resume", str(out), "--steps", "4", "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["model"]["latent_dim"] == 2
