"""The conversion stream's raw tables: what ``write_raw`` exports of ``world.conversions``.

All tests read the shared tiny world and its raw folder (``tests/conftest.py``: 5,000 clicks,
2% malformed records). Each exported value is compared with the stream's own arrays, so a
wrong time, hour, device or label in the export fails here.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest

from hermes_core.data.schema import ConversionClick, Device
from hermes_core.world import World
from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.conversions import DEVICES
from hermes_core.world.export import (
    CORRUPTION_KINDS,
    InjectedRecord,
    check_conversions_before_now,
    click_id,
    write_raw,
)


def table_lines(folder: Path, table: str, injected: list[InjectedRecord]) -> tuple[list[dict[str, Any]],
                                                                                   dict[int, dict[str, Any]]]:
    """(clean records in file order, injected records by line) of ``<table>.jsonl``."""
    bad = {i.line for i in injected if i.table == table}
    lines = (folder / f"{table}.jsonl").read_text(encoding="utf-8").splitlines()
    clean = [json.loads(line) for n, line in enumerate(lines, start=1) if n not in bad]
    return clean, {n: json.loads(line) for n, line in enumerate(lines, start=1) if n in bad}


def days_since_start(world: World, stamp: str) -> float:
    return (datetime.fromisoformat(stamp) - world.start).total_seconds() / SECONDS_PER_DAY


def test_schema_devices_are_the_worlds_devices() -> None:
    assert get_args(Device) == DEVICES


def test_clicks_are_the_stream_in_time_order_without_its_truth(tiny_world: World,
                                                               tiny_raw_folder: tuple[Path, list]) -> None:
    folder, injected = tiny_raw_folder
    clicks, _ = table_lines(folder, "conversion_clicks", injected)
    stream = tiny_world.conversions
    assert len(clicks) == stream.n_clicks == 5000
    assert all(set(c) == set(ConversionClick.model_fields) for c in clicks)  # no probability, label or delay
    assert [c["click_id"] for c in clicks] == [click_id(k) for k in range(stream.n_clicks)]
    assert [c["user_id"] for c in clicks] == [f"w:user:{u:06d}" for u in stream.user]
    assert [c["item_id"] for c in clicks] == [f"w:item:{i:06d}" for i in stream.item]
    assert [c["hour"] for c in clicks] == stream.hour.tolist()
    assert [c["device"] for c in clicks] == [DEVICES[d] for d in stream.device]
    # timestamps are exact to the microsecond they are written with (1e-6 s = 1.2e-11 days)
    times = np.array([days_since_start(tiny_world, c["timestamp"]) for c in clicks])
    np.testing.assert_allclose(times, stream.click_time_days, rtol=0, atol=2e-11)
    # the hour field is the UTC hour of the timestamp (click time = day + (hour + U) / 24)
    assert [datetime.fromisoformat(c["timestamp"]).hour for c in clicks] == stream.hour.tolist()


def test_events_are_every_counted_conversion_late_ones_included(tiny_world: World,
                                                                tiny_raw_folder: tuple[Path, list]) -> None:
    folder, injected = tiny_raw_folder
    events, _ = table_lines(folder, "conversion_events", injected)
    stream = tiny_world.conversions
    counted = np.flatnonzero(stream.true_label)
    assert len(events) == len(counted) > 0
    assert sorted(e["click_id"] for e in events) == [click_id(k) for k in counted]
    times = np.array([days_since_start(tiny_world, e["timestamp"]) for e in events])
    assert np.all(np.diff(times) >= 0)  # time order
    index = np.array([int(e["click_id"].rsplit(":", 1)[1]) for e in events])
    np.testing.assert_allclose(times, stream.conversion_time_days[index], rtol=0, atol=2e-11)
    # conversions after the stream's cut-off are exported (the late labels), as many as the truth has
    late = int(np.sum(stream.conversion_time_days[counted] > stream.cutoff_days))
    assert late > 0
    assert int(np.sum(times > stream.cutoff_days)) == late
    # and none lies after the world's now: ingestion would call it a future timestamp
    assert times.max() <= (tiny_world.end - tiny_world.start).total_seconds() / SECONDS_PER_DAY


def test_injected_records_of_the_stream_tables(tiny_world: World, tiny_raw_folder: tuple[Path, list]) -> None:
    folder, injected = tiny_raw_folder
    clicks, _ = table_lines(folder, "conversion_clicks", injected)
    click_time = {c["click_id"]: c["timestamp"] for c in clicks}
    events, _ = table_lines(folder, "conversion_events", injected)
    for table, n_clean in (("conversion_clicks", len(clicks)), ("conversion_events", len(events))):
        kinds = Counter(i.kind for i in injected if i.table == table)
        # round(0.02 n) records, the kinds cycled evenly
        assert sum(kinds.values()) == round(tiny_world.params.malformed_share * n_clean), table
        assert set(kinds) == set(CORRUPTION_KINDS[table]), table
        assert max(kinds.values()) - min(kinds.values()) <= 1, table
    _, bad_events = table_lines(folder, "conversion_events", injected)
    for record in injected:
        if record.table == "conversion_events" and record.kind == "before_click":
            bad = bad_events[record.line]
            shift = datetime.fromisoformat(bad["timestamp"]) - datetime.fromisoformat(click_time[bad["click_id"]])
            assert shift == timedelta(hours=-1)


def test_a_window_reaching_past_now_is_refused_naming_the_parameters(tiny_world: World, tmp_path: Path) -> None:
    # now is day 90 + 30 = 120: clicks until day 60 plus 30 days of window reach day 90, clicks
    # until day 100 reach day 130
    check_conversions_before_now(tiny_world)
    conversions = tiny_world.params.conversions.model_copy(update={"click_days": 100})
    late_world = dataclasses.replace(tiny_world, params=tiny_world.params.model_copy(update={"conversions": conversions}))
    with pytest.raises(ValueError, match="click_days.*attribution_window_days") as error:
        write_raw(late_world, tmp_path / "raw")
    assert "day 130" in str(error.value) and "day 120" in str(error.value)
    assert not (tmp_path / "raw").exists()  # refused before writing anything
    # exactly at now is allowed (a timestamp equal to now is not in the future)
    edge = tiny_world.params.conversions.model_copy(update={"click_days": 90})
    check_conversions_before_now(dataclasses.replace(
        tiny_world, params=tiny_world.params.model_copy(update={"conversions": edge})))
