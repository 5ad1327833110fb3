"""The quarantine's tables and the injected-record check.

The MovieLens 100K fixture's 26 lines hold 13 defects (see ``tests/data/test_reader_movielens.py``):
assets 9 lines, 4 quarantined (2 unparseable, 2 wrong type; item 4, "unknown" without a date or
year, is kept); users 5, 3 quarantined (1 unparseable, 2 wrong type); ratings 12, 6 quarantined
(2 unparseable, 2 wrong type, 2 off the 1-5 scale of whole stars: 9 and 2.5).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from hermes_core.ingest.quarantine import (
    InjectionRecovery,
    counts_table,
    injection_recovery,
    quarantine_examples,
    reasons_table,
)
from hermes_core.ingest.stage import IngestStageResult
from hermes_core.ingest.validate import IngestResult
from hermes_core.world.export import InjectedRecord


def test_counts_table_gives_the_quarantined_share_per_table(movielens_stage: IngestStageResult) -> None:
    table = counts_table(movielens_stage.result)
    assert table[["in", "accepted", "quarantined"]].to_dict(orient="index") == {
        "assets": {"in": 9, "accepted": 5, "quarantined": 4},
        "users": {"in": 5, "accepted": 2, "quarantined": 3},
        "interactions": {"in": 12, "accepted": 6, "quarantined": 6},
    }
    # 4 / 9 = 44.44 %, 3 / 5 = 60 %, 6 / 12 = 50 %
    assert table["quarantined (%)"].tolist() == [44.44, 60.0, 50.0]


def test_counts_table_leaves_the_share_of_an_empty_table_undefined() -> None:
    result = IngestResult(tables={}, quarantine=pd.DataFrame(), counts={"queries": {"in": 0, "accepted": 0,
                                                                                   "quarantined": 0}})
    assert counts_table(result)["quarantined (%)"].isna().all()


def test_reasons_table_most_frequent_first(movielens_stage: IngestStageResult) -> None:
    # wrong type 2 + 2 + 2, unparseable 2 + 1 + 2, out of range 2 (ratings 9 and 2.5)
    assert reasons_table(movielens_stage.result)["records"].to_dict() == {"wrong_type": 6, "unparseable": 5,
                                                                          "out_of_range": 2}


def test_quarantine_examples_take_the_first_records_of_each_reason(movielens_stage: IngestStageResult) -> None:
    examples = quarantine_examples(movielens_stage.result, 1)
    # the first line of each reason in quarantine order: assets first, then users, then ratings
    assert list(zip(examples["reason"], examples["source"])) == [
        ("unparseable", "u.item:5"), ("wrong_type", "u.item:8"), ("out_of_range", "u.data:11")]
    assert examples["raw"].str.len().max() <= 80
    assert len(quarantine_examples(movielens_stage.result, 2)) == 6  # 2 of each of the 3 reasons
    assert len(quarantine_examples(movielens_stage.result, 0)) == 3  # at least one of each
    empty = IngestResult(tables={}, quarantine=pd.DataFrame(), counts={})
    assert list(quarantine_examples(empty, 2).columns) == ["table", "source", "reason", "messages", "raw"]


def test_injection_recovery_matches_table_and_line(make_stage: Callable[..., IngestStageResult]) -> None:
    stage = make_stage({}, "world")
    stage.result.quarantine = pd.DataFrame({"table": ["users", "users", "assets"],
                                            "source": ["users.jsonl:3", "users.jsonl:9", "assets.jsonl:3"],
                                            "reason": ["wrong_type"] * 3})
    # injected users 3 and 4 and assets 3: users 3 and assets 3 found, users 4 missed; users 9 was not injected
    stage.injected = [InjectedRecord("users", 3, "wrong_type"), InjectedRecord("users", 4, "wrong_type"),
                      InjectedRecord("assets", 3, "wrong_type")]
    stage.world = object()  # type: ignore[assignment]  # only its presence matters
    recovery = injection_recovery(stage)
    assert recovery == InjectionRecovery(injected=3, recovered=2, false_quarantines=1)
    assert recovery.recovered_share == pytest.approx(2 / 3)
    assert InjectionRecovery(0, 0, 0).recovered_share is None


def test_no_injection_check_without_a_world(movielens_stage: IngestStageResult,
                                            world_stage: IngestStageResult) -> None:
    assert injection_recovery(movielens_stage) is None
    # the tiny world: every injected record quarantined, nothing else
    recovery = injection_recovery(world_stage)
    assert recovery == InjectionRecovery(len(world_stage.injected), len(world_stage.injected), 0)
