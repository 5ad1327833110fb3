"""What the notebook shows of the snapshot, checked against the stage's own counts and an
independent pandas computation of the point-in-time read."""

from __future__ import annotations

from hermes_core.data.store import FeatureStore
from hermes_core.ingest.snapshot import point_in_time_example, snapshot_tables
from hermes_core.ingest.stage import IngestStageResult
from hermes_core.workspace import Workspace


def test_snapshot_tables_count_rows_and_columns(world_stage: IngestStageResult) -> None:
    table = snapshot_tables(world_stage.manifest)
    expected_rows = {name: counts["accepted"] for name, counts in world_stage.result.counts.items()}
    expected_rows["quarantine"] = world_stage.result.records_quarantined
    assert table["rows"].to_dict() == expected_rows
    assert table.loc["interactions", "columns"] == len(world_stage.result.tables["interactions"].columns)


def test_point_in_time_example_is_each_users_latest_event_before_the_midpoint(
        world_stage: IngestStageResult, world_workspace: Workspace) -> None:
    tables = world_stage.result.tables
    store = FeatureStore(world_workspace.store)
    n_users = len(tables["users"])  # every user: both kinds of answer occur (an event before the midpoint, or none)
    example = point_in_time_example(store, world_stage.manifest.version, tables, n_users=n_users)
    events = tables["interactions"]
    first, last = events["timestamp"].min(), events["timestamp"].max()
    assert example.as_of == first + (last - first) / 2
    users = tables["users"]["user_id"].tolist()
    assert example.latest["user_id"].tolist() == users
    # independently: per user, the largest timestamp not after the midpoint (NaT without one)
    earlier = events[events["timestamp"] <= example.as_of]
    expected = earlier.groupby("user_id")["timestamp"].max().reindex(users)
    assert 0 < expected.notna().sum() < n_users
    assert example.latest["timestamp"].tolist() == expected.tolist()
