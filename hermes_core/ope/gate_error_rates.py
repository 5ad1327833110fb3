"""The champion/challenger gate's error rates over many independent logs of the world.

The stage's gate (:func:`~hermes_core.ope.shadow.gate_on_shadow_log`) decides once, on one log.
Its error rates are properties of the decision rule over every log it could have seen, so they
are measured here over ``n_logs`` independent ones (:func:`run_gate_error_rates`):

1. challengers (:func:`calibrated_challengers`): Plackett-Luce on true relevance,
   ``softmax-true@T``, at the temperatures whose true uplift over the champion (the logging
   policy) is :math:`+\\delta`, :math:`0` and :math:`-\\delta` on a calibration log of their own
   (:func:`temperatures_for_uplifts`), with :math:`\\delta` = ``relative_uplift`` times the
   champion's true value there; and, as an A/A control, the champion itself;
2. ``n_logs`` fresh logs of ``n_requests`` requests
   (:func:`~hermes_core.world.policies.resimulate`), seeded by
   :func:`~hermes_core.ope.world_experiments.resample_seeds` of ``ope.seed +``
   :data:`LOG_STREAM`, apart from the world study's logs (``ope.seed``) and the stage gate's
   (``ope.seed + 1``);
3. on each log, the stage's gate itself (:func:`gate_reports_on_log`): the reward model
   cross-fitted once (:func:`~hermes_core.ope.world_experiments.fit_configured_world_log`), every
   challenger scored in shadow mode and gated by
   :func:`~hermes_core.ope.shadow.gate_on_shadow_log`, which runs the paired DR uplift gate
   (:func:`~hermes_core.ope.gate.uplift_gate`) at ``ope.gate.ci_level`` by ``ope.gate.method``;
   and the log's true uplift :math:`\\Delta_l = V_l(\\pi_c) - V_l(\\pi_0)` from the world's
   truth (:func:`~hermes_core.world.policies.true_value`);
4. per challenger (:func:`summarise_gate_decisions`), the promote and keep rates and the two
   error rates of the one-sided test of :math:`H_0: \\Delta \\le 0` that the gate is (Lehmann
   and Romano, 2005, "Testing Statistical Hypotheses", Sec. 3.1), each log classified by its
   own :math:`\\Delta_l`:

   .. math::

       \\text{false promotion} = P(\\text{promote} \\mid \\Delta_l \\le 0), \\qquad
       \\text{false keep} = P(\\text{keep champion} \\mid \\Delta_l > 0),

   with Wilson intervals (:func:`~hermes_core.ope.world_experiments.wilson_interval`). Promoting
   on the lower bound of a two-sided interval at level :math:`L` is a one-sided test of
   (asymptotic) size :math:`(1 - L)/2`: the false promotion rate should stay below it, reaching
   it only as :math:`\\Delta \\to 0^-`; the false keep rate is one minus the power, which
   depends on :math:`\\Delta` and ``n_requests``.

A log's true uplift conditions on its requests; the interval resamples requests and so targets
the uplift over the world's request distribution, which should make its coverage of
:math:`\\Delta_l` at least nominal (see :func:`~hermes_core.ope.world_experiments.summarise_estimates`);
coverage below it, beyond its Wilson interval, would mean intervals too narrow for the log size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from hermes_core.ope.gate import GateDecision
from hermes_core.ope.params import OpeParams
from hermes_core.ope.policies import ScoringPolicy, softmax_true_policy
from hermes_core.ope.shadow import GateReport, ShadowLog, gate_on_shadow_log, run_shadow_mode
from hermes_core.ope.world_experiments import fit_configured_world_log, interval_coverage, resample_seeds, wilson_interval
from hermes_core.world.policies import resimulate, true_value
from hermes_core.world.simulate import Logs
from hermes_core.world.world import World

LOG_STREAM = 2
"""Offset of this experiment's log seeds from ``ope.seed``: 0 is the world study's, 1 the stage gate's."""
CALIBRATION_STREAM = 3
"""Offset of the calibration log's seed from ``ope.seed``."""
CHAMPION = "champion"
"""Key of the A/A control: the champion's own logged marginals as the challenger."""
DECISION_COLUMNS = ("log", "seed", "challenger", "policy", "uplift", "ci_low", "ci_high", "decision", "true_uplift")
"""Columns of the per-log table, one row per (log, challenger)."""
SUMMARISED_COLUMNS = DECISION_COLUMNS[2:]
"""The columns :func:`summarise_gate_decisions` reads."""
TEMPERATURE_BOUNDS = (0.01, 100.0)
"""Softmax temperatures searched by :func:`temperatures_for_uplifts`: close to greedy, close to uniform."""


