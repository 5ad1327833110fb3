"""Cross-fitted reward models: no round is predicted by a model that saw it; features and fast
paths agree with the plain construction."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import log_expit
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

from hermes_core.ope import RewardFeatures, assign_folds, cross_fitted_reward_model
from hermes_core.ope.reward_model import (
    DEFAULT_LOGISTIC_CV_GRID,
    CrossValidatedLogistic,
    assign_stratified_folds,
    cross_fit_reward_model,
)


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


# ----------------------------------------------------------------------------- "logistic-cv"
def test_stratified_folds_deal_positive_groups_evenly_and_keep_groups_together() -> None:
    """40 groups of 1-3 rows, 7 positive groups: each of 3 folds gets 2 or 3 of them (floor/ceil of
    7/3); a group's rows share a fold; seeded."""
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), rng.integers(1, 4, 40))
    positive_groups = rng.choice(40, 7, replace=False)
    labels = np.isin(groups, positive_groups).astype(float)
    folds = assign_stratified_folds(labels, 3, seed=5, groups=groups)
    for group in np.unique(groups):
        assert len(set(folds[groups == group])) == 1
    per_fold = [len(set(groups[(folds == f) & (labels > 0)])) for f in range(3)]
    assert sorted(per_fold) == [2, 2, 3]
    assert sorted(np.bincount([folds[groups == g][0] for g in range(40)]).tolist()) == [13, 13, 14]
    np.testing.assert_array_equal(folds, assign_stratified_folds(labels, 3, seed=5, groups=groups))
    with pytest.raises(ValueError, match="n_folds"):
        assign_stratified_folds(labels, 1, seed=0)


