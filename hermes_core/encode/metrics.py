"""The whole ``metrics/encode.json`` and ``reports/diagnostics/encode.json``, from one :class:`EncodeRun`.

The notebook collects the stage's results into an :class:`EncodeRun` and writes what
:func:`encode_metrics` and :func:`encode_diagnostics` return; it adds nothing to either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hermes_core.encode.catalogue import EncodedItems, modality_counts
from hermes_core.encode.coldstart import ColdStartEvaluation, best_single_modality
from hermes_core.encode.inputs import EncodeInputs
from hermes_core.encode.item_index import IndexReport
from hermes_core.encode.queries import QueryEvaluation
from hermes_core.encode.training import MODEL_LABELS, TrainedTower, TrainingSet

if TYPE_CHECKING:
    from hermes_core.params import HermesParams


@dataclass(frozen=True)
class EncodeRun:
    """Everything one run of the stage produced, in the order the notebook produced it."""

    params: HermesParams
    inputs: EncodeInputs
    encoded: EncodedItems
    training: TrainingSet
    towers: dict[str, TrainedTower]
    evaluation: ColdStartEvaluation
    queries: QueryEvaluation | None  # None without text queries (MovieLens)
    users_alpha: pd.DataFrame | None  # None without a fused tower or the world's truth
    index_report: IndexReport
    # the tables the notebook shows, computed once there and reused by the diagnostics and conclusions
    differences: pd.DataFrame  # coldstart.model_differences
    purity: pd.DataFrame  # embedding_space.purity_table, coloured by embedding_space.purity_label
    query_differences: pd.DataFrame | None  # queries.query_differences; None without text queries
    alpha_by_kind: pd.DataFrame | None  # attention.alpha_by_query_kind; None without text queries
    user_alpha: dict[str, float] | None  # attention.user_alpha_summary; None without users_alpha
    weights: pd.DataFrame | None = None  # attention.weight_diagnostics; None without text queries
    oracle: pd.DataFrame | None = None  # oracle.oracle_table; None without the world's truth
    gate_recovery: dict[str, float] | None = None  # attention.best_gate_recovery
    predictability: pd.DataFrame | None = None  # attention.profile_reveals_weight
    domain_shares: dict[str, float] | None = None  # oracle.oracle_table's domain share of each concat part


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def encode_metrics(run: EncodeRun) -> dict[str, Any]:
    """``metrics/encode.json``: the 11 headline numbers compared across experiments.

    * ``cold_start_ndcg_at_<k>``: mean cold-start NDCG@k of the fused, text, image and concat
      towers and of popularity, and ``fused_minus_best_single``, the fused tower's mean paired
      difference to the better single-modality tower (its interval is in the diagnostics);
    * ``cold_start_recall_at_<k>``: ``indexed_tower``, the recall@k of the tower the index serves;
    * ``ann``: ``recall_at_<k>``, the search recall of the index against exact search on the same
      vectors (:func:`~hermes_core.index.faiss_index.search_recall_at_k`), and
      ``two_stage_recall_at_<k>`` of index + exact rescoring against exact fused scoring;
    * ``alpha_vision_mean``: the fused (gated) tower's mean weight on the image,
      :math:`g_v / (g_v + g_t)`, for held-out visual and content queries (mean over seeds);
    * ``fusion_diagnostics``: ``query_share_of_gate_variance`` (share of the variance of the fused
      tower's per-pair weights over held-out queries that the query explains,
      :func:`~.attention.query_share_of_variance`: 1 by construction for the gated tower, whose
      weights read the query only; a fused kind whose weights read the item would show less),
      ``oracle_ndcg_at_<k>`` (cold-start NDCG of concatenation reweighed with the world's true
      modality weight, :mod:`.oracle`: a diagnostic, not a ceiling) and
      ``fused_seed_sd_ndcg_at_<k>`` (standard deviation over seeds of the fused tower's cold-start
      NDCG; each seed's value is in the diagnostics, ``cold_start.seed_ndcg_at_<k>``).

    Tower NDCGs are means over ``encode.fusion.n_seeds`` seeds.

    ``None`` where the source lacks the model or the queries (MovieLens: no images, no text
    queries). Every number is deterministic for fixed parameters (point estimates only, no
    bootstrap interval): timings (QPS, seconds), intervals and everything else go to
    :func:`encode_diagnostics`.
    """
    enc, evaluation, queries, report = run.params.encode, run.evaluation, run.queries, run.index_report
    reports = evaluation.reports
    ndcg = {name: _finite_or_none(reports[name].ndcg.mean) if name in reports else None
            for name in ("fused", "text", "image", "concat", "popularity")}
    best_single = best_single_modality(evaluation)
    gap = None
    if "fused" in reports and best_single is not None:
        fused, single = reports["fused"].ndcg.per_query, reports[best_single].ndcg.per_query
        both = ~np.isnan(fused) & ~np.isnan(single)  # the users model_differences pairs
        gap = _finite_or_none(float((fused[both] - single[both]).mean()) if both.any() else None)
    alpha: dict[str, float | None] = {"visual_queries": None, "content_queries": None}
    if queries is not None and "alpha_vision_all" in queries.alpha:
        table = queries.alpha
        for kind in ("visual", "content"):
            values = table.loc[table["kind"] == kind, "alpha_vision_all"]
            alpha[f"{kind}_queries"] = _finite_or_none(float(values.mean())) if len(values) else None
    indexed = MODEL_LABELS[report.tower_kind]
    gate_share = None
    if run.weights is not None and len(run.weights) and "fused" in run.weights.index.get_level_values(0):
        gate_share = _finite_or_none(float(run.weights.loc["fused", "query share of weight variance"].iloc[0]))
    k = enc.eval.ndcg_k
    fusion = {
        "query_share_of_gate_variance": gate_share,
        f"oracle_ndcg_at_{k}": _finite_or_none(reports["oracle"].ndcg.mean) if "oracle" in reports else None,
        f"fused_seed_sd_ndcg_at_{k}": _finite_or_none(reports["fused"].seed_sd) if "fused" in reports else None,
    }
    return {
        f"cold_start_ndcg_at_{enc.eval.ndcg_k}": {**ndcg, "fused_minus_best_single": gap},
        f"cold_start_recall_at_{enc.eval.recall_k}": {
            "indexed_tower": _finite_or_none(reports[indexed].recall.mean)},
        "ann": {f"recall_at_{report.k}": _finite_or_none(report.search_recall_at_k),
                f"two_stage_recall_at_{report.k}": _finite_or_none(report.two_stage_recall)},
        "alpha_vision_mean": alpha,
        "fusion_diagnostics": fusion,
    }


def headline_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """``metrics/encode.json`` as one row per number (``group`` / ``metric``), for display."""
    rows = []
    for group, values in metrics.items():
        for name, value in (values.items() if isinstance(values, dict) else [("", values)]):
            rows.append({"group": group, "metric": name, "value": np.nan if value is None else float(value)})
    return pd.DataFrame(rows).set_index(["group", "metric"])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-able dicts; a named or non-default index becomes columns."""
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    return json.loads(frame.to_json(orient="records", double_precision=10))


def encode_diagnostics(run: EncodeRun, stage_seconds: float | None = None) -> dict[str, Any]:
    """``reports/diagnostics/encode.json``: everything behind the headline metrics.

    Dimensions, modality counts, cache and timing of the encoders, the training set, each
    tower's kept epoch, validation NDCG, training seconds and per-epoch history; every model's
    cold-start NDCG and recall with the user counts, the paired model differences with their
    intervals and verdicts (:func:`~.coldstart.model_differences`), ``cold_start_fused_minus_best_single``
    (the difference of the metrics with its interval); the text-query table, its paired
    differences and the attention by query kind and by user with intervals; the index (type,
    knobs, sizes, QPS of the index and of exact search, certified share, knob sweep) and the
    neighbour purity. Not a DVC metric: QPS and seconds vary between runs.
    """
    enc, inputs, encoded, training, towers = run.params.encode, run.inputs, run.encoded, run.training, run.towers
    evaluation, queries, users_alpha, report = run.evaluation, run.queries, run.users_alpha, run.index_report
    reports = evaluation.reports
    any_report = next(iter(reports.values()))
    differences = run.differences
    diagnostics: dict[str, Any] = {
        "source": inputs.source,
        "dims": {"text": encoded.text_dim, "image": encoded.image_dim, "tower_output": enc.fusion.output_dim},
        "items_encoded": int((encoded.text_mask | encoded.image_mask).sum()),
        "modality_counts": modality_counts(inputs.items, encoded),
        "encoding": {"cache": encoded.cache, "seconds": encoded.seconds,
                     "text_model": encoded.text_model_id, "image_model": encoded.image_model_id},
        "training": {
            "user_pairs": len(training.user_pairs.keys),
            "query_pairs": len(training.query_pairs.keys),
            "validation_items": len(training.validation_rows),
            "validation_users": len(training.validation_users.keys),
            "validation_queries": int(training.queries["is_validation"].sum()) if len(training.queries) else 0,
            "seeds": {t.label: t.seeds for t in towers.values()},
            "best_epoch": {t.label: t.best_epochs for t in towers.values()},
            "validation_score": {t.label: t.kept("validation_score") for t in towers.values()},
            "validation_ndcg": {t.label: t.kept("validation_ndcg") for t in towers.values()},
            "seconds": {t.label: t.seconds for t in towers.values()},
            "history": {t.label: t.histories for t in towers.values()},
        },
        "cold_start": {
            "protocol": "full ranking over all cold items; users without a relevant item excluded",
            "relevance": evaluation.relevance_note,
            "popularity": evaluation.popularity_note,
            "cold_items": len(evaluation.cold_rows),
            "users_evaluated": any_report.n_users,
            "users_excluded_ndcg": any_report.n_excluded_ndcg,
            "users_excluded_recall": any_report.n_excluded_recall,
            f"ndcg_at_{enc.eval.ndcg_k}": {name: r.ndcg.mean for name, r in reports.items()},
            f"recall_at_{enc.eval.recall_k}": {name: r.recall.mean for name, r in reports.items()},
            f"seed_ndcg_at_{enc.eval.ndcg_k}": {name: list(r.seed_ndcg) for name, r in reports.items() if r.seed_ndcg},
        },
        "confidence_level": enc.eval.ci_level,
        "model_differences": _records(differences.rename_axis("comparison")),
        "ann": {
            "index_type": report.index_type,
            "tower": MODEL_LABELS[report.tower_kind],
            "knobs": report.knobs,
            "n_vectors": int(len(report.stacked.item_rows)),
            "n_queries": report.n_queries,
            f"recall_at_{report.k}": report.search_recall_at_k,
            "qps": report.qps,
            "exact_qps": report.exact_qps,
            f"two_stage_recall_at_{report.k}": report.two_stage_recall,
            "two_stage_certified_share": _finite_or_none(report.two_stage_certified),
            "sweep": _records(report.sweep) if len(report.sweep) else [],
        },
        "neighbour_purity_at_10": _records(run.purity.rename_axis("modality")),
        "stage_seconds": stage_seconds,
    }
    best_single = best_single_modality(evaluation)
    if "fused" in reports and best_single is not None:
        row = differences.loc[f"fused - {best_single}"]
        diagnostics["cold_start_fused_minus_best_single"] = {
            "best_single": best_single, "ndcg_difference": row["difference"],
            "ci_low": row["ci_low"], "ci_high": row["ci_high"], "verdict": row["verdict"],
        }
    if queries is not None:
        diagnostics["text_queries"] = {
            f"ndcg_at_{queries.k}": queries.table.to_dict(orient="index"),
            "held_out": queries.alpha["kind"].value_counts().sort_index().to_dict(),
            "differences": _records(run.query_differences),
            "alpha_vision_by_kind": _records(run.alpha_by_kind.rename_axis("kind")),
            "alpha_vision_by_seed": _records(queries.alpha_by_seed) if len(queries.alpha_by_seed) else [],
            "seed_spread": _records(queries.seed_table) if len(queries.seed_table) else [],
            "weights": _records(run.weights) if run.weights is not None and len(run.weights) else [],
        }
    if users_alpha is not None:
        diagnostics["alpha_vision_users"] = run.user_alpha
    if run.oracle is not None and len(run.oracle):
        diagnostics["modality_oracle"] = _records(run.oracle.rename_axis("scorer"))
    if run.domain_shares:
        diagnostics["concat_part_domain_share"] = run.domain_shares
    if run.gate_recovery is not None:
        diagnostics["best_gate_vs_true_affinity"] = run.gate_recovery
    if run.predictability is not None:
        diagnostics["profile_reveals_weight"] = _records(run.predictability.rename_axis("features"))
    return diagnostics
