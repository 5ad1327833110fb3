"""``metrics/rerank.json`` and ``reports/diagnostics/rerank.json``, both from one :class:`RerankResults`.

The metrics file holds numbers only (the project's rule), at most 24: the four measures the issue
names for the unreranked list and each policy at its operating point (20 numbers), the expected
clicks of the unreranked list and of the shipped policy, the shipped policy as a number, and the
LP's infeasible lists. **The shipped policy's name** cannot be a string there: it is
``default_policy_index``, its position in :data:`~hermes_core.rerank.params.POLICIES`
(0 ``mmr``, 1 ``parity``, 2 ``singh_joachims``, 3 ``fair``); the diagnostics carry the name.

A part that did not run (no synthetic world) is null in the metrics, so the keys stay the same in
every run. Timings, intervals, sweeps and MovieLens live in the diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.rerank.params import POLICIES, RerankParams
from hermes_core.rerank.policies import PolicyRun
from hermes_core.rerank.stage import MovielensResult, RerankEvaluation

HEADLINE_KEYS: tuple[str, ...] = ("before", *POLICIES)
"""The keys of each per-policy block of the metrics, in order."""

MEASURE_OF_BLOCK: dict[str, str] = {"ndcg_at_10": "ndcg_at_10", "ild": "ild", "exposure_ratio": "exposure_ratio",
                                    "exposure_gini": "exposure_gini"}  # fmt: skip


@dataclass(frozen=True, eq=False)
class RerankResults:
    """Everything one run of the rerank stage produced (``None`` for a part that did not run)."""

    params: RerankParams
    world_note: str
    evaluation: RerankEvaluation | None = None
    operating: dict[str, PolicyRun] | None = None
    parity_convergence: pd.DataFrame | None = None
    sweep_edges: pd.DataFrame | None = None
    benchmark: dict[str, Any] | None = None
    timing: pd.DataFrame | None = None
    example_key: str | None = None
    example: pd.DataFrame | None = None
    movielens: MovielensResult | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def headline_metrics(results: RerankResults) -> dict[str, Any]:
    """``metrics/rerank.json`` (module docstring):

    * ``ndcg_at_10``, ``ild``, ``exposure_ratio``, ``exposure_gini``: each with ``before``, ``mmr``,
      ``parity``, ``singh_joachims`` and ``fair`` (the operating points, on the world's lists);
    * ``expected_clicks``: ``before`` and ``default_policy`` (the shipped policy's);
    * ``default_policy_index``: the shipped policy's position in ``(mmr, parity, singh_joachims, fair)``;
    * ``singh_joachims_infeasible_lists``: lists whose LP was infeasible (they keep the ranker's order).
    """
    metrics: dict[str, Any] = {block: dict.fromkeys(HEADLINE_KEYS) for block in MEASURE_OF_BLOCK}
    metrics["expected_clicks"] = {"before": None, "default_policy": None}
    metrics["default_policy_index"] = results.params.default_policy_index
    metrics["singh_joachims_infeasible_lists"] = None
    if results.evaluation is not None:
        table = results.evaluation.headline
        for block, measure in MEASURE_OF_BLOCK.items():
            metrics[block] = {name: _number(table.loc[name, measure]) for name in HEADLINE_KEYS}
        metrics["expected_clicks"] = {"before": _number(table.loc["before", "expected_clicks"]),
                                      "default_policy": _number(table.loc[results.params.default_policy,
                                                                          "expected_clicks"])}  # fmt: skip
    if results.operating is not None:
        metrics["singh_joachims_infeasible_lists"] = int(results.operating["singh_joachims"].report["infeasible"])
    return metrics


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    flat = frame.reset_index() if not isinstance(frame.index, pd.RangeIndex) else frame
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in flat.to_dict(orient="records")]  # fmt: skip


def _report(run: PolicyRun) -> dict[str, Any]:
    return {"setting": run.label, "seconds": run.seconds, **run.report}


def stage_diagnostics(results: RerankResults) -> dict[str, Any]:
    """``reports/diagnostics/rerank.json``: the shipped policy by name, the notes, every measure with
    its interval per operating point, the paired differences to the unreranked list, every sweep
    point with the Pareto flags, the parity multiplier each tolerance converged to, whether each
    operating point lies on its sweep's edge, the benchmark, each policy's own report (LP
    infeasible lists, FA*IR's table), the timing benchmark, the example slate, MovieLens 100K and
    the stage's timings (which vary between runs)."""
    params = results.params
    out: dict[str, Any] = {"default_policy": params.default_policy,
                           "default_policy_index": params.default_policy_index, "policies": list(POLICIES),
                           "world_note": results.world_note, "score_mapping": params.score_mapping,
                           "protected_cohort": params.cohorts.protected,
                           "timings_seconds": dict(results.timings)}  # fmt: skip
    if results.evaluation is not None:
        evaluation = results.evaluation
        out["operating_points"] = _records(evaluation.headline)
        out["versus_unreranked"] = _records(evaluation.comparisons)
        out["sweep"] = _records(evaluation.sweep)
    out["parity_convergence"] = _records(results.parity_convergence)
    out["sweep_edges"] = _records(results.sweep_edges)
    out["benchmark"] = results.benchmark
    out["timing_benchmark"] = _records(results.timing)
    if results.operating is not None:
        out["policy_reports"] = {name: _report(run) for name, run in results.operating.items() if name != "before"}
    out["example"] = None if results.example is None else {"key": results.example_key,
                                                           "slate": _records(results.example)}
    if results.movielens is not None:
        ml = results.movielens
        out["movielens"] = {"summary": ml.summary, "operating_points": _records(ml.headline),
                            "versus_unreranked": _records(ml.comparisons), "timing": _records(ml.timing),
                            "policy_reports": ml.reports}  # fmt: skip
    else:
        out["movielens"] = None
    return _finite(out)


def _finite(value: Any) -> Any:
    """A copy with every infinite float as ``None`` (JSON has no infinity; a ratio is infinite when
    the other cohort gets no exposure, as in parity's bisection path at huge multipliers)."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, (float, np.floating)) and np.isinf(value):
        return None
    return value


__all__ = ["HEADLINE_KEYS", "RerankResults", "headline_metrics", "stage_diagnostics"]
