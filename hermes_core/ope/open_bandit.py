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

Two protocols (``protocol``):

- ``"hermes"`` (default): run ``r`` resamples with ``SeedSequence(seed).spawn(n_runs)[r]``, the
  reward model is cross-fitted with folds of the *original* rows (copies of a round stay
  together), item features one-hot, BTS's target its logged action share;
- ``"obp"``: OBP 0.5's example detail for detail (:mod:`hermes_core.ope.obp_protocol`):
  resample ``b`` from ``RandomState(b)``, KFold over the resampled rows, one logistic model per
  position on label-encoded item features, BTS simulated from the production prior with
  ``RandomState(seed)``, OBP's seven estimators (SLOPE-tuned Switch-DR and DRos named
  ``switch-dr`` and ``dr-os``), to reproduce :data:`PUBLISHED_BTS_FROM_RANDOM_ALL`.

The logs are read by :mod:`hermes_core.data.readers.open_bandit` (which only reads); BTS's
action distribution comes from :mod:`hermes_core.ope.policies`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from hermes_core.data.readers.open_bandit import PRIOR_FILE, OpenBanditLogs, read_open_bandit_logs
from hermes_core.ope.base import OffPolicyEstimator
from hermes_core.ope.importance_weighting import InverseProbabilityWeighting
from hermes_core.ope.inputs import OpeInputs
from hermes_core.ope.obp_protocol import OBP_N_SIM, obp_bts_action_dist, obp_example_estimators, obp_resampled_inputs
from hermes_core.ope.policies import logged_action_share
from hermes_core.ope.registry import OBP_TUNING_GRID, make_estimators, relative_estimation_error
from hermes_core.ope.reward_model import (
    DEFAULT_LOGISTIC_CV_FOLDS,
    PositionHandling,
    RewardModelName,
    assign_folds,
    cross_fitted_reward_model,
)
from hermes_core.ope.tuning import SlopeTuned, hyperparameter_value

