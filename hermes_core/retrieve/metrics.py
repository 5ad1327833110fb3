"""``metrics/retrieve.json`` and ``reports/diagnostics/retrieve.json``, both from one :class:`RetrieveResults`.

A part that did not run (no synthetic world, MovieLens switched off) is ``None`` in the results
and null in the metrics, so the metrics keep the same keys in every run. Latencies are measured
times: they vary from run to run, the only such numbers in the metrics (the issue asks for them
there); nothing downstream depends on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.retrieve.blending import WeightFit
from hermes_core.retrieve.orchestrator import BatchReport
from hermes_core.retrieve.paper_protocol import PaperProtocolResult
from hermes_core.retrieve.params import RetrieveParams
from hermes_core.retrieve.query_understanding import ConstraintScores

RECALL_LISTS: tuple[str, ...] = ("ann", "kg", "sasrec", "blend", "popularity", "transition")
LATENCY_NAMES: tuple[str, ...] = ("ann", "kg", "sasrec")


@dataclass(frozen=True, eq=False)
class RetrieveResults:
    """Everything one run of the retrieve stage produced (``None`` for a part that did not run)."""

    params: RetrieveParams
    world_note: str
    recall: pd.DataFrame | None = None  # evaluation.recall_table of the test split
    next_click: pd.DataFrame | None = None  # logged protocol
    constraints: ConstraintScores | None = None
    constraints_by_kind: pd.DataFrame | None = None
    weight_fit: WeightFit | None = None
    test_report: BatchReport | None = None
    fault_report: BatchReport | None = None
    paper: dict[str, PaperProtocolResult] = field(default_factory=dict)
    movielens_graph: pd.DataFrame | None = None
    overlap: pd.DataFrame | None = None
    split_sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _recall_at(table: pd.DataFrame, k: int, query_class: str = "all") -> dict[str, float | None]:
    part = table[(table["k"] == k) & (table["query_class"] == query_class)].set_index("list")["recall"]
    return {name: (float(part[name]) if name in part.index else None) for name in RECALL_LISTS}


def headline_metrics(results: RetrieveResults) -> dict[str, Any]:
    """``metrics/retrieve.json``:

    * ``recall_at_100``: mean recall@100 over the test requests and queries (class ``all``) of
      ``ann``, ``kg``, ``sasrec``, ``blend`` and the baselines ``popularity`` and ``transition``;
    * ``sasrec``: ``hr_at_10_sampled100``, ``ndcg_at_10_sampled100`` and ``ndcg_at_10_full`` on the
      world's clicks under the paper's protocol, and the same three on MovieLens 100K
      (``ml100k_*``);
    * ``query_constraints``: micro ``precision`` and ``recall`` of the extracted constraints on
      every world query;
    * ``latency_ms``: ``<source>_p50`` and ``<source>_p99`` per request on the test split (the whole
      fan-out's are in the diagnostics: the stage keeps at most 24 headline numbers);
    * ``source_failures``: errors plus timeouts plus skips per source on the test split.
    """
    recall = ({name: None for name in RECALL_LISTS} if results.recall is None
              else _recall_at(results.recall, 100))  # fmt: skip
    sasrec: dict[str, float | None] = {}
    for prefix, key in (("", "world"), ("ml100k_", "ml-100k")):
        paper = results.paper.get(key)
        k = results.params.sasrec.k
        sasrec[f"{prefix}hr_at_{k}_sampled100"] = None if paper is None else paper.sampled["sasrec"].hit_rate
        sasrec[f"{prefix}ndcg_at_{k}_sampled100"] = None if paper is None else paper.sampled["sasrec"].ndcg
        sasrec[f"{prefix}ndcg_at_{k}_full"] = None if paper is None else paper.full["sasrec"].ndcg
    constraints = {"precision": None if results.constraints is None else results.constraints.precision,
                   "recall": None if results.constraints is None else results.constraints.recall}  # fmt: skip
    latency: dict[str, float | None] = {f"{name}_{q}": None for name in LATENCY_NAMES for q in ("p50", "p99")}
    failures: dict[str, int | None] = {name: None for name in ("ann", "kg", "sasrec")}
    if results.test_report is not None:
        for name in LATENCY_NAMES:
            summary = results.test_report.latency_ms.get(name)
            if summary is not None:
                latency[f"{name}_p50"], latency[f"{name}_p99"] = round(summary.p50, 2), round(summary.p99, 2)
        for name in failures:
            counts = results.test_report.source_failures.get(name, {})
            failures[name] = int(sum(counts.values()))
    return {"recall_at_100": recall, "sasrec": sasrec, "query_constraints": constraints, "latency_ms": latency,
            "source_failures": failures}  # fmt: skip


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in frame.reset_index().to_dict(orient="records")]  # fmt: skip


def stage_diagnostics(results: RetrieveResults) -> dict[str, Any]:
    """``reports/diagnostics/retrieve.json``: the notes, split sizes, every recall row (class, k,
    list, interval), the logged next-click hit rates, the constraint scores per field and kind,
    the fitted blend weights and whether each lies on the simplex's edge, the overlap counts, the
    paper-protocol tables (with SASRec's learning curve), the MovieLens graph check, the fault
    demo's outcome counts, latencies and failures, and timings (which vary between runs)."""
    out: dict[str, Any] = {"world_note": results.world_note, "split_sizes": results.split_sizes,
                           "recall": _records(results.recall), "next_click_logged_protocol": _records(results.next_click),
                           "overlap": _records(results.overlap), "timings_seconds": dict(results.timings)}  # fmt: skip
    if results.constraints is not None:
        out["query_constraints"] = {"precision": results.constraints.precision, "recall": results.constraints.recall,
                                    "per_field": _records(results.constraints.per_field),
                                    "by_kind": _records(results.constraints_by_kind)}  # fmt: skip
    if results.weight_fit is not None:
        fit = results.weight_fit
        out["blend_weights"] = {"chosen": {c: dict(w) for c, w in fit.chosen.by_class.items()},
                                "on_boundary": dict(fit.on_boundary), "single_source": dict(fit.single_source),
                                "k": fit.k}  # fmt: skip
    if results.test_report is not None:
        out["test_batch"] = results.test_report.as_metrics()
    if results.fault_report is not None:
        out["fault_demo"] = results.fault_report.as_metrics()
    out["paper_protocol"] = {
        key: {"dataset": r.dataset, "users": r.n_users, "items": r.n_items, "interactions": r.n_interactions,
              "table": _records(r.table()), "sasrec_minus_transition_ndcg": _records(r.sasrec_minus_transition()),
              "sasrec_history": list(r.sasrec.history), "sasrec_seconds": r.sasrec.seconds}
        for key, r in results.paper.items()
    }  # fmt: skip
    out["movielens_graph"] = _records(results.movielens_graph)
    return out


__all__ = ["RetrieveResults", "headline_metrics", "stage_diagnostics"]
