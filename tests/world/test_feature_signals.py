"""Dense side features no longer reveal the hidden factor; the R^2 helper is checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.feature_signals import HIDDEN_R2_GOAL, hidden_factor_r2, linear_r2


def test_r2_of_an_exact_linear_target_is_one_and_of_pure_noise_near_zero() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2000, 3))
    assert linear_r2(features, 2.0 + features @ np.array([1.0, -2.0, 0.5])) == pytest.approx(1.0)
    # noise independent of 3 features: E[R^2] = 3 / (n - 1), about 0.0015
    assert linear_r2(features, rng.normal(size=2000)) < 0.01


def test_r2_matches_the_textbook_formula_on_a_hand_example() -> None:
    # y = (1, 2, 2, 4) on x = (0, 1, 2, 3): fit 0.9 + 0.9 x, residuals (0.1, 0.2, -0.7, 0.4)
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([1.0, 2.0, 2.0, 4.0])
    assert linear_r2(x, y) == pytest.approx(1.0 - 0.7 / 4.75)


def test_the_tiny_worlds_dense_features_do_not_reveal_the_hidden_factor(tiny_world: World) -> None:
    result = hidden_factor_r2(tiny_world)
    # 16 dense features, 150 items: a factor independent of them gives R^2 about 16 / 149 = 0.11
    assert result["mean_r2"] <= HIDDEN_R2_GOAL and result["max_r2"] < 0.4
