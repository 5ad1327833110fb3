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

Models (:func:`make_reward_model`): ``"logistic"`` (L2, :math:`C = 100`, OBP's example),
``"logistic-cv"`` (:class:`CrossValidatedLogistic`: :math:`C` chosen inside each training fold by
cross-validated log-loss over a grid) and ``"lightgbm"``. :func:`cross_fit_reward_model` returns
the predictions with the :math:`C` of every fitted model (:class:`RewardModelCrossFit`);
:func:`cross_fitted_reward_model` only the predictions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

RewardModelName = Literal["logistic", "logistic-cv", "lightgbm"]
PositionHandling = Literal["one-hot", "per-position"]

LOGISTIC_SETTINGS: dict[str, Any] = {"C": 100.0, "max_iter": 10000}
"""Logistic regression as in OBP's ``examples/obd/conf/hyperparams.yaml``."""

DEFAULT_LOGISTIC_CV_GRID: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)
"""Inverse regularisation strengths :math:`C` that ``"logistic-cv"`` compares: from a model that
is little more than the intercept (the base rate) to OBP's :math:`C = 100` and beyond."""

DEFAULT_LOGISTIC_CV_FOLDS = 3
"""Inner folds of ``"logistic-cv"``'s cross-validation inside each training fold."""

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


