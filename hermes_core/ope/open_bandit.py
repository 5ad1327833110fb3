"""OBP's two published off-policy-evaluation experiments on the Open Bandit Dataset.

Saito et al. (2021), "Open Bandit Dataset and Pipeline: Towards Realistic and Reproducible
Off-Policy Evaluation", NeurIPS Datasets track, Sec. 5: each behaviour policy's on-policy click
rate is the ground truth for evaluating it from the *other* policy's logs. On ``n_runs``
bootstrap resamples of the evaluation logs (OBP's ``sample_bootstrap_bandit_feedback``) every
estimator's relative estimation error :math:`|\\hat V - V| / V` is recorded
(:func:`relative_errors_over_bootstrap`), with the hyperparameter value SLOPE picks in each run
for every SLOPE-tuned estimator:

- experiment 1 (:func:`evaluate_random_from_bts`): the uniform random policy on the Bernoulli TS logs;
- experiment 2 (:func:`evaluate_bts_from_random`, the published table
  :data:`PUBLISHED_BTS_FROM_RANDOM_ALL`): Bernoulli TS on the uniform random logs, with the
  influence of its single largest IPW round term on the full sample (:func:`largest_row_influence`).

Every mean over the runs comes with its Monte-Carlo standard error :math:`s / \\sqrt{n_\\text{runs}}`
(:meth:`OpenBanditExperimentResult.summary`).

The logs are read by :mod:`hermes_core.data.readers.open_bandit` (which only reads); BTS's
action distribution comes from :mod:`hermes_core.ope.policies`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from hermes_core.data.readers.open_bandit import OpenBanditLogs, read_open_bandit_logs
from hermes_core.ope.base import OffPolicyEstimator
from hermes_core.ope.importance_weighting import InverseProbabilityWeighting
from hermes_core.ope.inputs import OpeInputs
from hermes_core.ope.policies import logged_action_share
from hermes_core.ope.registry import OBP_TUNING_GRID, make_estimators, relative_estimation_error
from hermes_core.ope.reward_model import (
    PositionHandling,
    RewardModelName,
    assign_folds,
    cross_fitted_reward_model,
)
from hermes_core.ope.tuning import SlopeTuned, hyperparameter_value

PUBLISHED_BTS_FROM_RANDOM_ALL: dict[str, tuple[float, float]] = {
    "dm": (0.156876, 0.109898),
    "ipw": (0.311082, 0.311170),
    "snipw": (0.311795, 0.334736),
    "dr": (0.292464, 0.315485),
    "sndr": (0.302407, 0.328434),
    "switch-dr": (0.258410, 0.160598),
    "dr-os": (0.159520, 0.109660),
}
"""Relative estimation error (mean, std over bootstrap runs) of each estimator when evaluating
Bernoulli TS from the uniform-random logs of the ``all`` campaign (small sample), as published."""

PUBLISHED_SOURCE = (
    "st-tech/zr-obp, examples/obd/README.md: python evaluate_off_policy_estimators.py "
    "--n_runs 30 --base_model logistic_regression --evaluation_policy bts --behavior_policy "
    "random --campaign all (random_state=12345). The README states that Switch-DR and DRos are "
    "tuned by SLOPE (OBP's example scripts give the grid {10, 50, 100, 500, 1000, 5000, 10000, "
    "inf}); the reward model is OBP's "
    "RegressionModel with 3-fold cross-fitting, and BTS's action distribution is the Monte "
    "Carlo frequency (1e6 draws) of Bernoulli TS with the ZOZOTOWN production prior "
    "(obp/policy/conf/prior_bts.yaml), the same for every round."
)


@dataclass(frozen=True)
class LargestRowInfluence:
    """The single round with the largest IPW term on one log (:func:`largest_row_influence`)."""

    row: int
    action: int
    position: int
    weight: float
    reward: float
    n_rounds: int
    estimate: float  # full-sample IPW estimate
    truth: float
    term_share: float  # largest term / sum of terms; NaN when no term is positive
    one_copy_shift: float  # IPW with one extra copy of the row minus the full-sample IPW
    one_copy_shift_over_truth: float  # |one_copy_shift| / truth

    def as_dict(self) -> dict[str, float | int]:
        """Plain numbers, for the diagnostics."""
        return {key: (int(value) if isinstance(value, (int, np.integer)) else float(value))
                for key, value in self.__dict__.items()}  # fmt: skip


def largest_row_influence(reward: np.ndarray, action: np.ndarray, position: np.ndarray, pscore: np.ndarray,
                          target_action_dist: np.ndarray, truth: float) -> LargestRowInfluence:
    """How much the single largest round term drives the (unclipped) IPW estimate on one log.

    With :math:`w_i = \\pi_e(a_i \\mid k_i) / \\pi_b(a_i \\mid x_i, k_i)` (``target_action_dist``
    (n_actions, len_list), context-free) and the round terms :math:`t_i = w_i r_i`, IPW is
    :math:`\\hat V = \\frac1n \\sum_i t_i`. For :math:`m = \\arg\\max_i t_i` (the first on ties):

    - share of the estimate: :math:`t_m / \\sum_i t_i` (NaN when every term is 0);
    - one extra copy of row :math:`m`: :math:`\\hat V^{+} = (\\sum_i t_i + t_m) / (n + 1)`, so
      :math:`\\Delta = \\hat V^{+} - \\hat V = (t_m - \\hat V) / (n + 1)`, reported relative to the
      truth as :math:`|\\Delta| / V`.
    """
    if truth <= 0:
        raise ValueError(f"truth must be positive, got {truth}")
    target = np.asarray(target_action_dist, dtype=np.float64)
    n = len(np.asarray(reward))
    # the stage's own IPW on validated inputs (OpeInputs names a bad array and row), so the terms are
    # exactly those the experiment's IPS averages
    inputs = OpeInputs.from_arrays(reward=reward, action=action, position=position, pscore=pscore,
                                   action_dist=np.broadcast_to(target, (n, *target.shape)))
    terms = InverseProbabilityWeighting().round_terms(inputs).round_rewards()
    reward, action, position = inputs.reward, inputs.action, inputs.position
    m = int(np.argmax(terms))
    weight = float(target[action[m], position[m]] / inputs.pscore[m])
    total = float(terms.sum())
    estimate = total / n
    shift = (float(terms[m]) - estimate) / (n + 1)
    return LargestRowInfluence(
        row=m, action=int(action[m]), position=int(position[m]), weight=weight, reward=float(reward[m]),
        n_rounds=int(n), estimate=estimate, truth=float(truth),
        term_share=float(terms[m]) / total if total > 0 else math.nan,
        one_copy_shift=shift, one_copy_shift_over_truth=abs(shift) / truth,
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class OpenBanditExperimentResult:
    """Relative estimation errors of several estimators over bootstrap resamples of one log, and
    the hyperparameter value SLOPE chose in each run for the SLOPE-tuned ones (``slope_choices``)."""

    experiment: str
    campaign: str
    evaluation_policy: str
    behavior_policy: str
    ground_truth: float
    estimates: dict[str, np.ndarray]  # name -> (n_runs,)
    relative_errors: dict[str, np.ndarray]  # name -> (n_runs,)
    reward_model: str
    n_folds: int
    seed: int
    slope_choices: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n_runs,) chosen value
    largest_row: LargestRowInfluence | None = None  # IPW's largest round term on the full log

    @property
    def n_runs(self) -> int:
        return len(next(iter(self.estimates.values())))

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and standard deviation (ddof 1, as OBP's ``DataFrame.describe``) of the relative
        estimation error, the Monte-Carlo standard error of that mean ``mc_se`` =
        :math:`s / \\sqrt{n_\\text{runs}}` (0 with one run), and the mean estimate, per estimator."""
        out = {}
        for name, errors in self.relative_errors.items():
            std = float(errors.std(ddof=1)) if errors.size > 1 else 0.0
            out[name] = {"mean": float(errors.mean()), "std": std, "mc_se": std / math.sqrt(errors.size),
                         "mean_estimate": float(self.estimates[name].mean())}  # fmt: skip
        return out

    def slope_choice_counts(self) -> dict[str, dict[str, int]]:
        """How often SLOPE chose each hyperparameter value, per SLOPE-tuned estimator:
        ``{name: {value printed with :g: number of runs}}``, values in increasing order."""
        counts: dict[str, dict[str, int]] = {}
        for name, values in self.slope_choices.items():
            distinct, n = np.unique(np.asarray(values, dtype=np.float64), return_counts=True)
            counts[name] = {f"{value:g}": int(count) for value, count in zip(distinct, n, strict=True)}
        return counts


