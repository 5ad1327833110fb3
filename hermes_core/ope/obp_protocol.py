"""OBP 0.5's Open Bandit example, detail for detail: ``protocol="obp"`` of
:mod:`hermes_core.ope.open_bandit`.

The published table (:data:`~hermes_core.ope.open_bandit.PUBLISHED_BTS_FROM_RANDOM_ALL`) comes
from ``examples/obd/evaluate_off_policy_estimators.py`` of st-tech/zr-obp with
``--n_runs 30 --base_model logistic_regression --evaluation_policy bts --behavior_policy random
--campaign all`` (``random_state`` 12345). What that run does, and where here:

- the logs (``obp/dataset/real.py``, ``OpenBanditDataset``): rows sorted by ``timestamp``, no
  split (``is_timeseries_split=False``); context = ``pd.get_dummies(user_feature_*,
  drop_first=True)``; ``action_context`` = label-encoded ``item_feature_1..3`` then
  ``item_feature_0``, ``item_id`` dropped (OBP 0.5;
  :func:`~hermes_core.data.readers.open_bandit.read_open_bandit_logs` with
  ``item_context_encoding="label"``); the truth is the evaluation policy's own mean click
  (``calc_on_policy_policy_value_estimate``, full log);
- run ``b`` (0 .. n_runs - 1) resamples the rounds with
  ``check_random_state(b).choice(np.arange(n), size=n, replace=True)``
  (``sample_bootstrap_bandit_feedback(random_state=b)``): :func:`obp_bootstrap_rows`;
- Bernoulli TS's action distribution: ``BernoulliTS(n_actions, len_list, random_state=12345,
  is_zozotown_prior=True, campaign=...).compute_batch_action_dist(n_sim=1e6)``, the same for
  every round and run: :func:`obp_bts_action_dist`;
- the reward model (``obp/ope/regression_model.py``, ``RegressionModel`` with
  ``LogisticRegression(C=100, max_iter=10000, random_state=12345)`` from
  ``examples/obd/conf/hyperparams.yaml``): features ``np.c_[context, action_context[action]]``
  (no slot feature), one model per position fitted on that position's training rows, and
  ``fit_predict(n_folds=3, random_state=12345)`` cross-fits over
  ``KFold(3, shuffle=True, random_state=12345)`` of the *resampled* rows, so copies of one
  round may sit on both sides of a split: :func:`obp_fold_ids`, :func:`obp_resampled_inputs`;
- the estimators (:func:`obp_example_estimators`): DM, IPW, SNIPW, DR, SNDR, and Switch-DR and
  DRos tuned by SLOPE (OBP's ``*Tuning`` classes, ``tuning_method="slope"``, ``delta`` 0.05) on
  :data:`~hermes_core.ope.registry.OBP_TUNING_GRID`, under the names OBP prints;
- the table: mean and standard deviation (``DataFrame.describe``, ddof 1) of
  :math:`|\\hat V - V| / V` over the runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from sklearn.model_selection import KFold

from hermes_core.data.readers.open_bandit import OpenBanditLogs, read_bts_prior
from hermes_core.ope.base import OffPolicyEstimator
from hermes_core.ope.direct import DirectMethod
from hermes_core.ope.doubly_robust import (
    DoublyRobust,
    DoublyRobustWithShrinkage,
    SelfNormalizedDoublyRobust,
    SwitchDoublyRobust,
)
from hermes_core.ope.importance_weighting import (
    InverseProbabilityWeighting,
    SelfNormalizedInverseProbabilityWeighting,
)
from hermes_core.ope.inputs import OpeInputs
from hermes_core.ope.policies import obp_bernoulli_ts_action_dist
from hermes_core.ope.registry import OBP_TUNING_GRID
from hermes_core.ope.reward_model import cross_fitted_reward_model
from hermes_core.ope.tuning import SlopeTuned

OBP_RANDOM_STATE = 12345
"""``--random_state`` of OBP's example (its default): BTS's simulation and the cross-fitting folds."""

OBP_N_SIM = 1_000_000
"""``--n_sim_to_compute_action_dist`` of OBP's example (its default)."""


def obp_bootstrap_rows(n_rounds: int, run: int) -> np.ndarray:
    """Rows (n,) of OBP's bootstrap resample number ``run``:
    ``np.random.RandomState(run).choice(np.arange(n_rounds), size=n_rounds, replace=True)``
    (``OpenBanditDataset.sample_bootstrap_bandit_feedback(random_state=run)``)."""
    if n_rounds < 1 or run < 0:
        raise ValueError(f"n_rounds must be >= 1 and run >= 0, got {n_rounds} and {run}")
    return np.random.RandomState(run).choice(np.arange(n_rounds), size=n_rounds, replace=True)


