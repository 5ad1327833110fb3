r"""Slate estimators on fresh world logs, under the position-based and the cascade click model.

The position-wise estimators of :mod:`hermes_core.ope.world_experiments` treat each shown
position as its own round: unbiased when a position's click depends only on the item shown there
(the position-based model the world clicks by, with similarity fatigue off). Under the **cascade**
click model (:mod:`hermes_core.world.truth`: after a click the user stops reading with
probability :math:`s`) a click at position :math:`k` depends on the items above it, which breaks
that assumption. This study measures, for each click model and each target policy, every slate
estimator of :mod:`hermes_core.ope.slate` against the world's true value:

- ``n_logs`` fresh logs of the world under the click model (:func:`~hermes_core.world.policies.resimulate`);
- on each, the logging policy and the targets as Plackett-Luce logits
  (:func:`~hermes_core.world.policies.standard_target_logits`: uniform, greedy-true and
  softmax-true at each temperature, moving away from the logging policy as the temperature falls),
  their exact marginals, prefix and conditional probabilities (:mod:`hermes_core.world.plackett_luce`);
- the reward model :math:`\hat q(x, a, k)` of Cascade-DR: the stage's cross-fitted position-wise
  model (:func:`~hermes_core.ope.world_experiments.fit_configured_world_log`), folds by request;
- the truth: :func:`~hermes_core.world.policies.slate_policy_value` (exact under position-based
  clicks without fatigue, Monte Carlo over slates otherwise; its standard error is kept);
- each estimate's percentile bootstrap interval over requests (shared resamples).

PseudoInverse uses the factored closed form :math:`\sum_k w_k - K + 1`, exact only when the
logging policy fills positions independently; the world's Plackett-Luce logging draws without
replacement, so PI carries a design bias here even under position-based clicks (reported, not hidden).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hermes_core.ope.intervals import bootstrap_intervals
from hermes_core.ope.params import OpeParams
from hermes_core.ope.slate import (
    CascadeDoublyRobust,
    IndependentIPS,
    PseudoInverse,
    RewardInteractionIPS,
    SlateInputs,
    SlateOffPolicyEstimator,
    StandardIPS,
)
from hermes_core.ope.world_experiments import fit_configured_world_log, interval_coverage, resample_seeds, wilson_interval
from hermes_core.world.plackett_luce import (
    conditional_probabilities,
    logit_position_marginals,
    prefix_probabilities,
    sample_logit_slates,
)
from hermes_core.world.policies import (
    CandidateClickModel,
    resimulate,
    slate_policy_value,
    standard_target_logits,
    standard_targets,
)
from hermes_core.world.simulate import Logs
from hermes_core.world.world import World

ORACLE_ESTIMATORS: tuple[str, ...] = ("iips", "pi")
"""The estimators of the oracle bias check (:func:`expected_estimates`): those weighted by position
marginals. RIPS, SIPS and Cascade-DR weigh a slate by its prefix probability ratio
:math:`w_{1:k}`, and under both click models a click at :math:`k` depends on the items at
:math:`1..k` only, so :math:`\\mathbb E_\\mu[w_{1:k} P(C_k \\mid s)] = \\mathbb E_\\pi[P(C_k \\mid s)]`:
they are unbiased by a change of measure (checked exactly by enumeration in
``tests/ope/slate/test_unbiasedness.py``), and a Monte Carlo mean over logging slates would only
show their huge weights' skew (a deterministic target's slate is almost never drawn)."""

SLATE_STUDY_STREAM = 7
"""Spawn key that keeps the slate study's log seeds apart from the resampling study's."""


def slate_estimators() -> dict[str, SlateOffPolicyEstimator]:
    """The study's estimators, by name, in the order of the tables."""
    return {"iips": IndependentIPS(), "rips": RewardInteractionIPS(), "cascade-dr": CascadeDoublyRobust(),
            "sips": StandardIPS(), "pi": PseudoInverse()}  # fmt: skip


def slate_inputs(logs: Logs, target_logits: np.ndarray, target_marginals: np.ndarray | None = None,
                 estimated_rewards: np.ndarray | None = None) -> SlateInputs:
    """:class:`SlateInputs` of a world log for a Plackett-Luce target with ``target_logits`` (n, C)
    and exact position marginals ``target_marginals`` (n, C, K) (computed from the logits when not
    given). The logging policy is the log's own: its exact marginals ``logs.logging_marginals`` and
    its Plackett-Luce logits, the log of its position-0 marginals. ``estimated_rewards`` (n, C, K)
    is Cascade-DR's :math:`\\hat q`."""
    slates = np.asarray(logs.slate, dtype=np.int64)
    n, k = slates.shape
    logging_logits = logging_policy_logits(logs)
    if target_marginals is None:
        target_marginals = logit_position_marginals(target_logits, k)
    rows, positions = np.arange(n)[:, None], np.arange(k)[None, :]
    return SlateInputs.from_arrays(
        reward=logs.clicks.astype(np.float64),
        slate=slates,
        logging_marginal=logs.logging_marginals[rows, slates, positions],
        logging_prefix=prefix_probabilities(logging_logits, slates),
        target_marginal=target_marginals[rows, slates, positions],
        target_prefix=prefix_probabilities(target_logits, slates),
        target_conditional=conditional_probabilities(target_logits, slates),
        estimated_rewards=estimated_rewards,
    )