def overfitting_problem(seed: int = 2, n: int = 150, d: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """One informative feature among 30: a large C fits the 29 noise features, a tiny one loses the
    signal, so the best C lies inside the grid."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, d))
    rewards = (rng.random(n) < 1 / (1 + np.exp(-(features[:, 0] - 1.0)))).astype(float)
    return features, rewards


def test_logistic_cv_picks_the_c_of_least_cross_validated_log_loss() -> None:
    """Brute force: on the same inner folds, fit ``LogisticRegression(C)`` for every C, score the
    held-out rows by log-loss written with ``log_expit``, average the folds; the model's curve
    equals it, its C is the argmin, and it is interior here (0.1, with both ends worse).
    scikit-learn's ``LogisticRegressionCV(scoring="neg_log_loss")`` on those folds picks the same C."""
    features, rewards = overfitting_problem()
    model = CrossValidatedLogistic(cv=3, seed=0).fit(features, rewards)
    folds = assign_stratified_folds(rewards, 3, seed=0)
    splits = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(3)]
    curve = []
    for c in DEFAULT_LOGISTIC_CV_GRID:
        losses = []
        for train, test in splits:
            fitted = LogisticRegression(C=c, max_iter=10000).fit(features[train], rewards[train])
            logits = fitted.decision_function(features[test])
            losses.append(-np.mean(rewards[test] * log_expit(logits) + (1 - rewards[test]) * log_expit(-logits)))
        curve.append(np.mean(losses))
    np.testing.assert_allclose(model.cv_log_loss_, curve, rtol=1e-10)
    assert model.C_ == DEFAULT_LOGISTIC_CV_GRID[int(np.argmin(curve))] == 0.1
    assert min(curve[0], curve[-1]) > model.cv_log_loss_.min()  # interior: both ends score worse
    refit = LogisticRegression(C=0.1, max_iter=10000).fit(features, rewards)
    np.testing.assert_allclose(model.coef_, refit.coef_, rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(features), refit.predict_proba(features), rtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn 1.9 announces new attribute shapes
        reference = LogisticRegressionCV(Cs=list(DEFAULT_LOGISTIC_CV_GRID), cv=splits, scoring="neg_log_loss",
                                         l1_ratios=(0.0,), max_iter=10000).fit(features, rewards)  # fmt: skip
    assert float(np.ravel(reference.C_)[0]) == model.C_


def test_logistic_cv_refuses_what_it_cannot_cross_validate() -> None:
    features, rewards = overfitting_problem(n=40)
    rewards[:] = 0.0
    rewards[:2] = 1.0  # two positive rows cannot fill three inner folds
    with pytest.raises(ValueError, match="at least cv = 3"):
        CrossValidatedLogistic(cv=3).fit(features, rewards)
    with pytest.raises(ValueError, match="Cs"):
        CrossValidatedLogistic(Cs=(1.0, -1.0))
    with pytest.raises(ValueError, match="binary"):
        cross_fitted_reward_model(features[:, :2], np.zeros(40, dtype=int), None, np.linspace(0, 1, 40),
                                  n_actions=2, len_list=1, model="logistic-cv")  # fmt: skip


def test_cross_fit_records_the_c_chosen_in_each_fold_and_slot() -> None:
    """Per position, 3 outer folds: ``chosen_c[f, k]`` is the C that :class:`CrossValidatedLogistic`
    picks when fitted by hand on fold f's training rows at slot k (grid 0.01, 1, 100), and its CV
    curve is recorded. ``cross_fitted_reward_model`` returns the same predictions without the
    record; fixed-C logistic records C = 100 and LightGBM NaN."""
    data = problem(6, n=600)
    folds = assign_folds(600, 3, seed=2)
    grid = (100.0, 0.01, 1.0)  # unsorted on purpose: the model sorts it
    fit = cross_fit_reward_model(**data, n_actions=5, len_list=3, folds=folds, model="logistic-cv", seed=4,
                                 position_handling="per-position", cv_grid=grid)  # fmt: skip
    assert fit.chosen_c.shape == (3, 3) and fit.cv_log_loss.shape == (3, 3, 3)
    assert fit.c_grid == (0.01, 1.0, 100.0)
    features = RewardFeatures.from_arrays(data["context"], 5, 3, slot_one_hot=False)
    for f in range(3):
        for slot in range(3):
            rows = np.flatnonzero((folds != f) & (data["position"] == slot))
            by_hand = CrossValidatedLogistic(Cs=grid, seed=4).fit(
                features.rows(rows, data["action"][rows], data["position"][rows]), data["reward"][rows]
            )
            assert fit.chosen_c[f, slot] == by_hand.C_
            np.testing.assert_allclose(fit.cv_log_loss[f, slot], by_hand.cv_log_loss_, rtol=1e-12)
    fixed = cross_fit_reward_model(**data, n_actions=5, len_list=3, folds=folds)
    assert (fixed.chosen_c == 100.0).all() and fixed.chosen_c.shape == (3, 1) and fixed.c_grid == ()
    assert np.isnan(fixed.cv_log_loss).all()
    np.testing.assert_array_equal(fixed.estimated_rewards,
                                  cross_fitted_reward_model(**data, n_actions=5, len_list=3, folds=folds))  # fmt: skip
    boosted = cross_fit_reward_model(**data, n_actions=5, len_list=3, folds=folds, model="lightgbm")
    assert np.isnan(boosted.chosen_c).all()


def test_logistic_cv_inner_folds_respect_bootstrap_groups() -> None:
    """With ``groups`` (the original row of each bootstrap copy), a memorising feature (the original
    row id) cannot help inside the inner folds: the chosen C is that of the same fit on the groups'
    folds, written out with ``assign_stratified_folds(..., groups=...)``."""
    rng = np.random.default_rng(8)
    data = problem(8, n=300)
    rows = rng.integers(0, 300, 300)
    features = np.column_stack([data["context"][rows], np.eye(300)[rows]])  # one indicator per original row
    rewards = data["reward"][rows]
    grouped = CrossValidatedLogistic(seed=1).fit(features, rewards, groups=rows)
    folds = assign_stratified_folds(rewards, 3, seed=1, groups=rows)
    for f in range(3):
        assert not set(rows[folds == f]) & set(rows[folds != f])  # no original row on both sides
    by_hand = []
    for c in DEFAULT_LOGISTIC_CV_GRID:
        losses = []
        for f in range(3):
            train, test = folds != f, folds == f
            fitted = LogisticRegression(C=c, max_iter=10000, random_state=1).fit(features[train], rewards[train])
            logits = fitted.decision_function(features[test])
            losses.append(np.mean(np.logaddexp(0, logits) - rewards[test] * logits))
        by_hand.append(np.mean(losses))
    np.testing.assert_allclose(grouped.cv_log_loss_, by_hand, rtol=1e-10)
