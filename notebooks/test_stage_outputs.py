"""Numbers, not only cells: after the notebooks ran on the tiny profile, check what they wrote.

Collected after the notebooks (pytest orders a folder's files by name), it reads each stage's
``metrics/<stage>.json`` under ``$HERMES_OUTPUT_ROOT`` and checks its schema (the exact keys,
numbers only) and the invariants that hold whatever the data: records in = accepted +
quarantined, a share equals its ratio, the fused-minus-best gap equals the two means it is the
difference of. Every saved figure has its data table beside it (``dvc plots diff`` reads the CSV).

A stage whose notebook is not part of this pytest session is skipped with the reason; a stage
whose notebook ran (and was not skipped) must have written its files.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from hermes_core.ingest.world_signals import HEADLINE_KEYS

NOTEBOOK_OF_STAGE = {"ingest": "01_ingest.ipynb", "encode": "02_encode.ipynb", "retrieve": "03_retrieve.ipynb",
                     "rank": "04_rank.ipynb", "delayed_feedback": "05_delayed_feedback.ipynb", "ope": "06_ope.ipynb",
                     "rerank": "07_rerank.ipynb"}


def _output_root() -> Path:
    return Path(os.environ["HERMES_OUTPUT_ROOT"])


def _stage_outputs(request: pytest.FixtureRequest, stage: str) -> dict[str, Any]:
    notebook = NOTEBOOK_OF_STAGE[stage]
    items = [item for item in request.session.items if Path(str(item.fspath)).name == notebook]
    if not items:
        pytest.skip(f"{notebook} is not part of this pytest session (run `pytest notebooks`)")
    skipped = [mark for item in items for mark in item.iter_markers("skip")]
    if skipped:
        pytest.skip(f"{notebook} was skipped: {skipped[0].kwargs.get('reason', '')}")
    path = _output_root() / "metrics" / f"{stage}.json"
    assert path.is_file(), f"{notebook} ran but wrote no {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def _leaves(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_leaves(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _assert_numbers(flat: dict[str, Any], nullable: tuple[str, ...] = ()) -> None:
    for key, value in flat.items():
        if value is None and key in nullable:
            continue
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), (
            f"{key} = {value!r} is not a finite number")


def test_ingest_metrics_add_up(request: pytest.FixtureRequest) -> None:
    metrics = dict(_stage_outputs(request, "ingest"))
    signals = metrics.pop("world_signals")
    flat = _leaves(metrics)
    assert set(flat) == {"records_in", "records_accepted", "records_quarantined", "quarantine_share",
                         "injected_recovered_share", "users", "items", "interactions", "density", "top10pct_share"}
    _assert_numbers(flat, nullable=("injected_recovered_share",))
    # the world's headline signals (hermes_core.ingest.world_signals.HEADLINE_KEYS): shares in [0, 1],
    # ratios and lifts positive (the tiny world is too small for the goals; the default one meets them)
    assert set(signals) == set(HEADLINE_KEYS)
    _assert_numbers(signals, nullable=tuple(signals))
    for key in ("conversions_after_7d", "last_week_unobserved", "history_variance_share", "mainstream_share_top10",
                "mainstream_share_items", "dense_hidden_r2", "fatigue_cost", "placebo_r2"):
        assert 0.0 <= signals[key] <= 1.0, key
    for key in ("best_two_hop_lift", "last_click_over_static"):
        assert signals[key] > 0, key
    assert flat["records_in"] == flat["records_accepted"] + flat["records_quarantined"]
    assert flat["quarantine_share"] == pytest.approx(flat["records_quarantined"] / flat["records_in"], abs=1e-6)
    # the tiny world injects malformed records (world.malformed_share) and every one is caught
    assert flat["records_quarantined"] > 0 and flat["injected_recovered_share"] == 1.0
    assert 0 < flat["density"] <= 1 and flat["interactions"] >= flat["users"]
    # the top 10% of items hold at least 10% of events (equality only for a flat catalogue)
    assert 0.1 <= flat["top10pct_share"] <= 1.0


def test_encode_metrics_are_consistent(request: pytest.FixtureRequest) -> None:
    metrics = _stage_outputs(request, "encode")
    ndcg_key = next(key for key in metrics if key.startswith("cold_start_ndcg_at_"))
    recall_key = next(key for key in metrics if key.startswith("cold_start_recall_at_"))
    assert set(metrics) == {ndcg_key, recall_key, "ann", "alpha_vision_mean", "fusion_diagnostics"}
    assert set(metrics[ndcg_key]) == {"fused", "text", "image", "concat", "popularity", "fused_minus_best_single"}
    assert set(metrics["alpha_vision_mean"]) == {"visual_queries", "content_queries"}
    k = ndcg_key.rsplit("_", 1)[-1]
    fusion = metrics["fusion_diagnostics"]
    assert set(fusion) == {"query_share_of_gate_variance", f"oracle_ndcg_at_{k}", f"fused_seed_sd_ndcg_at_{k}"}
    # the gates read the query only: the query explains all of their variance
    assert fusion["query_share_of_gate_variance"] == pytest.approx(1.0)
    assert fusion[f"fused_seed_sd_ndcg_at_{k}"] >= 0.0
    flat = _leaves(metrics)
    _assert_numbers(flat)
    ndcg = metrics[ndcg_key]
    # the paired mean difference over the same users equals the difference of the two means
    assert ndcg["fused_minus_best_single"] == pytest.approx(ndcg["fused"] - max(ndcg["text"], ndcg["image"]), abs=2e-6)
    assert all(0.0 <= value <= 1.0 for key, value in flat.items() if key != f"{ndcg_key}.fused_minus_best_single")


def test_ope_metrics_are_consistent(request: pytest.FixtureRequest) -> None:
    metrics = _stage_outputs(request, "ope")
    assert set(metrics) == {"world", "obd_bts_from_random", "gate", "slate"}
    assert set(metrics["world"]) == {"dm_mean_relative_error", "ipw_mean_relative_error", "snipw_mean_relative_error",
                                     "dr_mean_relative_error", "dr_coverage", "ipw_coverage"}
    assert set(metrics["obd_bts_from_random"]) == {"ipw_mean_relative_error", "snipw_mean_relative_error",
                                                   "dr_mean_relative_error", "ipw_relative_ee_mc_se",
                                                   "snipw_relative_ee_mc_se", "dr_relative_ee_mc_se",
                                                   "ipw_parity_mean_relative_error", "dr_parity_mean_relative_error",
                                                   "reward_model_log_loss_skill"}
    assert set(metrics["gate"]) == {"right_decision_share", "main_promoted", "error_rate_promote_not_better",
                                    "error_rate_keep_better"}
    assert set(metrics["slate"]) == {f"{model}_{name}_relative_rmse" for model in ("position", "cascade")
                                     for name in ("iips", "rips")}
    flat = _leaves(metrics)
    _assert_numbers(flat)
    assert all(value >= 0 for key, value in flat.items() if key.endswith(("relative_error", "mc_se", "relative_rmse")))
    assert all(0.0 <= value <= 1.0 for key, value in flat.items() if key.endswith(("coverage", "share")))
    assert all(0.0 <= value <= 1.0 for key, value in flat.items() if ".error_rate_" in key)
    assert metrics["obd_bts_from_random"]["reward_model_log_loss_skill"] <= 1.0
    assert metrics["gate"]["main_promoted"] in (0, 1)


def test_retrieve_metrics_are_consistent(request: pytest.FixtureRequest) -> None:
    metrics = _stage_outputs(request, "retrieve")
    assert set(metrics) == {"recall_at_100", "sasrec", "query_constraints", "latency_ms", "source_failures"}
    assert set(metrics["recall_at_100"]) == {"ann", "kg", "sasrec", "blend", "popularity", "transition"}
    assert set(metrics["sasrec"]) == {f"{prefix}{name}" for prefix in ("", "ml100k_")
                                      for name in ("hr_at_10_sampled100", "ndcg_at_10_sampled100", "ndcg_at_10_full")}
    flat = _leaves(metrics)
    _assert_numbers(flat)
    assert all(0.0 <= value <= 1.0 for key, value in flat.items()
               if key.startswith(("recall_at_100", "sasrec", "query_constraints")))
    # NDCG@10 never exceeds HR@10 on one target per user, and the full ranking is the harder protocol
    sasrec = metrics["sasrec"]
    assert sasrec["ndcg_at_10_sampled100"] <= sasrec["hr_at_10_sampled100"]
    assert sasrec["ndcg_at_10_full"] <= sasrec["ndcg_at_10_sampled100"] + 1e-12
    assert all(metrics["latency_ms"][f"{name}_p50"] <= metrics["latency_ms"][f"{name}_p99"] + 1e-9
               for name in ("ann", "kg", "sasrec"))
    assert all(value >= 0 and float(value).is_integer() for value in metrics["source_failures"].values())


def test_rank_metrics_are_consistent(request: pytest.FixtureRequest) -> None:
    metrics = _stage_outputs(request, "rank")
    assert set(metrics) == {"ndcg_at_10", "mrr", "train_seconds", "lists_per_second", "pre_rank_recall", "clicks"}
    rankers = {"listmle", "softmax", "approxndcg", "lambdaloss", "ranknet", "pointwise_bce", "lightgbm_lambdarank",
               "popularity", "random"}
    assert set(metrics["ndcg_at_10"]) == rankers and set(metrics["mrr"]) == rankers
    assert set(metrics["clicks"]) == {"naive", "ips", "examination_free"}
    flat = _leaves(metrics)
    _assert_numbers(flat)
    assert all(0.0 <= value <= 1.0 for key, value in flat.items() if key.startswith(("ndcg", "mrr", "pre_rank", "clicks")))
    assert metrics["train_seconds"] > 0 and metrics["lists_per_second"] > 0
    scores = _output_root() / "data" / "rank" / "scores.parquet"
    assert scores.is_file(), f"the rank notebook wrote no {scores}"


def test_delayed_feedback_metrics_are_consistent(request: pytest.FixtureRequest) -> None:
    metrics = _stage_outputs(request, "delayed_feedback")
    corrections = {"dfm", "fnw", "fsiw", "esdfm", "defer", "elapsed_weight"}
    assert set(metrics) == {"vanilla", "oracle", "ri_auc", "ri_prauc", "ri_nll"}
    for end in ("vanilla", "oracle"):
        assert set(metrics[end]) == {"auc", "prauc", "nll"}
        assert 0.0 <= metrics[end]["auc"] <= 1.0 and 0.0 <= metrics[end]["prauc"] <= 1.0 and metrics[end]["nll"] > 0
    for ri in ("ri_auc", "ri_prauc", "ri_nll"):
        assert set(metrics[ri]) == corrections, ri
    _assert_numbers(_leaves(metrics))


def test_rerank_metrics_are_consistent(request: pytest.FixtureRequest) -> None:
    metrics = _stage_outputs(request, "rerank")
    policies = {"before", "mmr", "parity", "singh_joachims", "fair"}
    assert set(metrics) == {"ndcg_at_10", "ild", "exposure_ratio", "exposure_gini", "expected_clicks",
                            "default_policy_index", "singh_joachims_infeasible_lists"}
    for measure in ("ndcg_at_10", "ild", "exposure_ratio", "exposure_gini"):
        assert set(metrics[measure]) == policies, measure
    flat = _leaves(metrics)
    _assert_numbers(flat)
    assert all(0.0 <= value <= 1.0 for key, value in flat.items() if key.startswith(("ndcg", "ild", "exposure_gini")))
    assert metrics["default_policy_index"] in (0, 1, 2, 3)
    assert metrics["expected_clicks"]["before"] > 0 and metrics["expected_clicks"]["default_policy"] > 0
    slates = _output_root() / "data" / "rerank" / "slates.parquet"
    assert slates.is_file(), f"the rerank notebook wrote no {slates}"


@pytest.mark.parametrize("stage", sorted(NOTEBOOK_OF_STAGE))
def test_every_figure_has_its_data_beside_it(request: pytest.FixtureRequest, stage: str) -> None:
    _stage_outputs(request, stage)
    folder = _output_root() / "reports" / "figures" / stage
    pictures = sorted(folder.glob("*.png"))
    assert pictures, f"no figure in {folder}"
    missing = [p.name for p in pictures if not p.with_suffix(".csv").is_file()]
    assert not missing, f"figures without their data table in {folder}: {missing}"