def logging_policy_logits(logs: Logs) -> np.ndarray:
    """The logging policy's Plackett-Luce logits (n, C): the log of its position-0 marginals, which
    are its normalised weights."""
    with np.errstate(divide="ignore"):
        return np.log(logs.logging_marginals[:, :, 0])


def mean_kl_from_logging(target_marginals: np.ndarray, logging_marginals: np.ndarray) -> float:
    """Mean over requests and positions of :math:`KL(\\pi(\\cdot \\mid k) \\,\\|\\, \\mu(\\cdot \\mid k))`
    of the position marginals (n, C, K): how far a target moves from the logging policy."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(target_marginals > 0,
                         target_marginals * (np.log(target_marginals) - np.log(np.maximum(logging_marginals, 1e-300))),
                         0.0)  # fmt: skip
    return float(terms.sum(axis=1).mean())


def expected_estimates(world: World, logs: Logs, target_logits: np.ndarray, target_marginals: np.ndarray,
                       estimated_rewards: np.ndarray | None, estimators: Mapping[str, SlateOffPolicyEstimator], *,
                       n_samples: int, seed: int) -> dict[str, tuple[float, float]]:
    """Each estimator's expectation over the logging policy's slates and the clicks, on the log's
    requests: ``{name: (mean, Monte Carlo standard error)}``.

    Every estimator here is linear in the clicks, so its expectation over clicks given the slates
    is the estimator applied to the **expected** clicks :math:`P(C_k = 1 \\mid s)` (exact under the
    world's click model); the expectation over slates is a mean over ``n_samples`` slates drawn
    per request from the logging policy. Set beside the truth, it is the estimator's bias with no
    click noise left: an oracle diagnosis that a few logs' spread cannot give."""
    clicks = CandidateClickModel.of(world, logs)
    logging_logits = logging_policy_logits(logs)
    n, k = logs.slate.shape
    rows, positions = np.arange(n)[:, None], np.arange(k)[None, :]
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in estimators}
    for _ in range(n_samples):
        slates = sample_logit_slates(logging_logits, k, rng)
        inputs = SlateInputs.from_arrays(
            reward=clicks.click_probabilities(slates), slate=slates,
            logging_marginal=logs.logging_marginals[rows, slates, positions],
            logging_prefix=prefix_probabilities(logging_logits, slates),
            target_marginal=target_marginals[rows, slates, positions],
            target_prefix=prefix_probabilities(target_logits, slates),
            target_conditional=conditional_probabilities(target_logits, slates), estimated_rewards=estimated_rewards,
        )  # fmt: skip
        for name, estimator in estimators.items():
            draws[name].append(estimator.estimate_policy_value(inputs))
    return {name: (float(np.mean(v)), float(np.std(v, ddof=1) / np.sqrt(len(v)))) for name, v in draws.items()}


