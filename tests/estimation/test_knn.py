"""The k-nearest-neighbour KL estimators against closed-form Gaussian KL on large samples."""

from __future__ import annotations

import numpy as np
import pytest

from fgan.errors import UsageError
from fgan.estimation import KnnConfig, knn_divergence
from fgan.estimation.knn import knn_kl
from fgan.gaussians import gaussian_divergence


@pytest.mark.parametrize("variant", ["fixed", "adaptive"])
def test_knn_kl_of_shifted_and_scaled_gaussians(variant: str) -> None:
    rng = np.random.default_rng(0)
    p = rng.standard_normal((8000, 2))
    q = rng.standard_normal((8000, 2)) * 1.3 + [1.0, 0.0]
    truth = gaussian_divergence("kl", np.zeros(2), np.eye(2), [1.0, 0.0], 1.69 * np.eye(2))
    assert knn_kl(p, q, 3, variant) == pytest.approx(truth, abs=0.04)
    reverse = gaussian_divergence("reverse-kl", np.zeros(2), np.eye(2), [1.0, 0.0], 1.69 * np.eye(2))
    result = knn_divergence(p, q, "reverse-kl", KnnConfig(k=3, variant=variant))
    assert result.estimate == pytest.approx(reverse, rel=0.12)  # Q wider than P: the larger bias
    assert result.estimate == knn_kl(q, p, 3, variant) and result.method == "knn" and result.k == 3


def test_knn_refuses_other_divergences_repeated_points_and_bad_k() -> None:
    p = np.random.default_rng(1).standard_normal((50, 2))
    with pytest.raises(UsageError, match="kl and reverse-kl only"):
        knn_divergence(p, p, "js")
    with pytest.raises(UsageError, match="distinct"):
        knn_kl(np.vstack([p, p]), p + 5, 1, "fixed")
    with pytest.raises(UsageError, match=r"\bk\b"):
        knn_divergence(p, p, "kl", KnnConfig(k=0))
    with pytest.raises(UsageError, match="more than 60 samples"):
        knn_kl(p, p, 60, "fixed")
