"""``metrics/ingest.json`` and the diagnostics, on the MovieLens 100K fixture (numbers worked out
by hand from its 26 lines) and on the tiny world (numbers recomputed independently from the
accepted tables)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hermes_core.ingest.metrics import ingest_diagnostics, ingest_metrics, metrics_table
from hermes_core.ingest.profile import data_profile
from hermes_core.ingest.stage import IngestStageResult
from hermes_core.ingest.world_signals import HEADLINE_KEYS, measure_world_signals
from hermes_core.workspace import Workspace, write_diagnostics, write_metrics

METRIC_KEYS = ["records_in", "records_accepted", "records_quarantined", "quarantine_share",
               "injected_recovered_share", "users", "items", "interactions", "density", "top10pct_share"]


def test_metrics_table_formats_each_kind_of_number() -> None:
    table = metrics_table({"records_in": 15153, "quarantine_share": 0.019666, "injected_recovered_share": None,
                           "density": float("nan")})
    assert table["value"].to_dict() == {"records_in": "15,153", "quarantine_share": "1.97 %",
                                        "injected_recovered_share": "n/a", "density": "n/a"}


def test_movielens_metrics_by_hand(movielens_stage: IngestStageResult, tmp_path: Path) -> None:
    metrics = ingest_metrics(movielens_stage)
    assert list(metrics) == METRIC_KEYS
    # accepted: movies 1, 2, 3, 4, 7; users 1, 2; ratings u1: 1, 2, 4, 7 and u2: 1, 3 (6 distinct pairs)
    assert metrics == {
        "records_in": 26, "records_accepted": 13, "records_quarantined": 13,
        "quarantine_share": pytest.approx(13 / 26),
        "injected_recovered_share": None,  # nothing injected into real files
        "users": 2, "items": 5, "interactions": 6,
        "density": pytest.approx(6 / (2 * 5)),
        # top 10% of 5 items: max(1, round(0.5)) = 1 item, movie 1 with 2 of the 6 ratings
        "top10pct_share": pytest.approx(2 / 6),
    }
    write_metrics(Workspace(tmp_path), "ingest", metrics)  # refuses more than MAX_HEADLINE_METRICS numbers or any non-number


def test_movielens_diagnostics(movielens_stage: IngestStageResult, tmp_path: Path) -> None:
    diagnostics = ingest_diagnostics(movielens_stage)
    assert diagnostics["source"] == "movielens-100k"
    assert diagnostics["store_version"] == movielens_stage.manifest.version
    assert diagnostics["tables"] == movielens_stage.result.counts
    assert diagnostics["quarantine_by_reason"] == {"out_of_range": 2, "unparseable": 5, "wrong_type": 6}
    assert diagnostics["injected"] is None and diagnostics["world"] is None
    assert diagnostics["profile"]["event_type"] == "rating"
    # the accepted ratings 5, 3, 4, 2, 1, 4 (u.data lines 1-5 and 10)
    assert diagnostics["profile"]["rating_counts"] == {"1": 1, "2": 1, "3": 1, "4": 2, "5": 1}
    assert set(diagnostics["seconds"]) == {"source", "validate", "store"}
    workspace = Workspace(tmp_path)
    write_diagnostics(workspace, "ingest", diagnostics)
    assert json.loads(workspace.diagnostics_file("ingest").read_text())["source"] == "movielens-100k"


def test_world_metrics_match_an_independent_count(world_stage: IngestStageResult, tmp_path: Path) -> None:
    signals = measure_world_signals(world_stage.world)
    metrics = ingest_metrics(world_stage, signals=signals)
    assert list(metrics) == METRIC_KEYS + ["world_signals"]
    # the world's headline signals, exactly those of WorldSignals.headline, and the file accepts them
    assert metrics["world_signals"] == signals.headline()
    assert list(metrics["world_signals"]) == list(HEADLINE_KEYS)
    write_metrics(Workspace(tmp_path), "ingest", metrics)
    result = world_stage.result
    assert metrics["records_in"] == metrics["records_accepted"] + metrics["records_quarantined"]
    assert metrics["records_quarantined"] == len(world_stage.injected)
    assert metrics["quarantine_share"] == pytest.approx(len(world_stage.injected) / metrics["records_in"])
    assert metrics["injected_recovered_share"] == 1.0  # every injected record caught (test_validate.py)
    # the tiny world (tests/conftest.py): 200 users, 150 items, all accepted
    assert (metrics["users"], metrics["items"]) == (200, 150)
    assert metrics["interactions"] == result.counts["interactions"]["accepted"]
    impressions = result.tables["interactions"].query("event_type == 'impression'")
    pairs = len(impressions[["user_id", "item_id"]].drop_duplicates())
    assert metrics["density"] == pytest.approx(pairs / (200 * 150))
    # top 10% = 15 of 150 items, counts with zeros included, sorted with numpy
    per_item = impressions["item_id"].value_counts().reindex(result.tables["assets"]["asset_id"], fill_value=0)
    counts = np.sort(per_item.to_numpy())[::-1]
    assert metrics["top10pct_share"] == pytest.approx(counts[:15].sum() / counts.sum())
    # passing the profile the notebook already has changes nothing
    assert ingest_metrics(world_stage, data_profile(result.tables)) == metrics


def test_world_diagnostics(world_stage: IngestStageResult) -> None:
    diagnostics = ingest_diagnostics(world_stage)
    assert sum(diagnostics["quarantine_by_reason"].values()) == len(world_stage.injected)
    assert diagnostics["injected"] == {"injected": len(world_stage.injected), "recovered": len(world_stage.injected),
                                       "false_quarantines": 0}
    assert diagnostics["world"]["n_users"] == 200
    assert diagnostics["profile"]["event_type"] == "impression"
    json.dumps(diagnostics)  # the diagnostics file must be JSON-serialisable
    # the signals the notebook measured once (section 7) give the same file as measuring them here
    signals = measure_world_signals(world_stage.world)
    assert json.dumps(ingest_diagnostics(world_stage, signals=signals)) == json.dumps(diagnostics)
