"""The feature-space metrics: Fréchet distance, the cached feature classifier, FID / two-sample test / class KL."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fgan import features
from fgan.errors import UsageError
from fgan.features import (
    FeatureClassifier,
    feature_metrics,
    frechet_distance,
    load_or_train_classifier,
    train_classifier,
)
from tests.helpers import QUICK_CLASSIFIER


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` 1x12x12 images of 10 classes: a bright 3x3 blob in one of the 4x4 grid cells (one per class) on noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = 0.3 * torch.rand(n, 1, 12, 12, generator=generator)
    brightness = 0.7 + 0.3 * torch.rand(n, generator=generator)
    for i, label in enumerate(labels.tolist()):
        row, col = divmod(label, 4)
        images[i, 0, 3 * row : 3 * row + 3, 3 * col : 3 * col + 3] += brightness[i]
    return images.clamp(0, 1), labels


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    return (*blobs(400, seed=1), *blobs(600, seed=2))


@pytest.fixture(scope="module")
def trained(data) -> tuple[FeatureClassifier, float]:
    return train_classifier(*data, **QUICK_CLASSIFIER)


def test_frechet_distance_is_zero_for_identical_gaussians() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    sigma = a @ a.T + np.eye(6)
    mu = rng.standard_normal(6)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form_for_diagonal_covariances() -> None:
    a, b = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 9.0])
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.0, 2.0])
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2) + np.sum((mu1 - mu2) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_matches_an_eigendecomposition_and_is_symmetric() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    sigma1, sigma2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    # Tr((Σ1 Σ2)^{1/2}) = Tr((S Σ2 S)^{1/2}) with S = Σ1^{1/2}: the sum of square roots of its eigenvalues
    values, vectors = np.linalg.eigh(sigma1)
    root1 = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    tr_covmean = np.sum(np.sqrt(np.linalg.eigvalsh(root1 @ sigma2 @ root1)))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_handles_singular_covariances() -> None:
    sigma = np.diag([1.0, 0.0, 2.0])  # a dead feature: singular product
    assert frechet_distance(np.zeros(3), sigma, np.zeros(3), sigma) == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(UsageError, match="covariances must be 3x3"):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))


def test_classifier_is_accurate_deterministic_and_leaves_the_global_rng_alone(data, trained) -> None:
    model, accuracy = trained
    assert accuracy > 0.9
    assert not model.training
    assert model.features(data[2][:7]).shape == (7, 128) and model(data[2][:7]).shape == (7, 10)
    before = torch.get_rng_state()
    again, accuracy_again = train_classifier(*data, **QUICK_CLASSIFIER)
    assert torch.equal(torch.get_rng_state(), before)
    assert accuracy_again == accuracy
    for (name, value), (_, other) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(value, other), name


def test_classifier_is_cached_and_retrained_for_other_data_or_a_damaged_file(data, tmp_path, monkeypatch) -> None:
    data = (data[0][:128], data[1][:128], data[2][:64], data[3][:64])  # accuracy does not matter here
    model, accuracy, path = load_or_train_classifier("blobs", *data, cache=tmp_path, **QUICK_CLASSIFIER)
    assert path.parent == tmp_path / "classifiers" and path.name.startswith("blobs-") and path.is_file()

    def refuse(*args, **kwargs):
        raise AssertionError("trained although cached")

    with monkeypatch.context() as patch:
        patch.setattr(features, "train_classifier", refuse)
        loaded, loaded_accuracy, loaded_path = load_or_train_classifier(
            "blobs", *data, cache=tmp_path, **QUICK_CLASSIFIER
        )
    assert loaded_path == path and loaded_accuracy == accuracy
    assert torch.equal(loaded(data[2][:50]), model(data[2][:50]))

    changed = (data[0].flip(0), *data[1:])
    assert load_or_train_classifier("blobs", *changed, cache=tmp_path, epochs=1)[2] != path

    path.write_bytes(b"not a checkpoint \x00\xff garbage")
    repaired, repaired_accuracy, repaired_path = load_or_train_classifier(
        "blobs", *data, cache=tmp_path, **QUICK_CLASSIFIER
    )
    assert repaired_path == path and repaired_accuracy == accuracy
    assert torch.equal(repaired(data[2][:50]), model(data[2][:50]))
    assert torch.load(path, weights_only=True)["key"] == "blobs"


def test_real_against_real_is_indistinguishable_and_a_single_class_is_not(data, trained) -> None:
    model, _ = trained
    test_images = data[2]
    metrics = feature_metrics(model, test_images[:300], test_images[300:], batch_size=128)
    assert metrics.c2st_accuracy < 0.65
    assert metrics.class_kl < 0.05
    assert metrics.classes_covered == 10
    assert (metrics.n_generated, metrics.n_real) == (300, 300)
    fresh_images, fresh_labels = blobs(1000, seed=3)
    single = feature_metrics(model, fresh_images[fresh_labels == 0], test_images[300:])
    assert single.fid > 100 * metrics.fid
    assert single.c2st_accuracy > 0.85  # at best 0.95: the 10% of real images of the same class look generated
    assert single.classes_covered == 1
    assert single.class_kl > 1.0
    assert json.loads(json.dumps(single.to_dict())) == single.to_dict()


def test_images_of_another_shape_are_refused(trained) -> None:
    model, _ = trained
    with pytest.raises(UsageError) as error:
        feature_metrics(model, torch.rand(20, 1, 12, 12), torch.rand(20, 1, 10, 10))
    assert "\n" not in str(error.value) and "generated images are (1, 12, 12)" in str(error.value)
