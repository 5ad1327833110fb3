"""The reward model :math:`\\hat q(x, a, k)` of DM and the DR family, fitted by cross-fitting.

Cross-fitting (Chernozhukov et al., 2018, "Double/debiased machine learning", Def. 3.1; Narita,
Yasui and Yata, 2021, for OPE): split the rounds into :math:`K` folds; the predictions for the
rounds of fold :math:`f` come from a model fitted on the other :math:`K-1` folds only, so no
round's residual :math:`r_i - \\hat q(x_i, a_i, k_i)` is computed by a model that saw
:math:`r_i`.

Feature row of a (round, action, slot) triple, in this column order:

- the round's context :math:`x_i` (d_x columns);
- the action's context: ``action_context[a]`` when it is (n_actions, d_a), or
  ``action_context[i, a]`` when it varies by round, (n, n_actions, d_a); one-hot of the action
  when none is given (OBP's default);
- the one-hot slot :math:`k` (len_list columns), unless ``position_handling="per-position"``,
  which instead fits one model per slot on the rounds logged at that slot (OBP's
  ``RegressionModel``).

Predictions for all (action, slot) pairs are made ``max_chunk_elements`` feature values at a
time; a binary logistic model skips the feature matrix altogether, because its logit is a sum of
a context, an action and a slot part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

RewardModelName = Literal["logistic", "lightgbm"]
PositionHandling = Literal["one-hot", "per-position"]

LOGISTIC_SETTINGS: dict[str, Any] = {"C": 100.0, "max_iter": 10000}
"""Logistic regression as in OBP's ``examples/obd/conf/hyperparams.yaml``."""

LIGHTGBM_SETTINGS: dict[str, Any] = {
    "n_estimators": 30,
    "learning_rate": 0.01,
    "max_depth": 5,
    "min_child_samples": 10,
}
"""Gradient boosting sized as OBP's example (``max_iter=30, learning_rate=0.01, max_depth=5,
min_samples_leaf=10``), here with LightGBM."""

DEFAULT_MAX_CHUNK_ELEMENTS = 1 << 24
"""Feature values built at once when predicting every (action, slot): 128 MiB of float64."""


def make_reward_model(name: RewardModelName, seed: int, binary: bool = True) -> Any:
    """A fresh, unfitted scikit-learn-style model: ``"logistic"`` (binary rewards only) or
    ``"lightgbm"`` (classifier for binary rewards, regressor otherwise)."""
    if name == "logistic":
        if not binary:
            raise ValueError("reward_model 'logistic' needs binary rewards; use 'lightgbm'")
        return LogisticRegression(random_state=seed, **LOGISTIC_SETTINGS)
    if name == "lightgbm":
        import lightgbm

        settings = dict(LIGHTGBM_SETTINGS, random_state=seed, n_jobs=1, deterministic=True,
                        force_col_wise=True, verbose=-1)  # fmt: skip
        return lightgbm.LGBMClassifier(**settings) if binary else lightgbm.LGBMRegressor(**settings)
    raise ValueError(f"unknown reward model {name!r}; expected 'logistic' or 'lightgbm'")


