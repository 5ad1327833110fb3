"""Shadow mode and the champion/challenger gate on the synthetic world.

In *shadow mode* the champion (the production policy: here the world's logging policy) serves
every request and its slates alone are shown and produce clicks. The challenger scores the same
requests, batch by batch, and only its choices are recorded: the slate it would have shown, its
marginal probabilities of every candidate at every slot (what off-policy evaluation needs), and
what scoring cost it (wall time by ``time.perf_counter`` and the peak of memory allocated while
scoring, by ``tracemalloc``, per batch). The gate (:func:`gate_on_shadow_log`) then estimates the
uplift :math:`V(\\text{challenger}) - V(\\text{champion})` from the champion's log alone, and the
world's truth says whether the decision was right.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from hermes_core.evaluation.verdict import truth_in_interval
from hermes_core.ope.gate import GateDecision, uplift_gate
from hermes_core.ope.params import OpeParams
from hermes_core.ope.policies import ScoringPolicy
from hermes_core.ope.world_experiments import WorldLog
from hermes_core.world.policies import SlateFeedback, slate_feedback, true_value
from hermes_core.world.simulate import Logs
from hermes_core.world.world import World


def requests_of(logs: Logs, requests: np.ndarray) -> Logs:
    """The sub-log of ``requests``: every per-request array sliced, the per-click arrays
    (``conv_*``, ...) kept whole because they are not indexed by request."""
    n_requests = logs.slate.shape[0]
    updates = {
        f.name: getattr(logs, f.name)[requests]
        for f in fields(logs)
        if not f.name.startswith("conv") and getattr(logs, f.name).shape[:1] == (n_requests,)
    }
    return replace(logs, **updates)


@dataclass(frozen=True, eq=False)
class ShadowLog:
    """What shadow mode records. ``logs`` is the champion's log: its slates were shown and its
    clicks are the only feedback; the challenger contributes choices and costs, never clicks."""

    champion: str
    challenger: str
    logs: Logs
    challenger_action_dist: np.ndarray  # (n_requests, C, K)
    challenger_slate: np.ndarray  # (n_requests, K) what the challenger would have shown
    batch_size: np.ndarray  # (n_batches,) requests per batch
    batch_seconds: np.ndarray  # (n_batches,) challenger scoring wall time
    batch_peak_bytes: np.ndarray  # (n_batches,) tracemalloc peak while scoring

    @property
    def shown_slate(self) -> np.ndarray:
        """(n_requests, K): the champion's slates, the only ones users saw."""
        return self.logs.slate

    @property
    def n_requests(self) -> int:
        return int(self.logs.slate.shape[0])

    def feedback(self, world: World) -> SlateFeedback:
        """The rounds OPE sees: the champion's shown slates and their clicks, nothing else."""
        return slate_feedback(world, self.logs)

    def feedback_is_champions(self, world: World) -> bool:
        """Whether every feedback round is a slot of a slate the champion showed, in order."""
        feedback = self.feedback(world)
        shown = feedback.action.reshape(self.n_requests, -1)  # (n_requests, K)
        return bool(shown.shape == self.shown_slate.shape and (shown == self.shown_slate).all())

    def top_slot_agreement(self) -> float:
        """Share of requests where the challenger would have put the shown top item first."""
        return float(np.mean(self.challenger_slate[:, 0] == self.shown_slate[:, 0]))

    def cost_summary(self) -> dict[str, float]:
        """Challenger scoring cost: median and max seconds per batch, microseconds per request,
        and the largest tracemalloc peak (MiB). Timings vary between runs."""
        return {
            "batches": int(self.batch_size.size),
            "median_seconds_per_batch": float(np.median(self.batch_seconds)),
            "max_seconds_per_batch": float(self.batch_seconds.max()),
            "microseconds_per_request": float(1e6 * self.batch_seconds.sum() / self.batch_size.sum()),
            "peak_mib": float(self.batch_peak_bytes.max() / 2**20),
        }