def assign_stratified_folds(
    labels: np.ndarray, n_folds: int, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """Fold id (n,) in ``[0, n_folds)`` for every row, stratified by a binary label and seeded.

    Rows of one group (``groups`` (n,), e.g. bootstrap copies of one round) share a fold; a group
    counts as positive when any of its rows is. Positive groups, shuffled, are dealt to the folds
    in turn, then the negative ones continue the deal, so every fold gets
    :math:`\\lfloor P/K \\rfloor` or :math:`\\lceil P/K \\rceil` of the :math:`P` positive groups.
    """
    labels = np.asarray(labels, dtype=np.float64)
    units, inverse = (
        (np.arange(labels.shape[0]), np.arange(labels.shape[0]))
        if groups is None
        else np.unique(np.asarray(groups), return_inverse=True)
    )
    if not 2 <= n_folds <= len(units):
        raise ValueError(f"n_folds must lie in [2, {len(units)}], got {n_folds}")
    positive = np.zeros(len(units), dtype=bool)
    np.logical_or.at(positive, inverse, labels > 0)
    rng = np.random.default_rng(seed)
    unit_fold = np.empty(len(units), dtype=np.int64)
    dealt = 0
    for members in (np.flatnonzero(positive), np.flatnonzero(~positive)):
        members = rng.permutation(members)
        unit_fold[members] = (dealt + np.arange(len(members))) % n_folds
        dealt += len(members)
    return unit_fold[inverse]


def _logistic_log_loss(logits: np.ndarray, rewards: np.ndarray) -> float:
    """Mean :math:`-[y \\log p + (1 - y) \\log(1 - p)]` with :math:`p = \\sigma(z)`, computed as
    :math:`\\log(1 + e^{z}) - y z` (no clipping needed)."""
    return float(np.mean(np.logaddexp(0.0, logits) - rewards * logits))


class CrossValidatedLogistic:
    """L2 logistic regression whose :math:`C` is chosen by cross-validated log-loss.

    On the rows it is fitted on, ``cv`` folds (stratified by reward, rows of one group together:
    :func:`assign_stratified_folds`) give every :math:`C` of ``Cs`` the mean held-out log-loss

    .. math:: \\mathrm{CV}(C) = \\frac1K \\sum_{f=1}^{K} \\frac{1}{|I_f|} \\sum_{i \\in I_f}
        -\\big[r_i \\log \\hat p^{(-f)}_C(x_i) + (1 - r_i) \\log(1 - \\hat p^{(-f)}_C(x_i))\\big],

    :math:`\\hat p^{(-f)}_C` fitted without fold :math:`f`; :math:`C^\\star = \\arg\\min_C \\mathrm{CV}(C)`
    (the smallest on ties) is refitted on all the rows. This is scikit-learn's
    ``LogisticRegressionCV(Cs=..., cv=..., scoring="neg_log_loss", refit=True)`` (fold scores
    averaged, best mean refitted), with folds that respect groups. Used inside a cross-fitting
    fold, the choice sees only that fold's training rows.

    Attributes after :meth:`fit`: ``C_`` (the chosen :math:`C`), ``cv_log_loss_`` (len(Cs),),
    ``coef_``, ``intercept_`` and ``fitted_`` (the refitted ``LogisticRegression``).

    References
    ----------
    Trevor Hastie, Robert Tibshirani and Jerome Friedman, "The Elements of Statistical
    Learning", 2nd ed., 2009, Sec. 7.10 (cross-validation for choosing a tuning parameter).
    """

    def __init__(self, Cs: Sequence[float] = DEFAULT_LOGISTIC_CV_GRID, cv: int = DEFAULT_LOGISTIC_CV_FOLDS,
                 seed: int = 0, max_iter: int = 10000) -> None:  # fmt: skip
        grid = sorted({float(c) for c in Cs})
        if not grid or not all(math.isfinite(c) and c > 0 for c in grid):
            raise ValueError(f"Cs must be positive finite numbers, got {tuple(Cs)!r}")
        if cv < 2:
            raise ValueError(f"cv must be >= 2 inner folds, got {cv}")
        self.Cs = tuple(grid)
        self.cv = int(cv)
        self.seed = int(seed)
        self.max_iter = int(max_iter)

    def _logistic(self, c: float) -> LogisticRegression:
        return LogisticRegression(C=c, max_iter=self.max_iter, random_state=self.seed)

    def fit(
        self, features: np.ndarray, rewards: np.ndarray, groups: np.ndarray | None = None
    ) -> CrossValidatedLogistic:
        """Choose ``C_`` on ``features`` (m, d) and binary ``rewards`` (m,), inner folds keeping the
        rows of a group (``groups`` (m,)) together, then refit with it."""
        rewards = np.asarray(rewards, dtype=np.float64)
        if not np.isin(rewards, (0.0, 1.0)).all():
            raise ValueError("reward_model 'logistic-cv' needs binary rewards")
        units = np.arange(rewards.shape[0]) if groups is None else np.asarray(groups)
        positive_units = np.unique(units[rewards > 0]).size
        negative_units = np.unique(units[rewards == 0]).size
        if min(positive_units, negative_units) < self.cv:
            raise ValueError(
                f"reward_model 'logistic-cv' needs at least cv = {self.cv} groups of each reward to "
                f"cross-validate C, got {positive_units} with reward 1 and {negative_units} with reward 0"
            )
        fold_of = assign_stratified_folds(rewards, self.cv, self.seed, groups)
        losses = np.empty((self.cv, len(self.Cs)))  # (inner fold, C)
        for fold in range(self.cv):
            train, test = fold_of != fold, fold_of == fold
            for j, c in enumerate(self.Cs):
                model = self._logistic(c).fit(features[train], rewards[train])
                losses[fold, j] = _logistic_log_loss(model.decision_function(features[test]), rewards[test])
        self.cv_log_loss_ = losses.mean(axis=0)
        self.C_ = self.Cs[int(np.argmin(self.cv_log_loss_))]
        self.fitted_ = self._logistic(self.C_).fit(features, rewards)
        self.coef_, self.intercept_ = self.fitted_.coef_, self.fitted_.intercept_
        return self

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        return self.fitted_.decision_function(features)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return self.fitted_.predict_proba(features)


def make_reward_model(
    name: RewardModelName,
    seed: int,
    binary: bool = True,
    cv_grid: Sequence[float] | None = None,
    cv_folds: int = DEFAULT_LOGISTIC_CV_FOLDS,
) -> Any:
    """A fresh, unfitted scikit-learn-style model: ``"logistic"`` (binary rewards only),
    ``"logistic-cv"`` (binary rewards only; :class:`CrossValidatedLogistic` over ``cv_grid``,
    default :data:`DEFAULT_LOGISTIC_CV_GRID`, with ``cv_folds`` inner folds) or ``"lightgbm"``
    (classifier for binary rewards, regressor otherwise)."""
    if name in ("logistic", "logistic-cv") and not binary:
        raise ValueError(f"reward_model {name!r} needs binary rewards; use 'lightgbm'")
    if name == "logistic":
        return LogisticRegression(random_state=seed, **LOGISTIC_SETTINGS)
    if name == "logistic-cv":
        grid = DEFAULT_LOGISTIC_CV_GRID if cv_grid is None else cv_grid
        return CrossValidatedLogistic(grid, cv_folds, seed, LOGISTIC_SETTINGS["max_iter"])
    if name == "lightgbm":
        import lightgbm

        settings = dict(LIGHTGBM_SETTINGS, random_state=seed, n_jobs=1, deterministic=True,
                        force_col_wise=True, verbose=-1)  # fmt: skip
        return lightgbm.LGBMClassifier(**settings) if binary else lightgbm.LGBMRegressor(**settings)
    raise ValueError(f"unknown reward model {name!r}; expected 'logistic', 'logistic-cv' or 'lightgbm'")


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


def _fit(factory: Callable[[], Any], features: np.ndarray, rewards: np.ndarray, groups: np.ndarray | None) -> Any:
    values = np.unique(rewards)
    if values.size < 2:
        return _ConstantModel(values[0] if values.size else 0.0)
    model = factory()
    if isinstance(model, CrossValidatedLogistic):
        model.fit(features, rewards, groups=groups)
    else:
        model.fit(features, rewards)
    return model


def _chosen_c(model: Any) -> float:
    """The :math:`C` a fitted logistic model used (chosen or fixed); NaN for any other model."""
    if isinstance(model, CrossValidatedLogistic):
        return float(model.C_)
    if isinstance(model, LogisticRegression):
        return float(model.C)
    return math.nan


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
    if isinstance(model, CrossValidatedLogistic):
        model = model.fitted_
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


@dataclass(frozen=True, eq=False)
class RewardModelCrossFit:
    """Cross-fitted predictions and the :math:`C` of every model behind them
    (:func:`cross_fit_reward_model`). One model per fold (``n_models`` = 1), or per fold and slot
    with ``position_handling="per-position"`` (``n_models`` = len_list)."""

    estimated_rewards: np.ndarray  # (n, n_actions, len_list)
    folds: np.ndarray  # (n,) fold id of every round
    fold_ids: np.ndarray  # (n_folds,) the distinct fold ids, the row order of chosen_c
    chosen_c: np.ndarray  # (n_folds, n_models) C of each fitted logistic model; NaN for other or constant models
    cv_log_loss: np.ndarray  # (n_folds, n_models, len(c_grid)) "logistic-cv"'s inner CV log-loss; NaN otherwise
    c_grid: tuple[float, ...]  # the C values "logistic-cv" compared; () for other models


def cross_fit_reward_model(
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
    groups: np.ndarray | None = None,
    cv_grid: Sequence[float] | None = None,
    cv_folds: int = DEFAULT_LOGISTIC_CV_FOLDS,
) -> RewardModelCrossFit:
    """``estimated_rewards_by_reg_model`` (n, n_actions, len_list) by K-fold cross-fitting, with
    the regularisation :math:`C` of every fitted model.

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
        ``"logistic"``, ``"logistic-cv"`` or ``"lightgbm"`` (:func:`make_reward_model`), or a
        zero-argument callable returning a fresh scikit-learn-style model (``fit``,
        ``predict_proba`` or ``predict``).
    position_handling
        ``"one-hot"``: one model with one-hot slot features; ``"per-position"``: one model per
        slot, fitted on the rounds logged at that slot.
    groups
        (n,) group of every round (e.g. the original row of a bootstrap resample): the inner
        folds of ``"logistic-cv"`` keep a group's rows together, so that no copy of a round
        scores a :math:`C` fitted on another copy. Unused by the other models.
    cv_grid, cv_folds
        The :math:`C` values and inner folds of ``"logistic-cv"`` (default
        :data:`DEFAULT_LOGISTIC_CV_GRID`, :data:`DEFAULT_LOGISTIC_CV_FOLDS`).

    Returns
    -------
    RewardModelCrossFit
        ``estimated_rewards``: :math:`\\hat q(x_i, a, k)` for every round, action and slot, row
        ``i`` predicted by a model that was not fitted on any round of ``i``'s fold; ``chosen_c``
        per fold (and slot).
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
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n_rounds,):
            raise ValueError(f"groups must have shape ({n_rounds},), got {groups.shape}")
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

    c_grid: tuple[float, ...] = ()
    if isinstance(model, str):
        binary = bool(np.isin(reward, (0.0, 1.0)).all())
        name = model
        factory: Callable[[], Any] = lambda: make_reward_model(name, seed, binary, cv_grid, cv_folds)  # noqa: E731
        probe = make_reward_model(name, seed, binary, cv_grid, cv_folds)  # fail early on a bad name or reward type
        if isinstance(probe, CrossValidatedLogistic):
            c_grid = probe.Cs
    else:
        factory = model

    n_models = len_list if per_position else 1
    chosen_c = np.full((fold_ids.size, n_models), math.nan)
    cv_log_loss = np.full((fold_ids.size, n_models, len(c_grid)), math.nan)
    estimated = np.empty((n_rounds, n_actions, len_list))  # (n, n_actions, len_list)
    all_slots = np.arange(len_list)
    for f, fold in enumerate(fold_ids):
        test = np.flatnonzero(fold_of == fold)
        train = np.flatnonzero(fold_of != fold)
        parts = [(slot, train[position[train] == slot]) for slot in all_slots] if per_position else [(0, train)]
        for m, (slot, rows) in enumerate(parts):
            fitted = _fit(factory, features.rows(rows, action[rows], position[rows]), reward[rows],
                          None if groups is None else groups[rows])  # fmt: skip
            chosen_c[f, m] = _chosen_c(fitted)
            if isinstance(fitted, CrossValidatedLogistic) and len(fitted.Cs) == len(c_grid):
                cv_log_loss[f, m] = fitted.cv_log_loss_
            if per_position:
                estimated[test, :, slot] = _predict_grid(
                    fitted, features, test, all_slots[slot : slot + 1], max_chunk_elements
                )[:, :, 0]
            else:
                estimated[test] = _predict_grid(fitted, features, test, all_slots, max_chunk_elements)
    return RewardModelCrossFit(estimated, fold_of, fold_ids, chosen_c, cv_log_loss, c_grid)


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
    groups: np.ndarray | None = None,
    cv_grid: Sequence[float] | None = None,
    cv_folds: int = DEFAULT_LOGISTIC_CV_FOLDS,
) -> np.ndarray:
    """``estimated_rewards_by_reg_model`` (n, n_actions, len_list) of
    :func:`cross_fit_reward_model` (same arguments), without the record of the fitted models."""
    return cross_fit_reward_model(
        context, action, position, reward, n_actions=n_actions, len_list=len_list,
        action_context=action_context, n_folds=n_folds, folds=folds, model=model, seed=seed,
        position_handling=position_handling, max_chunk_elements=max_chunk_elements, groups=groups,
        cv_grid=cv_grid, cv_folds=cv_folds,
    ).estimated_rewards  # fmt: skip
