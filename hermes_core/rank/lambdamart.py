r"""The tree baseline: LambdaMART, LightGBM's ``lambdarank`` objective, on the fine ranker's features and lists.

LambdaMART (Burges 2010, "From RankNet to LambdaRank to LambdaMART: An Overview", MSR-TR-2010-82)
boosts regression trees on the lambda gradients
:math:`\lambda_{ij} = -\sigma / (1 + e^{\sigma (s_i - s_j)}) \, |\Delta \mathrm{NDCG}_{ij}|` of
every pair of a list with different labels (LightGBM truncates to pairs touching the top
``truncation_level`` positions). Gains are LightGBM's default ``label_gain`` :math:`2^{g} - 1`, the
gains of this stage's NDCG. Boosting stops when the validation lists' NDCG@10 has not improved for
``early_stopping_rounds`` rounds; the chosen round count is reported (a choice at
``n_estimators`` means the cap, not the data, decided). Deterministic given the seed
(``deterministic=True``, ``force_row_wise``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from hermes_core.rank.lists import RankingLists, masked_scores
from hermes_core.rank.params import LightgbmParams


@dataclass
class TrainedLambdaMart:
    """The fitted booster, its best iteration and the validation NDCG@10 per round."""

    booster: lgb.Booster
    best_iteration: int
    validation_curve: list[float]
    seconds: float
    lists_per_second: float

    def score(self, lists: RankingLists) -> np.ndarray:
        """``(n, L)`` scores, ``-inf`` at padding."""
        flat = lists.features.reshape(-1, lists.n_features)
        scores = self.booster.predict(flat, num_iteration=self.best_iteration).reshape(lists.mask.shape)
        return masked_scores(scores, lists.mask)


def train_lambdamart(train: RankingLists, validation: RankingLists, params: LightgbmParams, seed: int,
                     n_threads: int = 0, objective: str = "lambdarank") -> TrainedLambdaMart:
    """Fit LightGBM ``lambdarank`` on ``train`` with early stopping on ``validation``'s NDCG@10.

    ``objective="regression"`` fits the same trees to the grades by least squares instead (a
    pointwise objective with everything else equal: the diagnosis's model-versus-objective split)."""
    if objective not in ("lambdarank", "regression"):
        raise ValueError(f"objective must be 'lambdarank' or 'regression', got {objective!r}")
    x_train, y_train, group_train = train.flat()
    x_valid, y_valid, group_valid = validation.flat()
    max_label = int(max(y_train.max(), y_valid.max()))
    config = {
        "objective": objective, "metric": "ndcg", "eval_at": [10], "num_leaves": params.num_leaves,
        "learning_rate": params.learning_rate, "min_data_in_leaf": params.min_data_in_leaf,
        "feature_fraction": params.feature_fraction, "bagging_fraction": params.bagging_fraction, "bagging_freq": 1,
        "lambdarank_truncation_level": params.truncation_level, "label_gain": [2.0**g - 1.0 for g in range(max_label + 1)],
        "seed": seed, "deterministic": True, "force_row_wise": True, "num_threads": n_threads, "verbosity": -1,
    }  # fmt: skip
    train_set = lgb.Dataset(x_train, y_train.astype(int), group=group_train)
    valid_set = lgb.Dataset(x_valid, y_valid.astype(int), group=group_valid, reference=train_set)
    record: dict = {}
    started = time.perf_counter()
    booster = lgb.train(config, train_set, num_boost_round=params.n_estimators, valid_sets=[valid_set],
                        valid_names=["validation"],
                        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False),
                                   lgb.record_evaluation(record)])  # fmt: skip
    seconds = time.perf_counter() - started
    rounds = booster.current_iteration()
    return TrainedLambdaMart(booster, int(booster.best_iteration or rounds), list(record["validation"]["ndcg@10"]),
                             seconds, len(train) * rounds / seconds if seconds > 0 else float("nan"))  # fmt: skip


__all__ = ["TrainedLambdaMart", "train_lambdamart"]