def _measured(call: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple[tuple[np.ndarray, np.ndarray], float, int]:
    """``call()``, its wall time and the peak of memory traced during it."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    if not was_tracing:
        tracemalloc.stop()
    return result, seconds, max(0, peak - base)


def run_shadow_mode(
    world: World, logs: Logs, challenger: ScoringPolicy, *, batch_size: int, seed: int, champion: str = "logging"
) -> ShadowLog:
    """Let ``challenger`` score every request of the champion's log ``logs`` in batches of
    ``batch_size`` requests, recording its marginals, a sampled slate, and the cost of each
    batch. Nothing the challenger chooses is shown or produces feedback."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rng = np.random.default_rng(seed)
    n_requests, slate_size = logs.slate.shape
    n_candidates = logs.candidates.shape[1]
    action_dist = np.empty((n_requests, n_candidates, slate_size))
    slate = np.empty((n_requests, slate_size), dtype=np.int64)
    sizes, seconds, peaks = [], [], []
    for start in range(0, n_requests, batch_size):
        requests = np.arange(start, min(start + batch_size, n_requests))
        batch = requests_of(logs, requests)
        (dist, chosen), elapsed, peak = _measured(lambda: challenger.decide(world, batch, rng))  # noqa: B023
        action_dist[requests], slate[requests] = dist, chosen
        sizes.append(len(requests))
        seconds.append(elapsed)
        peaks.append(peak)
    return ShadowLog(
        champion=champion,
        challenger=challenger.name,
        logs=logs,
        challenger_action_dist=action_dist,
        challenger_slate=slate,
        batch_size=np.array(sizes),
        batch_seconds=np.array(seconds),
        batch_peak_bytes=np.array(peaks),
    )


@dataclass(frozen=True)
class GateReport:
    """The gate's decision on a shadow log, its inputs, and the truth it is checked against."""

    champion: str
    challenger: str
    decision: GateDecision
    true_champion_value: float
    true_challenger_value: float
    estimator: str
    n_requests: int

    @property
    def true_uplift(self) -> float:
        return self.true_challenger_value - self.true_champion_value

    @property
    def right(self) -> bool:
        """Promoting a truly better challenger, or keeping the champion against one that is not."""
        return (self.decision.decision == "promote") == (self.true_uplift > 0)

    def as_dict(self) -> dict[str, object]:
        d = self.decision
        return {
            "champion": self.champion, "challenger": self.challenger, "estimator": self.estimator,
            "uplift": d.uplift, "ci_low": d.ci_low, "ci_high": d.ci_high, "level": d.level,
            "method": d.method, "decision": d.decision, "n_requests": self.n_requests,
            "n_rounds": d.n_rounds, "champion_estimate": d.champion_value,
            "challenger_estimate": d.challenger_value, "true_champion_value": self.true_champion_value,
            "true_challenger_value": self.true_challenger_value, "true_uplift": self.true_uplift,
            "decision_right": self.right,
        }  # fmt: skip


def gate_on_shadow_log(world: World, shadow: ShadowLog, world_log: WorldLog, params: OpeParams) -> GateReport:
    """The DR uplift gate (:func:`~hermes_core.ope.gate.uplift_gate`) on the champion's log:
    champion = the logging policy (its logged marginals), challenger = the marginals recorded in
    shadow mode, reward model = ``world_log``'s cross-fitted one, interval at ``ope.gate.ci_level``
    by ``ope.gate.method`` (``ope.intervals.n_bootstrap`` resamples, seed ``ope.seed``) with the
    request as the resampling unit. Promote only when its lower bound is above 0."""
    if world_log.logs is not shadow.logs:
        raise ValueError("world_log must be fitted on the shadow log's own champion log")
    feedback = world_log.feedback
    champion_dist = shadow.logs.logging_marginals
    decision = uplift_gate(
        reward=feedback.reward,
        action=feedback.action,
        position=feedback.position,
        pscore=feedback.pscore,
        champion_action_dist=feedback.expand(champion_dist),
        challenger_action_dist=feedback.expand(shadow.challenger_action_dist),
        estimated_rewards_by_reg_model=world_log.estimated_rewards,
        level=params.gate.ci_level,
        method=params.gate.method,
        n_bootstrap=params.intervals.n_bootstrap,
        seed=params.seed,
        groups=feedback.request,
    )
    return GateReport(
        champion=shadow.champion,
        challenger=shadow.challenger,
        decision=decision,
        true_champion_value=true_value(world, shadow.logs, champion_dist),
        true_challenger_value=true_value(world, shadow.logs, shadow.challenger_action_dist),
        estimator="dr",
        n_requests=shadow.n_requests,
    )


@dataclass(frozen=True, eq=False)
class GateRun:
    """Shadow logs and gate reports of every challenger on one champion log."""

    shadows: dict[str, ShadowLog]
    reports: dict[str, GateReport]

    def table(self) -> pd.DataFrame:
        """One row per challenger: :meth:`GateReport.as_dict` and ``true_uplift_in_interval``
        (whether the uplift interval holds the world's true uplift)."""
        rows = {name: {**report.as_dict(), "true_uplift_in_interval": truth_in_interval(
                    report.true_uplift, report.decision.ci_low, report.decision.ci_high)}
                for name, report in self.reports.items()}  # fmt: skip
        return pd.DataFrame(rows).T

    def costs(self) -> pd.DataFrame:
        """Challenger scoring cost per challenger (timings: not deterministic, not in metrics)."""
        rows = {name: {**shadow.cost_summary(), "top_slot_agreement": shadow.top_slot_agreement()}
                for name, shadow in self.shadows.items()}  # fmt: skip
        return pd.DataFrame(rows).T