def obp_fold_ids(n_rounds: int, n_folds: int, random_state: int) -> np.ndarray:
    """Fold id (n,) of every row in OBP's cross-fitting, ``RegressionModel.fit_predict(n_folds,
    random_state)``: the test folds of ``KFold(n_folds, shuffle=True, random_state)``, i.e. the
    rows shuffled by ``RandomState(random_state)`` and cut into consecutive folds, the first
    ``n mod n_folds`` one row larger."""
    fold_of = np.empty(n_rounds, dtype=np.int64)
    splitter = KFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    for fold, (_, test) in enumerate(splitter.split(np.empty((n_rounds, 1)))):
        fold_of[test] = fold
    return fold_of


def obp_example_estimators(
    grid: tuple[float, ...] = OBP_TUNING_GRID, delta: float = 0.05
) -> dict[str, OffPolicyEstimator]:
    """The seven estimators of OBP's example under OBP's names: ``dm``, ``ipw``, ``snipw``,
    ``dr``, ``sndr`` with their defaults (no clipping), and ``switch-dr`` / ``dr-os``:
    Switch-DR's :math:`\\tau` and DRos's :math:`\\lambda` chosen by SLOPE on ``grid``
    (``SwitchDoublyRobustTuning(lambdas=grid)``, ``DoublyRobustWithShrinkageTuning(lambdas=grid)``,
    whose ``tuning_method`` defaults to ``"slope"``, ``delta`` to 0.05)."""
    return {
        "dm": DirectMethod(),
        "ipw": InverseProbabilityWeighting(),
        "snipw": SelfNormalizedInverseProbabilityWeighting(),
        "dr": DoublyRobust(),
        "sndr": SelfNormalizedDoublyRobust(),
        "switch-dr": SlopeTuned(candidates=tuple(SwitchDoublyRobust(tau=value) for value in grid),
                                delta=delta, label="switch-dr"),  # fmt: skip
        "dr-os": SlopeTuned(candidates=tuple(DoublyRobustWithShrinkage(shrinkage_lambda=value) for value in grid),
                            delta=delta, label="dr-os"),  # fmt: skip
    }


def obp_bts_action_dist(
    prior_path: Path | str,
    campaign: Literal["all", "men", "women"],
    n_actions: int,
    len_list: int = 3,
    n_sim: int = OBP_N_SIM,
    random_state: int = OBP_RANDOM_STATE,
) -> np.ndarray:
    """Bernoulli TS's action distribution (n_actions, len_list) as OBP's example computes it:
    the production prior of ``campaign`` read from ``prior_path`` (OBP's ``prior_bts.yaml``)
    simulated ``n_sim`` times by :func:`~hermes_core.ope.policies.obp_bernoulli_ts_action_dist`
    with ``random_state``."""
    alpha, beta = read_bts_prior(prior_path, campaign)
    if alpha.size != n_actions:
        raise ValueError(f"{prior_path}: the {campaign!r} prior has {alpha.size} items, the logs {n_actions}")
    return obp_bernoulli_ts_action_dist(alpha, beta, len_list, n_sim, random_state)


def obp_resampled_inputs(
    logs: OpenBanditLogs,
    target_action_dist: np.ndarray,
    run: int,
    *,
    random_state: int = OBP_RANDOM_STATE,
    n_folds: int = 3,
) -> OpeInputs:
    """OBP's run ``run`` on ``logs`` as validated inputs: the resample :func:`obp_bootstrap_rows`,
    the context-free target (n_actions, len_list) for every round, and OBP's cross-fitted reward
    model: logistic regression (:math:`C = 100`) per position on
    ``[context, action_context[action]]``, over the folds :func:`obp_fold_ids` of the resampled
    rows. Read ``logs`` with ``item_context_encoding="label"`` to give the model OBP's features."""
    n = logs.n_rounds
    rows = obp_bootstrap_rows(n, run)
    estimated_rewards = cross_fitted_reward_model(
        logs.context[rows], logs.action[rows], logs.position[rows], logs.reward[rows],
        n_actions=logs.n_actions, len_list=logs.len_list, action_context=logs.action_context,
        folds=obp_fold_ids(n, n_folds, random_state), model="logistic", seed=random_state,
        position_handling="per-position",
    )  # fmt: skip
    target = np.asarray(target_action_dist, dtype=np.float64)
    return OpeInputs.from_arrays(
        reward=logs.reward[rows], action=logs.action[rows], position=logs.position[rows], pscore=logs.pscore[rows],
        action_dist=np.broadcast_to(target, (n, *target.shape)), estimated_rewards_by_reg_model=estimated_rewards,
    )  # fmt: skip
