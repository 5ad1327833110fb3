"""Held-out text queries: retrieval quality of every tower per query kind, and paired differences.

The world's *visual* and *content* text queries held out by :func:`~.splits.split_queries` are
ranked over the whole catalogue (full ranking, NDCG@k against the world's query relevance 0..3);
a trained tower's NDCG of a query is the mean over its seed replicas. The weights of the towers
whose weights follow the query (the gated ``fused`` tower and the cross-attention variant) are
kept for :mod:`.attention`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hermes_core.encode.attention import fused_alpha, headline_fused_kind
from hermes_core.encode.baselines import random_scores
from hermes_core.encode.catalogue import EncodedItems
from hermes_core.encode.coldstart import paired_comparison
from hermes_core.encode.params import EncodeParams
from hermes_core.encode.profiles import query_vectors
from hermes_core.encode.training import FREE_WEIGHT_KINDS, TrainedTower, TrainingSet, seed_scores
from hermes_core.evaluation.ranking import ndcg_at_k


@dataclass
class QueryEvaluation:
    """Held-out text queries: retrieval quality per model and attention per query kind."""

    table: pd.DataFrame  # NDCG@k by model (rows) and query kind (columns), seed-averaged
    alpha: pd.DataFrame  # one row per held-out query: kind, the fused tower's alpha over both-modality / relevant items
    k: int
    per_query: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per held-out query: kind, NDCG@k per model
    seed_table: pd.DataFrame = field(default_factory=pd.DataFrame)  # (model, kind): mean, sd over seeds of the kind's mean
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # tower label -> alpha_vision (n_held, n_both), seed 0
    both_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # items with both modalities
    alpha_by_seed: pd.DataFrame = field(default_factory=pd.DataFrame)  # seed x kind: the fused tower's mean alpha


def evaluate_text_queries(
    training: TrainingSet, encoded: EncodedItems, towers: dict[str, TrainedTower], params: EncodeParams
) -> QueryEvaluation | None:
    """Full-ranking NDCG@k of held-out visual and content queries over the whole catalogue.

    ``alpha`` holds, per held-out query, the fused (gated) tower's mean ``alpha_vision`` over the
    items that have both modalities and over those of them that are relevant (grade
    ``>= encode.split.query_positive_grade``), averaged over its seeds; ``weights`` every free-weight
    tower's per-pair ``alpha_vision`` (first seed) for the variance decomposition of :mod:`.attention`.
    """
    if training.queries.empty:
        return None
    test = training.queries["is_test"].to_numpy()
    held = training.queries[test].reset_index(drop=True)
    vectors = query_vectors(training.query_text[test], encoded.image_dim)
    grades = training.query_grades[test]
    all_rows = np.arange(len(encoded.text_mask))
    k = params.eval.ndcg_k
    per_query = pd.DataFrame({"query_id": held["query_id"], "kind": held["kind"]})
    kinds = held["kind"].to_numpy()
    seed_rows = []
    for tower in towers.values():
        replicas = [ndcg_at_k(matrix, grades, k).per_query for matrix in seed_scores(tower, vectors, encoded, all_rows)]
        per_query[tower.label] = np.mean(replicas, axis=0)
        for kind in ("visual", "content"):
            means = [float(np.nanmean(values[kinds == kind])) for values in replicas]
            seed_rows.append({"model": tower.label, "kind": kind, "mean": float(np.mean(means)),
                              "sd": float(np.std(means, ddof=1)) if len(means) > 1 else np.nan})
    per_query["random"] = ndcg_at_k(random_scores(len(held), len(all_rows), params.seed), grades, k).per_query
    models = [column for column in per_query.columns if column not in ("query_id", "kind")]
    table = {model: {kind: float(np.nanmean(per_query.loc[per_query["kind"] == kind, model]))
                     for kind in ("visual", "content")} for model in models}
    alpha_rows = pd.DataFrame({"query_id": held["query_id"], "kind": held["kind"], "text": held["text"]})
    alpha_by_seed = pd.DataFrame()
    both = np.flatnonzero(encoded.text_mask & encoded.image_mask)
    fused = headline_fused_kind(towers)
    replicas = [] if fused is None else [fused_alpha(towers[fused], vectors, encoded, both, replica=r)
                                         for r in range(len(towers[fused].models))]  # each (n_held, n_both)
    # first-seed weights of every free-weight tower (the fused tower's is already in replicas)
    weights = {towers[kind].label: replicas[0] if kind == fused else fused_alpha(towers[kind], vectors, encoded, both)
               for kind in FREE_WEIGHT_KINDS if kind in towers}
    if fused is not None:
        alpha = np.mean(replicas, axis=0)
        alpha_by_seed = pd.DataFrame(
            {kind: [float(r[kinds == kind].mean()) for r in replicas] for kind in ("visual", "content")},
            index=pd.Index(towers[fused].seeds, name="seed"))
        relevant = grades[:, both] >= params.split.query_positive_grade
        alpha_rows["alpha_vision_all"] = alpha.mean(axis=1)
        alpha_rows["alpha_vision_relevant"] = [
            float(a[r].mean()) if r.any() else np.nan for a, r in zip(alpha, relevant)
        ]
    return QueryEvaluation(pd.DataFrame(table).T, alpha_rows, k, per_query,
                           pd.DataFrame(seed_rows).set_index(["model", "kind"]) if seed_rows else pd.DataFrame(),
                           weights, both, alpha_by_seed)


QUERY_COMPARISONS: dict[str, tuple[tuple[str, str], ...]] = {
    "visual": (("fused", "image"), ("fused", "text"), ("fused", "concat"), ("fused", "attention"),
               ("image", "text")),
    "content": (("fused", "text"), ("fused", "image"), ("fused", "concat"), ("fused", "attention"),
                ("text", "image")),
}
"""Model pairs compared on the held-out queries of each kind: the fused (gated) tower against the
modality a query kind names, the other one, concatenation and the cross-attention variant, and the
two single modalities."""


def query_differences(queries: QueryEvaluation, params: EncodeParams) -> pd.DataFrame:
    r"""Paired per-query NDCG differences on the held-out text queries, by query kind.

    For each kind and pair ``(A, B)`` of :data:`QUERY_COMPARISONS` (both trained): the mean of
    :math:`\mathrm{NDCG}_q(A) - \mathrm{NDCG}_q(B)` over the held-out queries of that kind, its
    percentile bootstrap interval over queries and its verdict (:func:`~.coldstart.paired_comparison`,
    level ``encode.eval.ci_level``). Few queries give wide intervals: the table says how many were paired.
    """
    frame = queries.per_query
    rows = []
    for kind, pairs in QUERY_COMPARISONS.items():
        part = frame[frame["kind"] == kind]
        for first, second in pairs:
            if first not in part or second not in part:
                continue
            result = paired_comparison(part[first].to_numpy(float), part[second].to_numpy(float), params.eval,
                                       params.seed)
            rows.append({"kind": kind, "comparison": f"{first} - {second}", "first": first, "second": second,
                         "difference": result["difference"], "ci_low": result["ci_low"], "ci_high": result["ci_high"],
                         "n_queries": result["n"], "verdict": result["verdict"]})
    columns = ["kind", "comparison", "first", "second", "difference", "ci_low", "ci_high", "n_queries", "verdict"]
    return pd.DataFrame(rows, columns=columns).set_index(["kind", "comparison"])
