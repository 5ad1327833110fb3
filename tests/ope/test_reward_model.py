"""Cross-fitted reward models: no round is predicted by a model that saw it; features and fast
paths agree with the plain construction."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from hermes_core.ope import RewardFeatures, assign_folds, cross_fitted_reward_model


class Memoriser:
    """Predicts 1 for a feature row whose round id (column 0) it was fitted on, else 0, and
    records the ids it saw."""

    fits: list[set[float]] = []

    def fit(self, features: np.ndarray, rewards: np.ndarray) -> Memoriser:
        self.seen = set(features[:, 0].tolist())
        Memoriser.fits.append(self.seen)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.isin(features[:, 0], list(self.seen)).astype(float)


def problem(seed: int, n: int = 240, n_actions: int = 5, len_list: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    context = rng.normal(size=(n, 4))
    action = rng.integers(0, n_actions, n)
    position = rng.integers(0, len_list, n)
    logit = context[:, 0] + 0.5 * action - 0.7 * position - 1.0
    return {
        "context": context,
        "action": action,
        "position": position,
        "reward": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float),
    }


@pytest.mark.parametrize("position_handling", ["one-hot", "per-position"])
def test_no_round_is_predicted_by_a_model_that_saw_it(position_handling: str) -> None:
    data = problem(0)
    n = len(data["reward"])
    data["context"] = np.column_stack([np.arange(n, dtype=float), data["context"]])  # round id first
    Memoriser.fits = []
    folds = assign_folds(n, 4, seed=1)
    estimated = cross_fitted_reward_model(
        **data, n_actions=5, len_list=3, folds=folds, model=Memoriser, position_handling=position_handling
    )
    assert estimated.shape == (n, 5, 3)
    assert (estimated == 0).all()  # every prediction of round i came from a model blind to i
    fits_per_fold = 1 if position_handling == "one-hot" else 3
    assert len(Memoriser.fits) == 4 * fits_per_fold
    for fold in range(4):
        seen = set().union(*Memoriser.fits[fold * fits_per_fold : (fold + 1) * fits_per_fold])
        # ...and each model saw exactly the rounds of the other folds.
        assert seen == set(np.flatnonzero(folds != fold).astype(float).tolist())


def test_folds_by_group_keep_copies_of_a_round_together() -> None:
    """Bootstrap copies of one original round share a fold, so a memoriser never sees a copy of
    the round it predicts."""
    rng = np.random.default_rng(2)
    original = problem(2, n=100)
    rows = rng.integers(0, 100, 100)
    folds = assign_folds(100, 3, seed=4, groups=rows)
    for row in np.unique(rows):
        assert len(set(folds[rows == row])) == 1
    context = np.column_stack([rows.astype(float), original["context"][rows]])  # id = original row
    estimated = cross_fitted_reward_model(
        context, original["action"][rows], original["position"][rows], original["reward"][rows],
        n_actions=5, len_list=3, folds=folds, model=Memoriser,
    )  # fmt: skip
    assert (estimated == 0).all()


def test_assign_folds_is_balanced_and_seeded() -> None:
    folds = assign_folds(10, 3, seed=0)
    assert sorted(np.bincount(folds).tolist()) == [3, 3, 4]
    assert (folds == assign_folds(10, 3, seed=0)).all()
    assert not (folds == assign_folds(10, 3, seed=1)).all()
    with pytest.raises(ValueError, match="n_folds"):
        assign_folds(10, 1, seed=0)


class OpaqueLogistic:
    """A logistic regression the code cannot recognise, so it takes the generic chunked path."""

    def __init__(self) -> None:
        self.inner = LogisticRegression(C=100.0, max_iter=10000)

    def fit(self, features: np.ndarray, rewards: np.ndarray) -> OpaqueLogistic:
        self.inner.fit(features, rewards)
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return self.inner.predict_proba(features)


@pytest.mark.parametrize("per_round_action_context", [False, True])
def test_logistic_fast_path_equals_feature_matrix_predictions(per_round_action_context: bool) -> None:
    data = problem(3)
    rng = np.random.default_rng(3)
    n = len(data["reward"])
    action_context = rng.normal(size=(n, 5, 2) if per_round_action_context else (5, 2))
    fast = cross_fitted_reward_model(**data, n_actions=5, len_list=3, action_context=action_context, seed=7)
    slow = cross_fitted_reward_model(
        **data, n_actions=5, len_list=3, action_context=action_context, seed=7,
        model=OpaqueLogistic, max_chunk_elements=1000,
    )  # fmt: skip
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)
    assert 0 < fast.min() and fast.max() < 1


def test_feature_rows_follow_the_documented_layout() -> None:
    context = np.array([[1.0, 2.0], [3.0, 4.0]])
    action_context = np.array([[10.0], [20.0], [30.0]])
    features = RewardFeatures.from_arrays(context, n_actions=3, len_list=2, action_context=action_context)
    np.testing.assert_array_equal(
        features.rows(np.array([1]), np.array([2]), np.array([1])), [[3.0, 4.0, 30.0, 0.0, 1.0]]
    )
    grid = features.grid_rows(np.array([0]), np.arange(2))  # (1 * 3 * 2, 5) in (round, action, slot) order
    assert grid.shape == (6, 5)
    np.testing.assert_array_equal(grid[3], [1.0, 2.0, 20.0, 0.0, 1.0])  # action 1, slot 1
    default = RewardFeatures.from_arrays(context, n_actions=3, len_list=2)
    np.testing.assert_array_equal(default.rows(np.array([0]), np.array([1]), np.array([0])),
                                  [[1.0, 2.0, 0.0, 1.0, 0.0, 1.0, 0.0]])  # fmt: skip


def test_lightgbm_prediction_is_chunk_invariant_and_learns_the_slot_effect() -> None:
    data = problem(4, n=3000)
    big = cross_fitted_reward_model(**data, n_actions=5, len_list=3, model="lightgbm", seed=1)
    small = cross_fitted_reward_model(
        **data, n_actions=5, len_list=3, model="lightgbm", seed=1, max_chunk_elements=500
    )
    np.testing.assert_array_equal(big, small)
    # The simulated logit falls by 0.7 a slot, so slot 0 must be predicted above slot 2 on average.
    assert big[:, :, 0].mean() > big[:, :, 2].mean()


def test_constant_fold_and_invalid_inputs() -> None:
    data = problem(5, n=30)
    data["reward"] = np.ones(30)
    estimated = cross_fitted_reward_model(**data, n_actions=5, len_list=3)
    assert (estimated == 1.0).all()
    data["reward"] = np.linspace(0, 1, 30)
    with pytest.raises(ValueError, match="binary"):
        cross_fitted_reward_model(**data, n_actions=5, len_list=3, model="logistic")
    with pytest.raises(ValueError, match="position values"):
        cross_fitted_reward_model(**data, n_actions=5, len_list=2, model="lightgbm")
    with pytest.raises(ValueError, match="unknown reward model"):
        cross_fitted_reward_model(**data, n_actions=5, len_list=3, model="forest")  # type: ignore[arg-type]
