"""Off-policy evaluation on the synthetic world, where every policy's true value is known.

Protocol of the *world study* (:func:`run_world_study`):

1. draw ``n_resamples`` fresh logs of the same world (same users, items and preferences, new
   sessions, slates and clicks; :func:`hermes_core.world.policies.resimulate`), each of
   ``n_requests`` requests, seeded from ``ope.seed``;
2. on each log, the position-wise feedback of OBP's convention (one round per (request, slot);
   the logged propensity is the logging policy's exact Plackett-Luce marginal) and a reward
   model :math:`\\hat q(x, a, k)` cross-fitted with ``n_folds`` folds *by request*, so that the
   slots of one request share a fold (:func:`fit_world_log`);
3. every estimator on every target policy, with an interval at ``ci_level`` whose resampling
   unit is the request (:func:`~hermes_core.ope.intervals.cluster_terms`: the slots of one
   request share a context and a jointly drawn slate);
4. the truth of that log, :math:`V = \\frac{1}{nK}\\sum_r\\sum_k\\sum_a \\pi(a \\mid r, k)\\,
   q(r, a, k)` with the world's true click probabilities
   (:func:`hermes_core.world.policies.true_value`).

Across resamples (:func:`summarise_estimates`): the mean relative estimation error
:math:`|\\hat V - V| / V` (Saito et al., 2021, Sec. 5.2), the bias
:math:`\\overline{\\hat V - V}`, the standard deviation (ddof 1) of :math:`\\hat V - V`, and the
coverage, the share of resamples whose interval contains :math:`V`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd

from hermes_core.ope.base import OffPolicyEstimator, interval_scope
from hermes_core.ope.calibration import CalibrationReport, reward_model_calibration
from hermes_core.ope.importance_weighting import InverseProbabilityWeighting
from hermes_core.ope.inputs import OpeInputs
from hermes_core.ope.intervals import bootstrap_intervals, cluster_terms, normal_interval
from hermes_core.ope.params import OpeParams
from hermes_core.ope.registry import configured_estimators, round_terms_of_all
from hermes_core.ope.reward_model import (
    DEFAULT_MAX_CHUNK_ELEMENTS,
    PositionHandling,
    RewardModelCrossFit,
    RewardModelName,
    assign_folds,
    cross_fit_reward_model,
)
from hermes_core.world.policies import (
    SlateFeedback,
    policy_divergence,
    resimulate,
    slate_feedback,
    standard_targets,
    true_value,
)
from hermes_core.world.simulate import Logs
from hermes_core.world.world import World


def resample_seeds(seed: int, n_resamples: int) -> list[int]:
    """``n_resamples`` seeds (uint32) derived from ``seed``: resample ``r`` always gets the same
    one, whatever ``n_resamples`` is."""
    return [int(value) for value in np.random.SeedSequence(seed).generate_state(n_resamples)]


@dataclass(frozen=True, eq=False)
class WorldLog:
    """One world log as OPE inputs: its feedback, fold of every round, the cross-fitted reward
    model and the record of its fit (the :math:`C` each fold's model used)."""

    logs: Logs
    feedback: SlateFeedback
    folds: np.ndarray  # (n_rounds,) fold of each round; the slots of a request share it
    estimated_rewards: np.ndarray  # (n_rounds, C, K) cross-fitted q-hat(x_i, a, k)
    reward_fit: RewardModelCrossFit | None = None

    @property
    def n_requests(self) -> int:
        return int(self.logs.slate.shape[0])

    def inputs(self, action_dist: np.ndarray) -> OpeInputs:
        """Validated inputs for a target given per request, ``action_dist`` (n_requests, C, K)."""
        feedback = self.feedback
        return OpeInputs.from_arrays(
            reward=feedback.reward,
            action=feedback.action,
            position=feedback.position,
            pscore=feedback.pscore,
            action_dist=feedback.expand(action_dist),
            estimated_rewards_by_reg_model=self.estimated_rewards,
        )

    def calibration(self, n_bins: int = 10) -> CalibrationReport:
        """Calibration of the cross-fitted reward model at the logged (round, slot, position)
        (:func:`~hermes_core.ope.calibration.reward_model_calibration`)."""
        feedback = self.feedback
        return reward_model_calibration(self.estimated_rewards, feedback.action, feedback.position, feedback.reward,
                                        n_bins)  # fmt: skip


def fit_world_log(
    world: World,
    logs: Logs,
    *,
    n_folds: int,
    seed: int,
    reward_model: RewardModelName = "logistic",
    position_handling: PositionHandling = "one-hot",
    max_chunk_elements: int = DEFAULT_MAX_CHUNK_ELEMENTS,
    cv_grid: Sequence[float] | None = None,
    cv_folds: int = 3,
) -> WorldLog:
    """Feedback of ``logs`` and its reward model, cross-fitted with folds by request
    (``"logistic-cv"`` picks its :math:`C` from ``cv_grid`` by inner cross-validated log-loss,
    folds by request too).

    The reward model sees only what a recommender could observe
    (:func:`hermes_core.world.policies.request_features`): the user's region and age, the
    session step, each candidate's dense features and domain, and its similarity to the
    session's last click; never the true relevance.
    """
    feedback = slate_feedback(world, logs)
    folds = assign_folds(feedback.reward.shape[0], n_folds, seed, groups=feedback.request)
    fit = cross_fit_reward_model(
        feedback.context,
        feedback.action,
        feedback.position,
        feedback.reward,
        n_actions=feedback.n_actions,
        len_list=feedback.len_list,
        action_context=feedback.action_context,
        folds=folds,
        model=reward_model,
        seed=seed,
        position_handling=position_handling,
        max_chunk_elements=max_chunk_elements,
        groups=feedback.request,
        cv_grid=cv_grid,
        cv_folds=cv_folds,
    )
    return WorldLog(logs, feedback, folds, fit.estimated_rewards, fit)


def fit_configured_world_log(world: World, logs: Logs, params: OpeParams, seed: int) -> WorldLog:
    """:func:`fit_world_log` with the ``ope.estimators`` reward-model settings."""
    estimators = params.estimators
    return fit_world_log(world, logs, n_folds=estimators.n_folds, seed=seed, reward_model=estimators.reward_model,
                         position_handling=estimators.position_handling,
                         max_chunk_elements=estimators.max_chunk_elements, cv_grid=estimators.reward_model_cv_grid,
                         cv_folds=estimators.reward_model_cv_folds)  # fmt: skip


def world_estimators(params: OpeParams) -> dict[str, OffPolicyEstimator]:
    """The stage's estimators (:func:`~hermes_core.ope.registry.configured_estimators` of
    ``ope.estimators``), plus ``ipw-clip@<lambda>`` for every ``ope.world.ipw_clip_sweep`` threshold."""
    estimators = configured_estimators(params.estimators)
    for clip in params.world.ipw_clip_sweep:
        estimators[f"ipw-clip@{clip:g}"] = InverseProbabilityWeighting(clip_lambda=clip)
    return estimators


def world_targets(world: World, logs: Logs, names: Sequence[str], params: OpeParams) -> dict[str, np.ndarray]:
    """Target policies ``names`` (a subset of ``params.world.target_names``) on ``logs``, as
    per-request marginals (n_requests, C, K)."""
    unknown = [name for name in names if name not in params.world.target_names]
    if unknown:
        raise ValueError(f"unknown world targets {unknown}; expected some of {list(params.world.target_names)}")
    temperatures = tuple(t for t in params.world.target_temperatures if f"softmax-true@{t:g}" in names)
    every = standard_targets(world, logs, temperatures)
    return {name: every[name] for name in names}


def played_propensity_quantile(target: np.ndarray, logging: np.ndarray, quantile: float = 0.01) -> float:
    """The ``quantile`` of the logging propensity :math:`\\pi_b(a \\mid r, k)` over the
    (request, candidate, slot) triples the target plays, weighted by how often it plays them.

    A robust version of "the smallest propensity played": the target draws a triple with
    :math:`\\pi_b` below this value with probability ``quantile``. Both arrays (n, C, K).
    """
    if not 0 <= quantile <= 1:
        raise ValueError(f"quantile must lie in [0, 1], got {quantile!r}")
    mass = target.reshape(-1)
    order = np.argsort(logging.reshape(-1), kind="stable")
    cumulative = np.cumsum(mass[order]) / mass.sum()
    position = min(int(np.searchsorted(cumulative, quantile, side="left")), order.size - 1)
    return float(logging.reshape(-1)[order[position]])


def target_diagnostics(target: np.ndarray, logging: np.ndarray, inputs: OpeInputs) -> dict[str, float]:
    """How hard a target is to evaluate from the logs.

    ``kl``, ``min_pscore_played`` (:func:`~hermes_core.world.policies.policy_divergence`),
    ``pscore_p01_played`` (:func:`played_propensity_quantile` at 1%), ``mean_weight`` (1 in
    expectation for any target when the propensities are right), ``max_weight`` among the
    logged rounds and ``effective_sample_share``
    :math:`(\\sum_i w_i)^2 / (n \\sum_i w_i^2)` (Kong, 1992; 1 when every weight is equal).
    """
    divergence = policy_divergence(target, logging)
    weight = inputs.importance_weight
    squares = float(np.sum(weight**2))
    return {
        "kl": divergence["kl"],
        "min_pscore_played": divergence["min_pscore_played"],
        "pscore_p01_played": played_propensity_quantile(target, logging, 0.01),
        "mean_weight": float(weight.mean()),
        "max_weight": float(weight.max()),
        "effective_sample_share": float(weight.sum() ** 2 / (weight.size * squares)) if squares > 0 else 0.0,
    }


def evaluate_world_log(
    world: World,
    world_log: WorldLog,
    targets: Mapping[str, np.ndarray],
    estimators: Mapping[str, OffPolicyEstimator],
    *,
    interval_method: str = "bootstrap",
    n_bootstrap: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every estimator on every target of one log, with intervals and the truth.

    Returns ``(estimates, diagnostics)``: one row per (target, estimator) with ``estimate``,
    ``low``, ``high``, ``truth`` and ``interval_scope`` (:func:`~hermes_core.ope.base.interval_scope`:
    whether the interval can cover the estimator's bias); one row per target with ``truth``, the log's on-policy
    ``logged_click_rate`` and :func:`target_diagnostics`. Bootstrap intervals of all (target, estimator) pairs share the
    same resamples of requests.
    """
    request = world_log.feedback.request
    logging = world_log.logs.logging_marginals
    clustered, rows, diagnostics = {}, [], []
    for target_name, action_dist in targets.items():
        inputs = world_log.inputs(action_dist)
        truth = true_value(world, world_log.logs, action_dist)
        diagnostics.append({"target": target_name, "truth": truth,
                            "logged_click_rate": float(world_log.feedback.reward.mean()),
                            **target_diagnostics(action_dist, logging, inputs)})  # fmt: skip
        for name, terms in round_terms_of_all(inputs, estimators).items():
            key = f"{target_name}|{name}"
            clustered[key] = cluster_terms(terms, request)
            rows.append({"target": target_name, "estimator": name, "key": key,
                         "estimate": terms.estimate(), "truth": truth,
                         "interval_scope": interval_scope(estimators[name])})  # fmt: skip
    if interval_method == "bootstrap":
        intervals = bootstrap_intervals(clustered, n_bootstrap=n_bootstrap, alpha=alpha, seed=seed)
    elif interval_method == "normal":
        intervals = {key: normal_interval(terms, alpha=alpha) for key, terms in clustered.items()}
    else:
        raise ValueError(f"interval_method must be 'bootstrap' or 'normal', got {interval_method!r}")
    for row in rows:
        interval = intervals[row.pop("key")]
        row["low"], row["high"] = interval.low, interval.high
    return pd.DataFrame(rows), pd.DataFrame(diagnostics)


@dataclass(frozen=True, eq=False)
class WorldStudy:
    """Estimates of every (resample, target, estimator) and the targets' diagnostics."""

    estimates: pd.DataFrame  # resample, target, estimator, estimate, truth, low, high
    diagnostics: pd.DataFrame  # resample, target, truth, kl, ..., effective_sample_share
    n_requests: int
    interval_method: str
    ci_level: float
    reward_model: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per log: calibration, chosen C

    @property
    def n_resamples(self) -> int:
        return int(self.estimates["resample"].nunique())

    def summary(self) -> pd.DataFrame:
        """:func:`summarise_estimates` of all resamples, indexed by (target, estimator)."""
        return summarise_estimates(self.estimates)

    def target_summary(self) -> pd.DataFrame:
        """Mean over resamples of each target's truth and diagnostics, one row per target."""
        return self.diagnostics.drop(columns="resample").groupby("target", sort=False).mean()


def run_world_study(
    world: World,
    params: OpeParams,
    *,
    n_resamples: int | None = None,
    n_requests: int | None = None,
    targets: Sequence[str] | None = None,
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WorldStudy:
    """The resampling study of the module docstring.

    Defaults: ``ope.world.n_log_resamples`` logs of ``ope.world.n_requests`` requests
    (``world.params.n_requests`` when null), every target of ``ope.world.target_names``,
    :func:`world_estimators`. Resample ``r`` draws its log, folds and bootstrap from
    ``resample_seeds(params.seed, .)[r]``.
    """
    n_resamples = params.world.n_log_resamples if n_resamples is None else n_resamples
    n_requests = n_requests or params.world.n_requests or world.params.n_requests
    names = list(params.world.target_names if targets is None else targets)
    chosen = world_estimators(params) if estimators is None else estimators
    estimate_tables, diagnostic_tables, reward_rows = [], [], []
    for resample, seed in enumerate(resample_seeds(params.seed, n_resamples)):
        logs = resimulate(world, seed, n_requests)
        world_log = fit_configured_world_log(world, logs, params, seed)
        reward_rows.append(reward_model_row(world_log, params.estimators.calibration_bins, resample))
        estimates, diagnostics = evaluate_world_log(
            world, world_log, world_targets(world, logs, names, params), chosen,
            interval_method=params.intervals.method, n_bootstrap=params.intervals.n_bootstrap,
            alpha=params.intervals.alpha, seed=seed,
        )  # fmt: skip
        estimate_tables.append(estimates.assign(resample=resample))
        diagnostic_tables.append(diagnostics.assign(resample=resample))
        if progress is not None:
            progress(resample + 1, n_resamples)
    return WorldStudy(
        estimates=pd.concat(estimate_tables, ignore_index=True),
        diagnostics=pd.concat(diagnostic_tables, ignore_index=True),
        n_requests=int(n_requests),
        interval_method=params.intervals.method,
        ci_level=params.intervals.ci_level,
        reward_model=pd.DataFrame(reward_rows),
    )


def reward_model_row(world_log: WorldLog, n_bins: int, resample: int) -> dict[str, object]:
    """One log's reward model: its calibration scalars
    (:meth:`~hermes_core.ope.calibration.CalibrationReport.as_dict`) and the :math:`C` of each
    fold's model (``chosen_c``, space-separated; empty for a model without one)."""
    row: dict[str, object] = {"resample": resample, **world_log.calibration(n_bins).as_dict()}
    fit = world_log.reward_fit
    chosen = [] if fit is None else [float(c) for c in np.asarray(fit.chosen_c).ravel() if np.isfinite(c)]
    row["chosen_c"] = " ".join(f"{c:g}" for c in chosen)
    return row


def interval_coverage(low: np.ndarray, high: np.ndarray, truth: np.ndarray) -> float:
    """Share of intervals ``[low, high]`` (closed) that contain ``truth`` (arrays of one shape)."""
    low, high, truth = (np.asarray(a, dtype=np.float64) for a in (low, high, truth))
    if not low.shape == high.shape == truth.shape or low.size == 0:
        raise ValueError(f"low, high and truth must be non-empty and of one shape, got {low.shape}, "
                         f"{high.shape}, {truth.shape}")  # fmt: skip
    if (low > high).any():
        raise ValueError(f"interval {int(np.argmax(low > high))} has low > high")
    return float(np.mean((low <= truth) & (truth <= high)))


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson, 1927, "Probable inference, the law
    of succession, and statistical inference", JASA 22(158): 209-212; Brown, Cai & DasGupta, 2001).

    With :math:`\\hat p = k / n` and :math:`z` the :math:`(1 + \\text{level}) / 2` normal quantile,

    .. math:: \\frac{\\hat p + z^2/(2n) \\pm z \\sqrt{\\hat p (1 - \\hat p)/n + z^2/(4n^2)}}{1 + z^2/n}.

    Unlike the Wald interval it stays inside [0, 1] and is not empty at :math:`\\hat p \\in \\{0, 1\\}`.
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes} of {n}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def summarise_estimates(estimates: pd.DataFrame) -> pd.DataFrame:
    """Per (target, estimator), over resamples: ``relative_ee_mean`` and ``relative_ee_std``
    (ddof 1) of :math:`|\\hat V - V| / V`, ``bias`` (mean of :math:`\\hat V - V`), ``std``
    (ddof 1 of :math:`\\hat V - V`), ``rmse``, ``coverage`` (:func:`interval_coverage`),
    ``interval_width`` (mean), ``n_resamples``, ``coverage_wilson_low`` and ``coverage_wilson_high``
    (the 95% :func:`wilson_interval` of the coverage over the ``n_resamples`` logs), and
    ``interval_scope`` (what the interval covers, :func:`~hermes_core.ope.base.interval_scope`;
    when the estimates carry it), and ``coverage_of_mean_truth``: coverage of the
    mean truth over the logs, a proxy for the population value (over the world's request
    distribution) that an interval resampling the requests is built for; the truth of one log
    conditions on its requests, so intervals for the population value over-cover it."""
    table = estimates.assign(
        error=estimates["estimate"] - estimates["truth"],
        relative_error=(estimates["estimate"] - estimates["truth"]).abs() / estimates["truth"].abs(),
        squared_error=(estimates["estimate"] - estimates["truth"]) ** 2,
        width=estimates["high"] - estimates["low"],
    )
    grouped = table.groupby(["target", "estimator"], sort=False)
    summary = grouped.agg(
        relative_ee_mean=("relative_error", "mean"),
        relative_ee_std=("relative_error", "std"),
        bias=("error", "mean"),
        std=("error", "std"),
        rmse=("squared_error", "mean"),
        interval_width=("width", "mean"),
        n_resamples=("error", "size"),
        **({"interval_scope": ("interval_scope", "first")} if "interval_scope" in table else {}),
    )
    summary["rmse"] = np.sqrt(summary["rmse"])
    summary["coverage"] = [
        interval_coverage(group["low"], group["high"], group["truth"]) for _, group in grouped
    ]
    wilson = [wilson_interval(round(coverage * n), int(n))
              for coverage, n in zip(summary["coverage"], summary["n_resamples"], strict=True)]  # fmt: skip
    summary["coverage_wilson_low"] = [low for low, _ in wilson]
    summary["coverage_wilson_high"] = [high for _, high in wilson]
    # The bootstrap resamples requests, so its sampling model treats the requests as random: it
    # targets the population value, estimated here by the mean truth over the logs.
    summary["coverage_of_mean_truth"] = [
        interval_coverage(group["low"], group["high"], np.full(len(group), group["truth"].mean()))
        for _, group in grouped
    ]
    return summary
