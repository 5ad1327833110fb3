"""The source: its description, how it is loaded, and the world's ground truth."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from hermes_core.ingest.sources import (
    WORLD_MODEL_MARKDOWN,
    load_source,
    source_description,
    world_summary,
    world_summary_table,
)
from hermes_core.ingest.stage import IngestStageResult
from hermes_core.params import HermesParams
from hermes_core.workspace import MissingDataError, Workspace


def test_source_description_follows_the_source() -> None:
    world = source_description("world")
    assert world.endswith(WORLD_MODEL_MARKDOWN)
    assert r"P(\text{click}\mid u,i,k) = (k+1)^{-\eta}" in world
    ml = source_description("movielens-100k")
    assert "MovieLens 100K" in ml and "1 to 5" in ml and "Unix timestamp" in ml
    assert "Plackett" not in ml
    assert "half-star" in source_description("movielens-latest")
    with pytest.raises(ValueError, match="data.source 'netflix'"):
        source_description("netflix")


def test_configured_movielens_folder_missing_is_an_error_naming_the_parameter(tmp_path: Path) -> None:
    params = HermesParams.model_validate(
        {"data": {"source": "movielens-100k", "movielens_path": str(tmp_path / "nowhere")}})
    with pytest.raises(MissingDataError) as error:
        load_source(params, Workspace(tmp_path / "out"))
    assert str(tmp_path / "nowhere") in str(error.value)
    assert "data.movielens_path" in str(error.value)


def test_movielens_source_is_validated_against_its_snapshot_time_and_scale(tmp_path: Path) -> None:
    from hermes_core.data.readers.movielens import RATING_SCALES, SNAPSHOT_TIMES

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "movielens" / "100k"
    params = HermesParams.model_validate({"data": {"source": "movielens-100k", "movielens_path": str(fixture)}})
    loaded = load_source(params, Workspace(tmp_path))
    # never the wall clock: the end of 2015, after every date of the 100K files
    assert loaded.now == SNAPSHOT_TIMES["100k"] == datetime(2016, 1, 1, tzinfo=timezone.utc)
    assert loaded.rating_scale == RATING_SCALES["100k"]
    assert (loaded.rating_scale.low, loaded.rating_scale.high, loaded.rating_scale.step) == (1.0, 5.0, 1.0)


def test_world_source_writes_its_raw_logs_and_the_injected_list(world_stage: IngestStageResult,
                                                                world_workspace: Workspace) -> None:
    listed = json.loads((world_workspace.world / "injected.json").read_text(encoding="utf-8"))
    assert listed == [{"table": i.table, "line": i.line, "kind": i.kind} for i in world_stage.injected]
    # every raw file holds exactly the records that came in for its table
    for table, counts in world_stage.result.counts.items():
        lines = (world_workspace.raw / "world" / f"{table}.jsonl").read_bytes().splitlines()
        assert len(lines) == counts["in"], table


def test_world_summary_reads_the_logs(world_stage: IngestStageResult) -> None:
    world = world_stage.world
    assert world is not None
    summary = world_summary(world)
    logs = world.logs
    # 1,500 requests of 5 shown items each (tests/conftest.py's tiny world, slate of the default 5)
    assert (summary["n_users"], summary["n_items"], summary["n_requests"]) == (200, 150, 1500)
    assert summary["n_impressions"] == logs.slate.size
    assert summary["click_through_rate"] == pytest.approx(logs.clicks.sum() / logs.clicks.size)
    # censored share: converted but not observed, over converted
    converted = int(logs.converted.sum())
    assert summary["conversions_censored_share"] == pytest.approx(
        (converted - int(logs.conversion_observed.sum())) / converted)
    # the smallest propensity of a shown item: P(candidate slate[r, k] at position k), request by request
    shown = [logs.logging_marginals[r, logs.slate[r, k], k] for r in range(len(logs.slate))
             for k in range(logs.slate.shape[1])]
    assert summary["min_logged_propensity"] == pytest.approx(float(np.min(shown)))
    table = world_summary_table(world)["ground truth"]
    assert table["n_requests"] == "1,500"
    assert table["click_through_rate"] == f"{summary['click_through_rate']:.4g}"
    json.dumps(summary)  # goes to the diagnostics file