Protocol = Literal["hermes", "obp"]
"""How the bootstrap runs are drawn and the reward model fitted (see the module docstring)."""

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
Bernoulli TS from the uniform-random logs of the ``all`` campaign (small sample), as published.
``protocol="obp"`` reproduces IPW and SNIPW to all six decimals and the others within a fraction
of their Monte-Carlo standard error (``tests/ope/test_obp_parity.py``)."""

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
    protocol: str = "hermes"  # "hermes" or "obp" (see the module docstring)

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


def _checked_protocol(protocol: str, reward_model: str, position_handling: PositionHandling | None,
                      include_affinity: bool = False) -> PositionHandling:  # fmt: skip
    """The position handling a protocol runs with; ``ValueError`` for settings the OBP protocol
    cannot honour (it fits OBP's logistic model per position on OBP's features)."""
    if protocol == "hermes":
        return "one-hot" if position_handling is None else position_handling
    if protocol != "obp":
        raise ValueError(f"protocol must be 'hermes' or 'obp', got {protocol!r}")
    if reward_model != "logistic":
        raise ValueError(f"protocol 'obp' reproduces OBP's logistic_regression base model: reward_model must be "
                         f"'logistic', got {reward_model!r}")  # fmt: skip
    if position_handling not in (None, "per-position"):
        raise ValueError(f"protocol 'obp' fits one model per position as OBP's RegressionModel: position_handling "
                         f"must be None or 'per-position', got {position_handling!r}")  # fmt: skip
    if include_affinity:
        raise ValueError("protocol 'obp' uses OBP's features, which leave out the user-item affinities: "
                         "include_affinity must be False")  # fmt: skip
    return "per-position"


def _hermes_resampled_inputs(
    logs: OpenBanditLogs, target: np.ndarray, *, n_runs: int, seed: int, reward_model: RewardModelName,
    n_folds: int, position_handling: PositionHandling, cv_grid: Sequence[float] | None, cv_folds: int,
) -> Iterator[OpeInputs]:  # fmt: skip
    """Hermes's runs: resample ``r`` from ``SeedSequence(seed).spawn(n_runs)[r]``, folds of the
    original rows (copies of a round share a fold, and the inner folds of ``"logistic-cv"``)."""
    n = logs.n_rounds
    for child in np.random.SeedSequence(seed).spawn(n_runs):
        rng = np.random.default_rng(child)
        rows = rng.integers(0, n, size=n)  # (n,) bootstrap resample of rounds
        run_seed = int(rng.integers(2**31 - 1))
        folds = assign_folds(n, n_folds, run_seed, groups=rows)
        estimated_rewards = cross_fitted_reward_model(
            logs.context[rows], logs.action[rows], logs.position[rows], logs.reward[rows],
            n_actions=logs.n_actions, len_list=logs.len_list, action_context=logs.action_context, folds=folds,
            model=reward_model, seed=run_seed, position_handling=position_handling, groups=rows, cv_grid=cv_grid,
            cv_folds=cv_folds,
        )  # fmt: skip
        yield OpeInputs.from_arrays(
            reward=logs.reward[rows], action=logs.action[rows], position=logs.position[rows], pscore=logs.pscore[rows],
            action_dist=np.broadcast_to(target, (n, *target.shape)), estimated_rewards_by_reg_model=estimated_rewards,
        )  # fmt: skip


def relative_errors_over_bootstrap(
    logs: OpenBanditLogs,
    target_action_dist: np.ndarray,
    ground_truth: float,
    *,
    n_runs: int = 30,
    seed: int = 12345,
    reward_model: RewardModelName = "logistic",
    n_folds: int = 3,
    position_handling: PositionHandling | None = None,
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
    protocol: Protocol = "hermes",
    cv_grid: Sequence[float] | None = None,
    cv_folds: int = DEFAULT_LOGISTIC_CV_FOLDS,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Estimates, relative errors and SLOPE's choices (each name -> (n_runs,); the choices only
    for the :class:`~hermes_core.ope.tuning.SlopeTuned` estimators: the hyperparameter value
    selected in each run) of a context-free target policy
    (``target_action_dist`` (n_actions, len_list)) on ``n_runs`` bootstrap resamples of
    ``logs`` (OBP's ``sample_bootstrap_bandit_feedback``).

    ``protocol="hermes"``: run ``r`` draws from ``numpy.random.SeedSequence(seed).spawn(n_runs)[r]``;
    the reward model is cross-fitted with folds assigned to the *original* rows, so the copies of
    one logged round never sit on both sides of a split; ``position_handling`` ``None`` means
    ``"one-hot"``; default estimators :func:`~hermes_core.ope.registry.make_estimators` with
    :data:`~hermes_core.ope.registry.OBP_TUNING_GRID`; ``cv_grid`` and ``cv_folds`` are the
    :math:`C` values and inner folds of ``reward_model="logistic-cv"``.

    ``protocol="obp"``: OBP's example (:func:`~hermes_core.ope.obp_protocol.obp_resampled_inputs`):
    run ``b`` resamples with ``RandomState(b)``, ``seed`` is OBP's ``random_state`` (the KFold
    shuffle), ``reward_model`` must be ``"logistic"`` and ``position_handling`` ``None`` or
    ``"per-position"``; default estimators
    :func:`~hermes_core.ope.obp_protocol.obp_example_estimators`. Read ``logs`` with
    ``item_context_encoding="label"`` for OBP's item features.
    """
    if n_runs < 1:
        raise ValueError(f"n_runs must be >= 1, got {n_runs}")
    handling = _checked_protocol(protocol, reward_model, position_handling)
    if estimators is not None:
        chosen = estimators
    else:
        chosen = obp_example_estimators() if protocol == "obp" else make_estimators(tuning_grid=OBP_TUNING_GRID)
    target = np.asarray(target_action_dist, dtype=np.float64)
    if target.shape != (logs.n_actions, logs.len_list):
        raise ValueError(
            f"target_action_dist must have shape {(logs.n_actions, logs.len_list)}, got {target.shape}"
        )
    runs: Iterator[OpeInputs] = (
        (obp_resampled_inputs(logs, target, run, random_state=seed, n_folds=n_folds) for run in range(n_runs))
        if protocol == "obp"
        else _hermes_resampled_inputs(logs, target, n_runs=n_runs, seed=seed, reward_model=reward_model,
                                      n_folds=n_folds, position_handling=handling, cv_grid=cv_grid,
                                      cv_folds=cv_folds)  # fmt: skip
    )
    estimates = {name: np.empty(n_runs) for name in chosen}
    choices = {name: np.empty(n_runs) for name, estimator in chosen.items() if isinstance(estimator, SlopeTuned)}
    for run, inputs in enumerate(runs):
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
    position_handling: PositionHandling | None = None,
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
    include_affinity: bool = False,
    protocol: Protocol = "hermes",
    cv_grid: Sequence[float] | None = None,
    cv_folds: int = DEFAULT_LOGISTIC_CV_FOLDS,
) -> OpenBanditExperimentResult:
    """Experiment 1: evaluate the uniform random policy (:math:`\\pi(a \\mid k) = 1/n_{items}`)
    on the Bernoulli TS logs; the truth is the click rate of the random logs (on-policy, OBP's
    ``calc_on_policy_policy_value_estimate``): 38 / 10,000 in the ``all`` sample.
    ``protocol``, ``cv_grid``, ``cv_folds``: see :func:`relative_errors_over_bootstrap` (``"obp"``
    reads OBP's label-encoded item features)."""
    _checked_protocol(protocol, reward_model, position_handling, include_affinity)
    encoding = "label" if protocol == "obp" else "one-hot"
    bts = read_open_bandit_logs(root, "bts", campaign, include_affinity=include_affinity,
                                item_context_encoding=encoding)  # fmt: skip
    random = read_open_bandit_logs(root, "random", campaign)
    truth = float(random.reward.mean())
    target = np.full((bts.n_actions, bts.len_list), 1.0 / bts.n_actions)
    estimates, errors, choices = relative_errors_over_bootstrap(
        bts, target, truth, n_runs=n_runs, seed=seed, reward_model=reward_model,
        n_folds=n_folds, position_handling=position_handling, estimators=estimators, protocol=protocol,
        cv_grid=cv_grid, cv_folds=cv_folds,
    )  # fmt: skip
    return OpenBanditExperimentResult(
        "random-from-bts", campaign, "random", "bts", truth, estimates, errors,
        reward_model, n_folds, seed, choices, protocol=protocol,
    )  # fmt: skip