def relative_errors_over_bootstrap(
    logs: OpenBanditLogs,
    target_action_dist: np.ndarray,
    ground_truth: float,
    *,
    n_runs: int = 30,
    seed: int = 12345,
    reward_model: RewardModelName = "logistic",
    n_folds: int = 3,
    position_handling: PositionHandling = "one-hot",
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Estimates, relative errors and SLOPE's choices (each name -> (n_runs,); the choices only
    for the :class:`~hermes_core.ope.tuning.SlopeTuned` estimators: the hyperparameter value
    selected in each run) of a context-free target policy
    (``target_action_dist`` (n_actions, len_list)) on ``n_runs`` bootstrap resamples of
    ``logs`` (OBP's ``sample_bootstrap_bandit_feedback``).

    On each resample the reward model is cross-fitted with folds assigned to the *original*
    rows, so the copies of one logged round never sit on both sides of a split. Run ``r`` draws
    from ``numpy.random.SeedSequence(seed).spawn(n_runs)[r]``.
    """
    if n_runs < 1:
        raise ValueError(f"n_runs must be >= 1, got {n_runs}")
    chosen = make_estimators(tuning_grid=OBP_TUNING_GRID) if estimators is None else estimators
    target = np.asarray(target_action_dist, dtype=np.float64)
    if target.shape != (logs.n_actions, logs.len_list):
        raise ValueError(
            f"target_action_dist must have shape {(logs.n_actions, logs.len_list)}, got {target.shape}"
        )
    n = logs.n_rounds
    estimates = {name: np.empty(n_runs) for name in chosen}
    choices = {name: np.empty(n_runs) for name, estimator in chosen.items() if isinstance(estimator, SlopeTuned)}
    for run, child in enumerate(np.random.SeedSequence(seed).spawn(n_runs)):
        rng = np.random.default_rng(child)
        rows = rng.integers(0, n, size=n)  # (n,) bootstrap resample of rounds
        run_seed = int(rng.integers(2**31 - 1))
        folds = assign_folds(n, n_folds, run_seed, groups=rows)
        estimated_rewards = cross_fitted_reward_model(
            logs.context[rows],
            logs.action[rows],
            logs.position[rows],
            logs.reward[rows],
            n_actions=logs.n_actions,
            len_list=logs.len_list,
            action_context=logs.action_context,
            folds=folds,
            model=reward_model,
            seed=run_seed,
            position_handling=position_handling,
        )
        inputs = OpeInputs.from_arrays(
            reward=logs.reward[rows],
            action=logs.action[rows],
            position=logs.position[rows],
            pscore=logs.pscore[rows],
            action_dist=np.broadcast_to(target, (n, *target.shape)),
            estimated_rewards_by_reg_model=estimated_rewards,
        )
        for name, estimator in chosen.items():
            if isinstance(estimator, SlopeTuned):
                selected, terms = estimator.choose(inputs)
                choices[name][run] = hyperparameter_value(selected)
            else:
                terms = estimator.round_terms(inputs)
            estimates[name][run] = terms.estimate()
    errors = {name: np.asarray(relative_estimation_error(v, ground_truth)) for name, v in estimates.items()}
    return estimates, errors, choices


def evaluate_random_from_bts(
    root: Path | str,
    campaign: Literal["all", "men", "women"] = "all",
    *,
    n_runs: int = 30,
    seed: int = 12345,
    reward_model: RewardModelName = "logistic",
    n_folds: int = 3,
    position_handling: PositionHandling = "one-hot",
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
    include_affinity: bool = False,
) -> OpenBanditExperimentResult:
    """Experiment 1: evaluate the uniform random policy (:math:`\\pi(a \\mid k) = 1/n_{items}`)
    on the Bernoulli TS logs; the truth is the click rate of the random logs (on-policy, OBP's
    ``calc_on_policy_policy_value_estimate``): 38 / 10,000 in the ``all`` sample."""
    bts = read_open_bandit_logs(root, "bts", campaign, include_affinity=include_affinity)
    random = read_open_bandit_logs(root, "random", campaign)
    truth = float(random.reward.mean())
    target = np.full((bts.n_actions, bts.len_list), 1.0 / bts.n_actions)
    estimates, errors, choices = relative_errors_over_bootstrap(
        bts, target, truth, n_runs=n_runs, seed=seed, reward_model=reward_model,
        n_folds=n_folds, position_handling=position_handling, estimators=estimators,
    )  # fmt: skip
    return OpenBanditExperimentResult(
        "random-from-bts", campaign, "random", "bts", truth, estimates, errors,
        reward_model, n_folds, seed, choices,
    )  # fmt: skip


def evaluate_bts_from_random(
    root: Path | str,
    campaign: Literal["all", "men", "women"] = "all",
    *,
    n_runs: int = 30,
    seed: int = 12345,
    reward_model: RewardModelName = "logistic",
    n_folds: int = 3,
    position_handling: PositionHandling = "one-hot",
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
    include_affinity: bool = False,
    bts_action_dist: np.ndarray | None = None,
) -> OpenBanditExperimentResult:
    """Experiment 2 (the published one, :data:`PUBLISHED_BTS_FROM_RANDOM_ALL`): evaluate
    Bernoulli TS on the uniform random logs; the truth is the click rate of the BTS logs
    (42 / 10,000 in the ``all`` sample).

    BTS's action distribution defaults to :func:`~hermes_core.ope.policies.logged_action_share` of its own logs;
    ``bts_action_dist`` (n_items, 3) overrides it, e.g. with :func:`~hermes_core.ope.policies.bernoulli_ts_action_dist`
    of OBP's production prior, which is what the published run used. ``largest_row`` is
    :func:`largest_row_influence` on the full random log.
    """
    random = read_open_bandit_logs(root, "random", campaign, include_affinity=include_affinity)
    bts = read_open_bandit_logs(root, "bts", campaign)
    truth = float(bts.reward.mean())
    target = (
        logged_action_share(bts.action, bts.position, bts.n_actions, bts.len_list)
        if bts_action_dist is None
        else np.asarray(bts_action_dist, dtype=np.float64)
    )
    estimates, errors, choices = relative_errors_over_bootstrap(
        random, target, truth, n_runs=n_runs, seed=seed, reward_model=reward_model,
        n_folds=n_folds, position_handling=position_handling, estimators=estimators,
    )  # fmt: skip
    largest = largest_row_influence(random.reward, random.action, random.position, random.pscore, target, truth)
    return OpenBanditExperimentResult(
        "bts-from-random", campaign, "bts", "random", truth, estimates, errors,
        reward_model, n_folds, seed, choices, largest,
    )  # fmt: skip