# ----------------------------------------------------------------------------- challengers
def softmax_true_marginals(world: World, logs: Logs, temperature: float) -> np.ndarray:
    """Marginals (n_requests, C, K) of ``softmax-true@T`` on ``logs``, as shadow mode records them."""
    # the marginals do not depend on the generator, which only draws the discarded slates
    marginals, _ = softmax_true_policy(temperature).decide(world, logs, np.random.default_rng(0))
    return marginals


def temperatures_for_uplifts(
    world: World, logs: Logs, uplifts: Sequence[float], *, bounds: tuple[float, float] = TEMPERATURE_BOUNDS,
    log_tolerance: float = 1e-3,
) -> tuple[float, ...]:  # fmt: skip
    """For each of ``uplifts``, a temperature :math:`T` at which ``softmax-true@T`` has that true
    uplift :math:`V(\\text{softmax-true@T}) - V(\\pi_0)` over the logging policy :math:`\\pi_0`
    on ``logs`` (values by :func:`~hermes_core.world.policies.true_value`): a root of
    :math:`g(\\log T) = V(\\text{softmax-true@T}) - V(\\pi_0) - \\text{uplift}` by Brent's method
    (Brent, 1973, "Algorithms for Minimization without Derivatives", Ch. 4) on
    :math:`\\log T \\in \\log` ``bounds``, to ``log_tolerance`` in :math:`\\log T` (1e-3: the
    uplift then moves by about 1e-3 times its slope in :math:`\\log T`, 3e-5 on the default world,
    far below the spread of one log's truth). The targets share their evaluations.

    Raises
    ------
    ValueError
        if ``bounds`` are not positive and increasing, or an uplift lies outside the uplifts at
        the two ``bounds``.
    """
    low, high = bounds
    if not 0 < low < high:
        raise ValueError(f"bounds must be positive and increasing, got {bounds}")
    champion = true_value(world, logs, logs.logging_marginals)
    cache: dict[float, float] = {}

    def uplift_at(log_temperature: float) -> float:
        if log_temperature not in cache:
            marginals = softmax_true_marginals(world, logs, math.exp(log_temperature))
            cache[log_temperature] = true_value(world, logs, marginals) - champion
        return cache[log_temperature]

    ends = (math.log(low), math.log(high))
    reachable = sorted(uplift_at(end) for end in ends)
    temperatures = []
    for uplift in uplifts:
        if not reachable[0] <= uplift <= reachable[1]:
            raise ValueError(f"uplift {uplift:.6g} is outside [{reachable[0]:.6g}, {reachable[1]:.6g}], the true "
                             f"uplifts of softmax-true@T for T in bounds {bounds}")  # fmt: skip
        root = brentq(lambda log_t: uplift_at(log_t) - uplift, *ends, xtol=log_tolerance)  # noqa: B023
        temperatures.append(float(math.exp(root)))
    return tuple(temperatures)


def calibrated_challengers(
    world: World, params: OpeParams, *, n_requests: int, relative_uplift: float
) -> dict[str, ScoringPolicy]:
    """``better``, ``near-zero`` and ``worse``: ``softmax-true@T`` at the temperatures
    (:func:`temperatures_for_uplifts`) of true uplift :math:`+\\delta`, 0 and :math:`-\\delta` over
    the logging policy, :math:`\\delta` = ``relative_uplift`` :math:`\\times V(\\pi_0)`, on one
    calibration log of ``n_requests`` requests (seed ``resample_seeds(ope.seed +``
    :data:`CALIBRATION_STREAM` ``, 1)[0]``), so that none of the evaluated logs chose them."""
    if not 0 < relative_uplift < 1:
        raise ValueError(f"relative_uplift must lie in (0, 1), got {relative_uplift!r}")
    seed = resample_seeds(params.seed + CALIBRATION_STREAM, 1)[0]
    logs = resimulate(world, seed, n_requests)
    delta = relative_uplift * true_value(world, logs, logs.logging_marginals)
    targets = {"better": delta, "near-zero": 0.0, "worse": -delta}
    temperatures = temperatures_for_uplifts(world, logs, list(targets.values()))
    return {key: softmax_true_policy(temperature) for key, temperature in zip(targets, temperatures, strict=True)}