def evaluate_bts_from_random(
    root: Path | str,
    campaign: Literal["all", "men", "women"] = "all",
    *,
    n_runs: int = 30,
    seed: int = 12345,
    reward_model: RewardModelName = "logistic",
    n_folds: int = 3,
    position_handling: PositionHandling | None = None,
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
    include_affinity: bool = False,
    bts_action_dist: np.ndarray | None = None,
    protocol: Protocol = "hermes",
    bts_prior: Path | str | None = None,
    n_sim_bts: int = OBP_N_SIM,
    cv_grid: Sequence[float] | None = None,
    cv_folds: int = DEFAULT_LOGISTIC_CV_FOLDS,
) -> OpenBanditExperimentResult:
    """Experiment 2 (the published one, :data:`PUBLISHED_BTS_FROM_RANDOM_ALL`): evaluate
    Bernoulli TS on the uniform random logs; the truth is the click rate of the BTS logs
    (42 / 10,000 in the ``all`` sample).

    BTS's action distribution (n_items, 3): ``bts_action_dist`` when given; otherwise, with
    ``protocol="hermes"``, :func:`~hermes_core.ope.policies.logged_action_share` of its own logs,
    and with ``protocol="obp"`` OBP's simulation of the production prior
    (:func:`~hermes_core.ope.obp_protocol.obp_bts_action_dist`: ``bts_prior``, default
    ``<root>/prior_bts.yaml``, ``n_sim_bts`` draws from ``RandomState(seed)``), which is what
    the published run used. ``protocol``, ``cv_grid``, ``cv_folds``: see
    :func:`relative_errors_over_bootstrap`.
    ``largest_row`` is :func:`largest_row_influence` on the full random log.
    """
    _checked_protocol(protocol, reward_model, position_handling, include_affinity)
    encoding = "label" if protocol == "obp" else "one-hot"
    random = read_open_bandit_logs(root, "random", campaign, include_affinity=include_affinity,
                                   item_context_encoding=encoding)  # fmt: skip
    bts = read_open_bandit_logs(root, "bts", campaign)
    truth = float(bts.reward.mean())
    if bts_action_dist is not None:
        target = np.asarray(bts_action_dist, dtype=np.float64)
    elif protocol == "obp":
        prior = Path(root) / PRIOR_FILE if bts_prior is None else bts_prior
        target = obp_bts_action_dist(prior, campaign, random.n_actions, random.len_list, n_sim_bts, seed)
    else:
        target = logged_action_share(bts.action, bts.position, bts.n_actions, bts.len_list)
    estimates, errors, choices = relative_errors_over_bootstrap(
        random, target, truth, n_runs=n_runs, seed=seed, reward_model=reward_model,
        n_folds=n_folds, position_handling=position_handling, estimators=estimators, protocol=protocol,
        cv_grid=cv_grid, cv_folds=cv_folds,
    )  # fmt: skip
    largest = largest_row_influence(random.reward, random.action, random.position, random.pscore, target, truth)
    return OpenBanditExperimentResult(
        "bts-from-random", campaign, "bts", "random", truth, estimates, errors,
        reward_model, n_folds, seed, choices, largest, protocol,
    )  # fmt: skip