class _ConstantModel:
    """Predicts the one reward value a training fold holds (a classifier cannot fit one class)."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.full(features.shape[0], self.value)


def _predict(model: Any, features: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        probabilities = np.asarray(model.predict_proba(features))
        return probabilities[:, -1] if probabilities.ndim == 2 else probabilities
    return np.asarray(model.predict(features), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class RewardFeatures:
    """Builds feature rows of (round, action, slot) triples; see the module docstring."""

    context: np.ndarray  # (n, d_x)
    action_context: np.ndarray  # (n_actions, d_a) or (n, n_actions, d_a)
    len_list: int
    slot_one_hot: bool = True

    @classmethod
    def from_arrays(
        cls,
        context: np.ndarray,
        n_actions: int,
        len_list: int,
        action_context: np.ndarray | None = None,
        slot_one_hot: bool = True,
    ) -> RewardFeatures:
        context = np.asarray(context, dtype=np.float64)
        if context.ndim == 1:
            context = context[:, None]
        if context.ndim != 2:
            raise ValueError(f"context must be (n_rounds, d_x), got shape {context.shape}")
        if action_context is None:
            action_context = np.eye(n_actions)
        action_context = np.asarray(action_context, dtype=np.float64)
        per_round = action_context.ndim == 3
        expected_actions = action_context.shape[1] if per_round else action_context.shape[0]
        if action_context.ndim not in (2, 3) or expected_actions != n_actions:
            raise ValueError(
                "action_context must be (n_actions, d_a) or (n_rounds, n_actions, d_a) with "
                f"n_actions = {n_actions}, got shape {action_context.shape}"
            )
        if per_round and action_context.shape[0] != context.shape[0]:
            raise ValueError(
                f"per-round action_context has {action_context.shape[0]} rounds, context has "
                f"{context.shape[0]}"
            )
        for name, array in (("context", context), ("action_context", action_context)):
            if not np.isfinite(array).all():
                raise ValueError(f"{name} holds NaN or infinite values")
        return cls(context, action_context, int(len_list), slot_one_hot)

    @property
    def n_actions(self) -> int:
        return int(self.action_context.shape[-2])

    @property
    def per_round_action_context(self) -> bool:
        return self.action_context.ndim == 3

    def rows(self, rounds: np.ndarray, actions: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Feature rows (m, d) of the triples ``(rounds[j], actions[j], slots[j])``."""
        if self.per_round_action_context:
            action_part = self.action_context[rounds, actions]
        else:
            action_part = self.action_context[actions]
        parts = [self.context[rounds], action_part]
        if self.slot_one_hot:
            parts.append(np.eye(self.len_list)[slots])
        return np.concatenate(parts, axis=1)

    def grid_rows(self, rounds: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Feature rows of every (round, action, slot) in ``rounds x all actions x slots``,
        in that C order: shape (len(rounds) * n_actions * len(slots), d)."""
        grid = np.meshgrid(rounds, np.arange(self.n_actions), slots, indexing="ij")
        return self.rows(*(axis.ravel() for axis in grid))


def assign_folds(
    n_rounds: int, n_folds: int, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """Fold id (n,) in ``[0, n_folds)`` for every round, balanced and seeded.

    With ``groups`` (n,), rounds of one group share a fold; e.g. the original row of a
    bootstrap-resampled log, so that the copies of a round never sit on both sides of a split.
    """
    units, inverse = (
        (np.arange(n_rounds), np.arange(n_rounds))
        if groups is None
        else np.unique(np.asarray(groups), return_inverse=True)
    )
    if not 2 <= n_folds <= len(units):
        raise ValueError(f"n_folds must lie in [2, {len(units)}], got {n_folds}")
    order = np.random.default_rng(seed).permutation(len(units))
    unit_fold = np.empty(len(units), dtype=np.int64)
    unit_fold[order] = np.arange(len(units)) % n_folds
    return unit_fold[inverse]


def _fit(factory: Callable[[], Any], features: np.ndarray, rewards: np.ndarray) -> Any:
    values = np.unique(rewards)
    if values.size < 2:
        return _ConstantModel(values[0] if values.size else 0.0)
    model = factory()
    model.fit(features, rewards)
    return model


def _linear_logits(
    model: LogisticRegression, features: RewardFeatures, rounds: np.ndarray, slots: np.ndarray
) -> np.ndarray:
    """Logits (len(rounds), n_actions, len(slots)) of a binary logistic model, built from its
    context, action and slot coefficient blocks instead of the full feature matrix."""
    coef = model.coef_[0]
    d_x = features.context.shape[1]
    d_a = features.action_context.shape[-1]
    context_part = features.context[rounds] @ coef[:d_x]  # (m,)
    action_part = features.action_context @ coef[d_x : d_x + d_a]  # (A,) or (n, A)
    if features.per_round_action_context:
        action_part = action_part[rounds]  # (m, A)
    slot_part = coef[d_x + d_a :][slots] if features.slot_one_hot else np.zeros(len(slots))
    logits = context_part[:, None, None] + np.broadcast_to(
        action_part[..., None], (len(rounds), features.n_actions, 1)
    )
    return logits + slot_part[None, None, :] + model.intercept_[0]


def _predict_grid(
    model: Any,
    features: RewardFeatures,
    rounds: np.ndarray,
    slots: np.ndarray,
    max_chunk_elements: int,
) -> np.ndarray:
    """Predicted rewards (len(rounds), n_actions, len(slots))."""
    if isinstance(model, _ConstantModel):
        return np.full((len(rounds), features.n_actions, len(slots)), model.value)
    if isinstance(model, LogisticRegression) and model.coef_.shape[0] == 1:
        return expit(_linear_logits(model, features, rounds, slots))
    dim = features.rows(rounds[:1], np.zeros(1, dtype=np.int64), slots[:1]).shape[1]
    per_round = features.n_actions * len(slots) * dim
    chunk = max(1, max_chunk_elements // per_round)
    out = np.empty((len(rounds), features.n_actions, len(slots)))
    for start in range(0, len(rounds), chunk):
        part = rounds[start : start + chunk]
        predictions = _predict(model, features.grid_rows(part, slots))
        out[start : start + len(part)] = predictions.reshape(len(part), features.n_actions, len(slots))
    return out


def cross_fitted_reward_model(
    context: np.ndarray,
    action: np.ndarray,
    position: np.ndarray | None,
    reward: np.ndarray,
    *,
    n_actions: int,
    len_list: int,
    action_context: np.ndarray | None = None,
    n_folds: int = 3,
    folds: np.ndarray | None = None,
    model: RewardModelName | Callable[[], Any] = "logistic",
    seed: int = 0,
    position_handling: PositionHandling = "one-hot",
    max_chunk_elements: int = DEFAULT_MAX_CHUNK_ELEMENTS,
) -> np.ndarray:
    """``estimated_rewards_by_reg_model`` (n, n_actions, len_list) by K-fold cross-fitting.

    Parameters
    ----------
    context
        (n, d_x) context of every logged round.
    action, position, reward
        (n,) the logged action, slot (``None``: one slot) and reward.
    action_context
        (n_actions, d_a) or per round (n, n_actions, d_a); one-hot of the action if ``None``.
    n_folds, folds
        Number of folds, or explicit fold ids (n,) (e.g. from :func:`assign_folds` with
        ``groups``). Without ``folds``, rounds are assigned at random (seeded) in balanced folds.
    model
        ``"logistic"`` or ``"lightgbm"`` (:func:`make_reward_model`), or a zero-argument
        callable returning a fresh scikit-learn-style model (``fit``, ``predict_proba`` or
        ``predict``).
    position_handling
        ``"one-hot"``: one model with one-hot slot features; ``"per-position"``: one model per
        slot, fitted on the rounds logged at that slot.

    Returns
    -------
    numpy.ndarray
        :math:`\\hat q(x_i, a, k)` for every round, action and slot; row ``i`` predicted by a
        model that was not fitted on any round of ``i``'s fold.
    """
    reward = np.asarray(reward, dtype=np.float64)
    n_rounds = reward.shape[0]
    action = np.asarray(action, dtype=np.int64)
    position = (
        np.zeros(n_rounds, dtype=np.int64) if position is None else np.asarray(position, np.int64)
    )
    if action.shape != (n_rounds,) or position.shape != (n_rounds,):
        raise ValueError("action, position and reward must all have shape (n_rounds,)")
    if action.min() < 0 or action.max() >= n_actions:
        raise ValueError(f"action values must lie in [0, {n_actions})")
    if position.min() < 0 or position.max() >= len_list:
        raise ValueError(f"position values must lie in [0, {len_list})")
    if not np.isfinite(reward).all():
        raise ValueError("reward holds NaN or infinite values")
    per_position = position_handling == "per-position"
    if position_handling not in ("one-hot", "per-position"):
        raise ValueError(f"unknown position_handling {position_handling!r}")
    features = RewardFeatures.from_arrays(
        context, n_actions, len_list, action_context, slot_one_hot=not per_position
    )
    if features.context.shape[0] != n_rounds:
        raise ValueError(f"context has {features.context.shape[0]} rounds, reward has {n_rounds}")

    if folds is None:
        fold_of = assign_folds(n_rounds, n_folds, seed)
    else:
        fold_of = np.asarray(folds, dtype=np.int64)
        if fold_of.shape != (n_rounds,) or fold_of.min() < 0:
            raise ValueError("folds must be non-negative fold ids of shape (n_rounds,)")
    fold_ids = np.unique(fold_of)
    if fold_ids.size < 2:
        raise ValueError("cross-fitting needs at least 2 folds")

    if isinstance(model, str):
        binary = bool(np.isin(reward, (0.0, 1.0)).all())
        name = model
        factory: Callable[[], Any] = lambda: make_reward_model(name, seed, binary)  # noqa: E731
        make_reward_model(name, seed, binary)  # fail early on a bad name or reward type
    else:
        factory = model

    estimated = np.empty((n_rounds, n_actions, len_list))  # (n, n_actions, len_list)
    all_slots = np.arange(len_list)
    for fold in fold_ids:
        test = np.flatnonzero(fold_of == fold)
        train = np.flatnonzero(fold_of != fold)
        if per_position:
            for slot in all_slots:
                train_slot = train[position[train] == slot]
                fitted = _fit(
                    factory,
                    features.rows(train_slot, action[train_slot], position[train_slot]),
                    reward[train_slot],
                )
                estimated[test, :, slot] = _predict_grid(
                    fitted, features, test, all_slots[slot : slot + 1], max_chunk_elements
                )[:, :, 0]
        else:
            fitted = _fit(factory, features.rows(train, action[train], position[train]), reward[train])
            estimated[test] = _predict_grid(fitted, features, test, all_slots, max_chunk_elements)
    return estimated