def champion_shadow(logs: Logs) -> ShadowLog:
    """The A/A control: a shadow log whose challenger is the champion, with the logged marginals
    themselves (not a re-computation), so that every DR round difference is exactly 0."""
    return ShadowLog(
        champion="logging", challenger="logging", logs=logs, challenger_action_dist=logs.logging_marginals,
        challenger_slate=logs.slate, batch_size=np.array([logs.slate.shape[0]]), batch_seconds=np.zeros(1),
        batch_peak_bytes=np.zeros(1, dtype=np.int64),
    )  # fmt: skip


# ----------------------------------------------------------------------------- one log
def gate_reports_on_log(
    world: World, logs: Logs, challengers: Mapping[str, ScoringPolicy], params: OpeParams, *, seed: int,
    include_champion: bool = True,
) -> dict[str, GateReport]:  # fmt: skip
    """The stage's gate, as :func:`~hermes_core.ope.stage.run_gate` runs it, on one champion log:
    the reward model cross-fitted once with ``ope.estimators`` and fold seed ``seed``, then for
    every challenger shadow mode (batches of ``ope.gate.shadow_batch_size``, slate draws seeded by
    ``seed``) and :func:`~hermes_core.ope.shadow.gate_on_shadow_log`; with ``include_champion``,
    also the A/A control :data:`CHAMPION` (:func:`champion_shadow`)."""
    if include_champion and CHAMPION in challengers:
        raise ValueError(f"challengers may not use the key {CHAMPION!r}, reserved for the A/A control")
    world_log = fit_configured_world_log(world, logs, params, seed)
    reports = {}
    for key, challenger in challengers.items():
        shadow = run_shadow_mode(world, logs, challenger, batch_size=params.gate.shadow_batch_size, seed=seed)
        reports[key] = gate_on_shadow_log(world, shadow, world_log, params)
    if include_champion:
        reports[CHAMPION] = gate_on_shadow_log(world, champion_shadow(logs), world_log, params)
    return reports


def decision_row(decision: GateDecision, true_uplift: float) -> dict[str, object]:
    """The per-log columns of one gate decision: ``uplift``, ``ci_low``, ``ci_high``,
    ``decision`` and the ``true_uplift`` it is judged against."""
    return {"uplift": decision.uplift, "ci_low": decision.ci_low, "ci_high": decision.ci_high,
            "decision": decision.decision, "true_uplift": float(true_uplift)}  # fmt: skip


# ----------------------------------------------------------------------------- many logs
@dataclass(frozen=True, eq=False)
class GateErrorRates:
    """Every gate decision of the experiment, one row per (log, challenger), and its settings."""

    decisions: pd.DataFrame  # DECISION_COLUMNS
    n_requests: int
    ci_level: float
    method: str
    n_bootstrap: int
    log_seconds: np.ndarray  # (n_logs,) wall time of each log: simulation, fit, shadow mode, gates
    calibration_seconds: float = 0.0  # wall time of calibrated_challengers; 0 when challengers were given

    @property
    def n_logs(self) -> int:
        return int(self.decisions["log"].nunique())

    def summary(self, wilson_level: float = 0.95) -> pd.DataFrame:
        """:func:`summarise_gate_decisions` of every log, one row per challenger."""
        return summarise_gate_decisions(self.decisions, ci_level=self.ci_level, wilson_level=wilson_level)

    def cost(self) -> dict[str, float]:
        """Wall seconds per log (median, mean, max), of the calibration, and in all (the two
        together). Timings vary between runs and with the machine's load: not for metrics."""
        seconds = self.log_seconds
        return {"n_logs": int(seconds.size), "n_requests": self.n_requests,
                "median_seconds_per_log": float(np.median(seconds)), "mean_seconds_per_log": float(seconds.mean()),
                "max_seconds_per_log": float(seconds.max()), "calibration_seconds": self.calibration_seconds,
                "total_seconds": float(seconds.sum()) + self.calibration_seconds}  # fmt: skip


