"""``metrics/encode.json`` and the diagnostics, built from one :class:`EncodeRun`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hermes_core.encode import metrics as me
from hermes_core.encode.coldstart import model_differences
from hermes_core.workspace import MAX_HEADLINE_METRICS, Workspace, write_diagnostics, write_metrics


def evaluation_oracle(run: Any) -> float:
    return run.evaluation.reports["oracle"].ndcg.mean


def test_world_metrics_hold_only_deterministic_headline_numbers(world_run: dict[str, Any], tmp_path: Path) -> None:
    run = world_run["run"]
    metrics = me.encode_metrics(run)
    # 5 NDCGs + the fused gap, the indexed tower's recall, 2 index recalls, 2 mean weights, 3 fusion diagnostics
    leaves = {f"{group}.{name}": value for group, values in metrics.items() for name, value in values.items()}
    assert len(leaves) == 14 <= MAX_HEADLINE_METRICS
    fusion = metrics["fusion_diagnostics"]
    assert fusion["oracle_ndcg_at_10"] == evaluation_oracle(run)
    assert fusion["query_share_of_gate_variance"] == pytest.approx(1.0)  # gates read the query only
    assert fusion["fused_seed_sd_ndcg_at_10"] == pytest.approx(np.std(run.evaluation.reports["fused"].seed_ndcg,
                                                                      ddof=1))
    assert not any("qps" in key or "second" in key or "ci_" in key for key in leaves)  # no timing, no interval
    write_metrics(Workspace(tmp_path), "encode", metrics)  # the writer's checks accept them
    evaluation, report = run.evaluation, run.index_report
    ndcg = metrics["cold_start_ndcg_at_10"]
    for name in ("fused", "text", "image", "concat", "popularity"):
        assert ndcg[name] == evaluation.reports[name].ndcg.mean
    # the gap is the paired difference that model_differences reports for the better single tower
    best_single = "text" if ndcg["text"] >= ndcg["image"] else "image"
    differences = model_differences(evaluation, run.params.encode)
    assert ndcg["fused_minus_best_single"] == pytest.approx(differences.loc[f"fused - {best_single}", "difference"])
    assert metrics["cold_start_recall_at_10"]["indexed_tower"] == evaluation.reports["fused"].recall.mean
    assert metrics["ann"] == {"recall_at_10": report.search_recall_at_k,
                              "two_stage_recall_at_10": report.two_stage_recall}
    alpha = run.queries.alpha
    assert metrics["alpha_vision_mean"]["visual_queries"] == pytest.approx(
        alpha.loc[alpha["kind"] == "visual", "alpha_vision_all"].mean())
    # a rerun with the same parameters gives the same metrics (no timing inside)
    assert me.encode_metrics(run) == metrics


def test_world_diagnostics_hold_the_intervals_and_timings(world_run: dict[str, Any], tmp_path: Path) -> None:
    run = world_run["run"]
    diagnostics = me.encode_diagnostics(run, stage_seconds=1.5)
    report, evaluation = run.index_report, run.evaluation
    assert diagnostics["ann"]["qps"] == report.qps and diagnostics["stage_seconds"] == 1.5
    assert diagnostics["confidence_level"] == run.params.encode.eval.ci_level
    assert set(diagnostics["cold_start"]["ndcg_at_10"]) == set(evaluation.reports)
    gap = diagnostics["cold_start_fused_minus_best_single"]
    headline = me.encode_metrics(run)["cold_start_ndcg_at_10"]["fused_minus_best_single"]
    assert gap["ndcg_difference"] == pytest.approx(headline)
    assert gap["ci_low"] <= gap["ndcg_difference"] <= gap["ci_high"]
    assert {"differences", "alpha_vision_by_kind"} <= set(diagnostics["text_queries"])
    # the sweep's rows, at the 10 significant digits of the diagnostics file
    assert [row["search_recall_at_k"] for row in diagnostics["ann"]["sweep"]] == pytest.approx(
        report.sweep["search_recall_at_k"].tolist(), abs=1e-10)
    assert write_diagnostics(Workspace(tmp_path), "encode", diagnostics).is_file()


def test_headline_table_has_one_row_per_number() -> None:
    table = me.headline_table({"a": {"x": 0.5, "y": None}, "b": {"z": 1}})
    assert table.index.tolist() == [("a", "x"), ("a", "y"), ("b", "z")]
    assert table["value"].iloc[0] == 0.5 and np.isnan(table["value"].iloc[1])


def test_movielens_metrics_are_null_where_the_source_lacks_the_model(movielens_run: dict[str, Any]) -> None:
    run = movielens_run["run"]
    assert list(run.towers) == ["text_only"] and len(run.training.query_pairs.keys) == 0
    assert set(run.evaluation.reports) == {"text", "text_cosine", "popularity", "random"}
    assert run.evaluation.grades.max() == 3 and (run.evaluation.relevant <= (run.evaluation.grades >= 2)).all()
    assert run.index_report.tower_kind == "text_only" and set(run.index_report.stacked.modality) == {"text"}
    metrics = me.encode_metrics(run)
    ndcg = metrics["cold_start_ndcg_at_10"]
    # no images: the image, concat and fused towers do not exist, nor the gap or the attention
    assert ndcg["fused"] is None and ndcg["image"] is None and ndcg["concat"] is None
    assert ndcg["fused_minus_best_single"] is None
    assert metrics["alpha_vision_mean"] == {"visual_queries": None, "content_queries": None}
    assert ndcg["text"] == run.evaluation.reports["text"].ndcg.mean
    assert metrics["cold_start_recall_at_10"]["indexed_tower"] == run.evaluation.reports["text"].recall.mean
    diagnostics = me.encode_diagnostics(run)
    assert diagnostics["dims"]["image"] == 0 and "text_queries" not in diagnostics
    assert diagnostics["neighbour_purity_at_10"][0]["modality"] == "text"