@dataclass(frozen=True, eq=False)
class SlateStudy:
    """Estimates of every (click model, log, target, estimator), with truth and interval, and the
    oracle bias of the :data:`ORACLE_ESTIMATORS` on the main target (:func:`expected_estimates` on
    the first log)."""

    estimates: pd.DataFrame  # click_model, log, target, estimator, estimate, low, high, truth, truth_mc_se, kl
    n_requests: int
    ci_level: float
    expected: pd.DataFrame = field(default_factory=pd.DataFrame)  # click_model, estimator, expected, se, truth, bias

    def summary(self) -> pd.DataFrame:
        """Per (click model, target, estimator), over logs: ``bias``, ``rmse``, ``relative_rmse``
        (RMSE / mean truth), ``coverage`` of the truth with its Wilson 95% interval, mean ``kl``
        of the target from the logging policy, ``n_logs``."""
        table = self.estimates.assign(error=self.estimates["estimate"] - self.estimates["truth"])
        rows = []
        for (model, target, estimator), group in table.groupby(["click_model", "target", "estimator"], sort=False):
            n = len(group)
            coverage = interval_coverage(group["low"], group["high"], group["truth"])
            low, high = wilson_interval(round(coverage * n), n)
            rmse = float(np.sqrt(np.mean(group["error"] ** 2)))
            rows.append({
                "click_model": model, "target": target, "estimator": estimator,
                "bias": float(group["error"].mean()),
                "bias_se": float(group["error"].std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
                "rmse": rmse, "relative_rmse": rmse / float(group["truth"].mean()),
                "coverage": coverage, "coverage_wilson_low": low, "coverage_wilson_high": high,
                "truth": float(group["truth"].mean()), "kl": float(group["kl"].mean()), "n_logs": n,
            })  # fmt: skip
        return pd.DataFrame(rows).set_index(["click_model", "target", "estimator"])


def run_slate_study(
    world: World,
    params: OpeParams,
    *,
    click_models: Sequence[str] | None = None,
    n_logs: int | None = None,
    n_requests: int | None = None,
    estimators: Mapping[str, SlateOffPolicyEstimator] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SlateStudy:
    """The study of the module docstring, with ``ope.slate`` settings unless given: for each click
    model (the world's own stop probability), ``n_logs`` fresh logs of ``n_requests`` requests,
    targets ``uniform``, ``greedy-true`` and ``softmax-true@T`` for ``ope.world.target_temperatures``,
    truth by ``ope.slate.truth_samples`` Monte Carlo slates per request. Log ``r`` of every click
    model draws from the same seed (paired logs)."""
    settings = params.slate
    models = tuple(settings.click_models if click_models is None else click_models)
    n_logs = settings.n_logs if n_logs is None else n_logs
    n_requests = n_requests or settings.n_requests
    chosen = slate_estimators() if estimators is None else dict(estimators)
    seeds = resample_seeds(params.seed + SLATE_STUDY_STREAM, n_logs)
    rows: list[dict[str, object]] = []
    expected_rows: list[dict[str, object]] = []
    total, done = len(models) * n_logs, 0
    for model in models:
        world_model = world.with_click_model(model)
        for log, seed in enumerate(seeds):
            logs = resimulate(world_model, seed, n_requests)
            fitted = fit_configured_world_log(world_model, logs, params, seed)
            k = logs.slate.shape[1]
            q_hat = fitted.estimated_rewards[::k]  # rounds are request-major: one (C, K) block per request
            temperatures = tuple(params.world.target_temperatures)
            all_logits = standard_target_logits(logs, temperatures)
            all_marginals = standard_targets(world_model, logs, temperatures)  # exact, the logits' own
            terms, meta = {}, {}
            for target, logits in all_logits.items():
                if target == "logging":
                    continue
                inputs = slate_inputs(logs, logits, all_marginals[target], q_hat)
                truth, truth_se = slate_policy_value(world_model, logs, logits, n_samples=settings.truth_samples,
                                                     seed=seed)  # fmt: skip
                kl = mean_kl_from_logging(all_marginals[target], logs.logging_marginals)
                for name, estimator in chosen.items():
                    terms[(target, name)] = estimator.round_terms(inputs)
                    meta[(target, name)] = (truth, truth_se, kl)
            if log == 0 and params.slate.expected_samples > 0:
                main = params.world.main_target
                truth = meta[(main, next(iter(chosen)))][0]
                oracle = {name: estimator for name, estimator in chosen.items() if name in ORACLE_ESTIMATORS}
                for name, (mean, se) in expected_estimates(
                        world_model, logs, all_logits[main], all_marginals[main], q_hat, oracle,
                        n_samples=params.slate.expected_samples, seed=seed).items():  # fmt: skip
                    expected_rows.append({"click_model": model, "target": main, "estimator": name, "expected": mean,
                                          "expected_mc_se": se, "truth": truth, "bias": mean - truth,
                                          "relative_bias": (mean - truth) / truth})  # fmt: skip
            keyed = {f"{t}|{e}": value for (t, e), value in terms.items()}
            intervals = bootstrap_intervals(keyed, n_bootstrap=params.intervals.n_bootstrap,
                                            alpha=params.intervals.alpha, seed=seed)  # fmt: skip
            for (target, name), term in terms.items():
                interval = intervals[f"{target}|{name}"]
                truth, truth_se, kl = meta[(target, name)]
                rows.append({"click_model": model, "log": log, "target": target, "estimator": name,
                             "estimate": term.estimate(), "low": interval.low, "high": interval.high,
                             "truth": truth, "truth_mc_se": truth_se, "kl": kl})  # fmt: skip
            done += 1
            if progress is not None:
                progress(done, total)
    return SlateStudy(pd.DataFrame(rows), int(n_requests), params.intervals.ci_level, pd.DataFrame(expected_rows))


__all__ = ["ORACLE_ESTIMATORS", "SlateStudy", "expected_estimates", "logging_policy_logits", "mean_kl_from_logging", "run_slate_study", "slate_estimators",
           "slate_inputs"]