def run_gate_error_rates(
    world: World,
    params: OpeParams,
    *,
    n_logs: int,
    n_requests: int,
    relative_uplift: float = 0.05,
    challengers: Mapping[str, ScoringPolicy] | None = None,
    include_champion: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> GateErrorRates:
    """The experiment of the module docstring: ``n_logs`` fresh logs of ``n_requests`` requests of
    ``world`` (pass it as :func:`~hermes_core.ope.stage.load_world` returns it, with
    ``ope.world.similarity_fatigue``), the stage's gate on each (:func:`gate_reports_on_log`) for
    ``challengers`` (default :func:`calibrated_challengers` at ``relative_uplift``) and, with
    ``include_champion``, the A/A control. Log ``l`` draws its requests, folds and slates from
    ``resample_seeds(ope.seed +`` :data:`LOG_STREAM` ``, .)[l]``; the bootstrap of every gate
    uses ``ope.seed``, as the stage's does (the logs are independent, so the decisions are too).

    Cost (2-core machine, one BLAS thread): about 0.6 CPU seconds per log of 1,000 requests and
    2.5 per log of 5,000 (simulating the log and the challengers' exact Plackett-Luce marginals
    take nine tenths of it, the gates under a tenth), plus about 2 (8) for the calibration. With
    OpenBLAS's default two threads on a loaded machine the same work took about five times as
    long."""
    if n_logs < 1:
        raise ValueError(f"n_logs must be >= 1, got {n_logs}")
    if n_requests < 2:
        raise ValueError(f"n_requests must be >= 2, got {n_requests}")
    calibration_seconds = 0.0
    if challengers is None:
        start = time.perf_counter()
        challengers = calibrated_challengers(world, params, n_requests=n_requests, relative_uplift=relative_uplift)
        calibration_seconds = time.perf_counter() - start
    rows, seconds = [], []
    for log, seed in enumerate(resample_seeds(params.seed + LOG_STREAM, n_logs)):
        start = time.perf_counter()
        logs = resimulate(world, seed, n_requests)
        reports = gate_reports_on_log(world, logs, challengers, params, seed=seed, include_champion=include_champion)
        seconds.append(time.perf_counter() - start)
        rows += [{"log": log, "seed": seed, "challenger": key, "policy": report.challenger,
                  **decision_row(report.decision, report.true_uplift)} for key, report in reports.items()]  # fmt: skip
        if progress is not None:
            progress(log + 1, n_logs)
    return GateErrorRates(
        decisions=pd.DataFrame(rows, columns=list(DECISION_COLUMNS)),
        n_requests=int(n_requests),
        ci_level=params.gate.ci_level,
        method=params.gate.method,
        n_bootstrap=params.intervals.n_bootstrap,
        log_seconds=np.array(seconds),
        calibration_seconds=calibration_seconds,
    )


# ----------------------------------------------------------------------------- bookkeeping
def rate_with_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """``successes / n`` and its :func:`~hermes_core.ope.world_experiments.wilson_interval` at
    ``level``; three NaN when ``n`` is 0 (no log of that kind)."""
    if n == 0:
        return math.nan, math.nan, math.nan
    low, high = wilson_interval(int(successes), int(n), level)
    return successes / n, low, high


def nominal_promote_rate(true_uplift: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray, ci_level: float) -> float:
    """The promote rate that the normal approximation predicts for these logs,

    .. math:: \\frac{1}{n}\\sum_l \\Phi\\!\\left(\\frac{\\Delta_l}{s_l} - z\\right), \\qquad
              s_l = \\frac{\\text{ci\\_high}_l - \\text{ci\\_low}_l}{2z},\\quad
              z = \\Phi^{-1}\\!\\left(\\frac{1 + \\text{ci\\_level}}{2}\\right),

    the probability that :math:`\\hat\\Delta - z s > 0` when :math:`\\hat\\Delta \\sim
    N(\\Delta_l, s_l^2)`: the power of the one-sided test, at most :math:`(1 - L)/2` where
    :math:`\\Delta_l \\le 0`. NaN when an interval has zero width (the A/A control), where it is
    undefined."""
    true_uplift, ci_low, ci_high = (np.asarray(a, dtype=np.float64) for a in (true_uplift, ci_low, ci_high))
    z = NormalDist().inv_cdf(0.5 + ci_level / 2)
    scale = (ci_high - ci_low) / (2 * z)
    if (scale <= 0).any():
        return math.nan
    normal = NormalDist()
    return float(np.mean([normal.cdf(value) for value in true_uplift / scale - z]))


def summarise_gate_decisions(decisions: pd.DataFrame, *, ci_level: float, wilson_level: float = 0.95) -> pd.DataFrame:
    """Per challenger (rows in order of first appearance), over its logs:

    * ``policy``, ``n_logs``; ``true_uplift_mean``, ``true_uplift_std`` (ddof 1; NaN for one
      log), ``true_uplift_min``, ``true_uplift_max``; ``uplift_bias``, the mean of
      :math:`\\hat\\Delta_l - \\Delta_l`; ``interval_width`` (mean);
    * ``promote_rate`` and ``keep_rate`` = 1 - ``promote_rate``, each with ``_low`` / ``_high``
      Wilson bounds at ``wilson_level``;
    * ``n_not_better`` (logs with :math:`\\Delta_l \\le 0`, a tie included: promoting an equal
      challenger is unwarranted) and ``false_promotion_rate`` :math:`P(\\text{promote} \\mid
      \\Delta_l \\le 0)`; ``n_better`` and ``false_keep_rate`` :math:`P(\\text{keep} \\mid \\Delta_l
      > 0)`, each with Wilson bounds, NaN where no log is of that kind;
    * ``coverage`` of :math:`\\Delta_l` by the closed interval, with Wilson bounds;
    * ``one_sided_level`` :math:`(1 - \\text{ci\\_level})/2`, the size the false promotion rate
      should not exceed, and :func:`nominal_promote_rate`.
    """
    missing = [column for column in SUMMARISED_COLUMNS if column not in decisions]
    if missing:
        raise ValueError(f"decisions lacks the columns {missing}")
    unknown = sorted(set(decisions["decision"]) - {"promote", "keep champion"})
    if unknown:
        raise ValueError(f"decisions column 'decision' holds {unknown}; expected 'promote' or 'keep champion'")
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level must lie in (0, 1), got {ci_level!r}")
    rows = {}
    for challenger, group in decisions.groupby("challenger", sort=False):
        truth = group["true_uplift"].to_numpy(dtype=np.float64)
        promoted = (group["decision"] == "promote").to_numpy()
        better = truth > 0
        n = int(truth.size)
        row: dict[str, object] = {
            "policy": group["policy"].iloc[0], "n_logs": n, "true_uplift_mean": float(truth.mean()),
            "true_uplift_std": float(truth.std(ddof=1)) if n > 1 else math.nan,
            "true_uplift_min": float(truth.min()), "true_uplift_max": float(truth.max()),
            "uplift_bias": float(np.mean(group["uplift"].to_numpy(dtype=np.float64) - truth)),
            "interval_width": float(np.mean(group["ci_high"] - group["ci_low"])),
        }  # fmt: skip
        counts = {
            "promote_rate": (int(promoted.sum()), n),
            "keep_rate": (int((~promoted).sum()), n),
            "false_promotion_rate": (int((promoted & ~better).sum()), int((~better).sum())),
            "false_keep_rate": (int((~promoted & better).sum()), int(better.sum())),
        }
        row["n_not_better"], row["n_better"] = int((~better).sum()), int(better.sum())
        covered = interval_coverage(group["ci_low"], group["ci_high"], truth)
        counts["coverage"] = (round(covered * n), n)
        for name, (successes, total) in counts.items():
            row[name], row[f"{name}_low"], row[f"{name}_high"] = rate_with_interval(successes, total, wilson_level)
        row["one_sided_level"] = (1 - ci_level) / 2
        row["nominal_promote_rate"] = nominal_promote_rate(truth, group["ci_low"], group["ci_high"], ci_level)
        rows[challenger] = row
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.name = "challenger"
    return summary
