"""Ingestion accounts for every record: accepted + quarantined = in, for the right reasons.

Two kinds of input: the tiny world's raw folder, whose malformed records are known exactly
(``write_raw`` returns where it put each one), and a hand-made folder whose expected counts
and reasons are written out below line by line.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hermes_core.ingest.validate import IngestResult, ingest, read_jsonl, read_raw_folder
from hermes_core.world import World
from hermes_core.world.export import InjectedRecord

# the reason code ingestion gives each kind of injected record, per table
EXPECTED_REASON: dict[tuple[str, str], str] = {
    ("assets", "missing_title"): "missing_field",
    ("assets", "empty_title"): "empty_value",
    ("assets", "wrong_type"): "wrong_type",
    ("assets", "wrong_length"): "wrong_length",
    ("assets", "unknown_domain"): "unknown_value",
    ("assets", "duplicate_id"): "duplicate_id",
    ("assets", "future_timestamp"): "future_timestamp",
    ("users", "wrong_type"): "wrong_type",
    ("users", "duplicate_id"): "duplicate_id",
    ("users", "future_timestamp"): "future_timestamp",
    ("requests", "unknown_user"): "unknown_user",
    ("requests", "wrong_type"): "wrong_type",
    ("requests", "duplicate_id"): "duplicate_id",
    ("interactions", "unknown_user"): "unknown_user",
    ("interactions", "unknown_item"): "unknown_item",
    ("interactions", "future_timestamp"): "future_timestamp",
    ("interactions", "wrong_type"): "wrong_type",
    ("interactions", "missing_field"): "missing_field",
    ("kg_triples", "wrong_type"): "unknown_value",  # relation 42 is not one of the Literal relations
    ("queries", "empty_text"): "empty_value",
    ("queries", "duplicate_id"): "duplicate_id",
    ("conversion_clicks", "unknown_user"): "unknown_user",
    ("conversion_clicks", "unknown_item"): "unknown_item",
    ("conversion_clicks", "wrong_type"): "wrong_type",  # hour "evening"
    ("conversion_clicks", "out_of_range"): "out_of_range",  # hour 24
    ("conversion_clicks", "unknown_device"): "unknown_value",  # device "smartwatch" is not a Device
    ("conversion_clicks", "duplicate_id"): "duplicate_id",
    ("conversion_clicks", "future_timestamp"): "future_timestamp",
    ("conversion_clicks", "missing_field"): "missing_field",
    ("conversion_events", "unknown_click"): "unknown_click",
    ("conversion_events", "before_click"): "before_click",
    ("conversion_events", "after_window"): "after_window",
    ("conversion_events", "future_timestamp"): "future_timestamp",
    ("conversion_events", "wrong_type"): "wrong_type",  # timestamp "last tuesday"
    ("conversion_events", "duplicate_id"): "duplicate_id",
}


@pytest.fixture(scope="module")
def world_ingest(tiny_world: World, tiny_raw_folder: tuple[Path, list[InjectedRecord]]) -> IngestResult:
    folder, _ = tiny_raw_folder
    # with the world's attribution window: no valid conversion may be taken for a late one
    return ingest(read_raw_folder(folder), now=tiny_world.end, dense_dim=tiny_world.params.dense_dim,
                  attribution_window_days=tiny_world.params.conversions.attribution_window_days)


def line_count(path: Path) -> int:
    return len(path.read_bytes().splitlines())


# ---------------------------------------------------------------------- the world's raw folder
def test_quarantine_is_exactly_the_injected_records(world_ingest: IngestResult,
                                                    tiny_raw_folder: tuple[Path, list[InjectedRecord]]) -> None:
    _, injected = tiny_raw_folder
    expected = {(i.table, f"{i.table}.jsonl:{i.line}") for i in injected}
    found = set(zip(world_ingest.quarantine["table"], world_ingest.quarantine["source"]))
    assert len(found) == len(world_ingest.quarantine)  # one entry per quarantined record
    assert found == expected
    # round(0.02 * n) per table, so every table had something injected
    assert {i.table for i in injected} == {"assets", "users", "requests", "interactions", "kg_triples", "queries",
                                           "conversion_clicks", "conversion_events"}


def test_descriptions_and_queries_with_planted_instructions_are_accepted(world_ingest: IngestResult,
                                                                        tiny_world: World) -> None:
    # an instruction in a text is not a schema error: the record is valid and kept, word for word
    # (the explain stage's guard is measured on them); the truth knows which ones carry one
    from hermes_core.world import item_id

    assets = world_ingest.tables["assets"].set_index("asset_id")
    planted = [i for i in range(tiny_world.n_items) if tiny_world.catalogue.injected[i]]
    assert planted, "the tiny world plants no instruction: raise injection_share in the fixture"
    kept = [i for i in planted if isinstance(assets.loc[item_id(i), "text_content"], str)]
    assert kept  # a few items have no text at all (MISSING_TEXT_SHARE), the rest keep theirs
    for i in kept:
        assert assets.loc[item_id(i), "text_content"] == tiny_world.catalogue.descriptions[i]
    queries = world_ingest.tables["queries"].set_index("query_id")
    for k in map(int, tiny_world.queries.injected.nonzero()[0]):
        assert queries.loc[f"w:query:{k:05d}", "text"] == tiny_world.queries.text[k]


def test_each_injected_kind_gets_its_reason(world_ingest: IngestResult,
                                           tiny_raw_folder: tuple[Path, list[InjectedRecord]]) -> None:
    _, injected = tiny_raw_folder
    reason_at = {(t, s): r for t, s, r in zip(world_ingest.quarantine["table"], world_ingest.quarantine["source"],
                                              world_ingest.quarantine["reason"])}
    for record in injected:
        assert reason_at[(record.table, f"{record.table}.jsonl:{record.line}")] == \
            EXPECTED_REASON[(record.table, record.kind)], record
    assert world_ingest.quarantine_by_reason() == dict(sorted(Counter(
        EXPECTED_REASON[(i.table, i.kind)] for i in injected).items()))


def test_records_in_equal_accepted_plus_quarantined_per_table(world_ingest: IngestResult, tiny_world: World,
                                                              tiny_raw_folder: tuple[Path, list[InjectedRecord]]) -> None:
    folder, injected = tiny_raw_folder
    n_injected = Counter(i.table for i in injected)
    for table, counts in world_ingest.counts.items():
        assert counts["in"] == line_count(folder / f"{table}.jsonl"), table
        assert counts["in"] == counts["accepted"] + counts["quarantined"], table
        assert counts["quarantined"] == n_injected[table], table
        assert len(world_ingest.tables[table]) == counts["accepted"], table
    # what is accepted is exactly the world: every item, user and request once
    assert world_ingest.counts["assets"]["accepted"] == tiny_world.n_items
    assert world_ingest.counts["users"]["accepted"] == tiny_world.n_users
    assert world_ingest.counts["requests"]["accepted"] == 1500
    # every click of the stream, and every counted conversion, once
    assert world_ingest.counts["conversion_clicks"]["accepted"] == tiny_world.conversions.n_clicks == 5000
    assert world_ingest.counts["conversion_events"]["accepted"] == int(tiny_world.conversions.true_label.sum())
    assert world_ingest.records_in == world_ingest.records_accepted + world_ingest.records_quarantined


def test_chunk_size_does_not_change_the_outcome(world_ingest: IngestResult, tiny_world: World,
                                                tiny_raw_folder: tuple[Path, list[InjectedRecord]]) -> None:
    # 100-record chunks put malformed records in many chunks and at chunk edges
    folder, _ = tiny_raw_folder
    small = ingest(read_raw_folder(folder), now=tiny_world.end, dense_dim=tiny_world.params.dense_dim,
                   attribution_window_days=tiny_world.params.conversions.attribution_window_days, chunk_size=100)
    assert small.counts == world_ingest.counts
    assert list(small.quarantine["source"]) == list(world_ingest.quarantine["source"])
    assert small.tables["interactions"].equals(world_ingest.tables["interactions"])


# ---------------------------------------------------------------------- a hand-made folder
def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record)


@pytest.fixture
def hand_made_folder(tmp_path: Path) -> Path:
    movie = {"asset_id": "a1", "domain": "movie", "title": "One", "created_at": "2024-01-01T00:00:00Z",
             "creator_id": "c1", "creator_name": "C One",
             "attributes": {"domain": "movie", "genre": "drama", "year": 2001}}
    song = {"asset_id": "a2", "domain": "music", "title": "Two", "created_at": "2024-01-01T00:00:00Z",
            "creator_id": "c2", "creator_name": "C Two",
            "attributes": {"domain": "music", "genre": "jazz", "artist": "C Two", "album": "Blue"}}
    write_lines(tmp_path / "assets.jsonl", [dumps(movie), dumps(song)])
    write_lines(tmp_path / "users.jsonl", [
        dumps({"user_id": "u1", "segment": "first"}),
        dumps({"user_id": "u2"}),
        dumps({"user_id": "u1", "segment": "second"}),  # line 3: duplicate id, the first one is kept
    ])
    stamp = "2024-06-01T00:00:00Z"
    write_lines(tmp_path / "interactions.jsonl", [
        dumps({"event_type": "impression", "user_id": "u1", "item_id": "a1", "timestamp": stamp, "position": 0,
               "propensity": 0.5}),                                                     # 1 accepted
        '{"event_type": "click", "user_id": "u1"',                                      # 2 bad JSON
        "[1, 2, 3]",                                                                    # 3 not an object
        dumps({"event_type": "click", "user_id": "u2", "item_id": "a2", "timestamp": stamp, "position": 0}),  # 4 ok
        dumps({"event_type": "impression", "user_id": "u1", "item_id": "a9", "timestamp": stamp, "position": 1,
               "propensity": 0.5}),                                                     # 5 unknown item
        '{"event_type": "rating", "user_id": "u1", "item_id": "a1", "timestamp": "%s", "value": NaN}' % stamp,  # 6
        dumps({"event_type": "conversion", "user_id": "u9", "item_id": "a2", "timestamp": stamp}),  # 7 unknown user
    ])
    return tmp_path


def test_hand_made_folder_counts_and_reasons(hand_made_folder: Path) -> None:
    result = ingest(read_raw_folder(hand_made_folder))
    assert result.counts == {
        "assets": {"in": 2, "accepted": 2, "quarantined": 0},
        "users": {"in": 3, "accepted": 2, "quarantined": 1},
        "interactions": {"in": 7, "accepted": 2, "quarantined": 5},
    }
    assert (result.records_in, result.records_accepted, result.records_quarantined) == (12, 6, 6)
    reasons = dict(zip(result.quarantine["source"], result.quarantine["reason"]))
    assert reasons == {
        "users.jsonl:3": "duplicate_id",
        "interactions.jsonl:2": "unparseable",
        "interactions.jsonl:3": "unparseable",
        "interactions.jsonl:5": "unknown_item",
        "interactions.jsonl:6": "out_of_range",  # NaN is not a finite value
        "interactions.jsonl:7": "unknown_user",
    }
    assert result.quarantine_by_reason() == {"duplicate_id": 1, "out_of_range": 1, "unknown_item": 1,
                                             "unknown_user": 1, "unparseable": 2}
    # the first u1 is kept, the second quarantined
    users = result.tables["users"].set_index("user_id")
    assert users.loc["u1", "segment"] == "first"
    accepted = result.tables["interactions"]
    assert list(zip(accepted["event_type"], accepted["item_id"])) == [("impression", "a1"), ("click", "a2")]
    messages = dict(zip(result.quarantine["source"], result.quarantine["messages"]))
    assert "invalid JSON" in messages["interactions.jsonl:2"]
    assert "not a JSON object" in messages["interactions.jsonl:3"]
    assert "'a9'" in messages["interactions.jsonl:5"]


def test_read_jsonl_keeps_unparseable_lines_with_their_location(tmp_path: Path) -> None:
    path = tmp_path / "users.jsonl"
    path.write_bytes(b'{"user_id": "u1"}\n\n{"user_id": \xff}\n"just a string"\n')
    raw = read_jsonl(path)
    assert raw.name == "users"
    assert raw.records == [{"user_id": "u1"}]
    assert raw.sources == ["users.jsonl:1"]
    assert [(f.source, f.reason.split(":")[0]) for f in raw.parse_failures] == [
        ("users.jsonl:2", "empty line"), ("users.jsonl:3", "bad encoding"), ("users.jsonl:4", "not a JSON object")]
    assert raw.n_in == 4


def test_request_references_are_checked_when_requests_are_present(hand_made_folder: Path) -> None:
    write_lines(hand_made_folder / "requests.jsonl", [dumps({
        "request_id": "r1", "user_id": "u1", "session_id": "s1", "timestamp": "2024-06-01T00:00:00Z",
        "candidate_item_ids": ["a1", "a2"]})])
    with (hand_made_folder / "interactions.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(dumps({"event_type": "click", "request_id": "r1", "user_id": "u1", "item_id": "a1",
                            "timestamp": "2024-06-01T00:00:00Z", "position": 0}) + "\n")   # 8 ok
        handle.write(dumps({"event_type": "click", "request_id": "r7", "user_id": "u1", "item_id": "a1",
                            "timestamp": "2024-06-01T00:00:00Z", "position": 0}) + "\n")   # 9 unknown request
    result = ingest(read_raw_folder(hand_made_folder))
    assert result.counts["interactions"] == {"in": 9, "accepted": 3, "quarantined": 6}
    assert dict(zip(result.quarantine["source"], result.quarantine["reason"]))["interactions.jsonl:9"] == \
        "unknown_request"


def test_folder_without_tables_and_unknown_tables_raise(tmp_path: Path, hand_made_folder: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no raw tables"):
        read_raw_folder(empty)
    tables = read_raw_folder(hand_made_folder)
    tables["ratings"] = tables.pop("interactions")
    tables["ratings"].name = "ratings"
    with pytest.raises(KeyError, match="ratings"):
        ingest(tables)


# ---------------------------------------------------------------------- the conversion stream, by hand
CLICK_STAMP = "2024-06-01T12:00:00Z"


def click(click_id: str, user: str = "u1", item: str = "a1", **changes: Any) -> str:
    record = {"click_id": click_id, "user_id": user, "item_id": item, "timestamp": CLICK_STAMP, "hour": 12,
              "device": "mobile"}
    record.update(changes)
    return dumps(record)


def conversion(click_id: str, timestamp: str) -> str:
    return dumps({"click_id": click_id, "timestamp": timestamp})


@pytest.fixture
def conversion_folder(hand_made_folder: Path) -> Path:
    """Clicks k1..k7 on the hand-made users (u1, u2) and items (a1, a2), and their conversions."""
    write_lines(hand_made_folder / "conversion_clicks.jsonl", [
        click("k1"),                             # 1 accepted (converts on line 1 of the events)
        click("k2", user="u2", item="a2"),       # 2 accepted
        click("k1", user="u2"),                  # 3 duplicate id: the first k1 is kept
        click("k3", user="u9"),                  # 4 unknown user
        click("k4", item="a9"),                  # 5 unknown item
        click("k5", hour=24),                    # 6 hour out of 0..23
        click("k6", device="smartwatch"),        # 7 not a device of the world
        click("k7"),                             # 8 accepted (its conversion comes late)
    ])
    write_lines(hand_made_folder / "conversion_events.jsonl", [
        conversion("k1", "2024-06-03T12:00:00Z"),  # 1 accepted: two days after its click
        conversion("k2", "2024-06-01T11:00:00Z"),  # 2 an hour before its click
        conversion("k2", "2024-06-01T12:00:00Z"),  # 3 accepted: at its click (after the bad line 2)
        conversion("k1", "2024-06-04T12:00:00Z"),  # 4 duplicate: k1's first conversion is kept
        conversion("k3", "2024-06-02T12:00:00Z"),  # 5 its click was quarantined (unknown user)
        conversion("k8", "2024-06-02T12:00:00Z"),  # 6 no such click
        conversion("k7", "2024-07-11T12:00:00Z"),  # 7 40 days after its click
    ])
    return hand_made_folder


def conversion_reasons(result: IngestResult) -> dict[str, str]:
    return {source: reason for source, reason in zip(result.quarantine["source"], result.quarantine["reason"])
            if source.startswith("conversion")}


def test_conversion_stream_counts_and_reasons_without_a_window(conversion_folder: Path) -> None:
    result = ingest(read_raw_folder(conversion_folder))
    assert result.counts["conversion_clicks"] == {"in": 8, "accepted": 3, "quarantined": 5}
    # no window given: line 7, 40 days after its click, is accepted
    assert result.counts["conversion_events"] == {"in": 7, "accepted": 3, "quarantined": 4}
    assert conversion_reasons(result) == {
        "conversion_clicks.jsonl:3": "duplicate_id",
        "conversion_clicks.jsonl:4": "unknown_user",
        "conversion_clicks.jsonl:5": "unknown_item",
        "conversion_clicks.jsonl:6": "out_of_range",
        "conversion_clicks.jsonl:7": "unknown_value",
        "conversion_events.jsonl:2": "before_click",
        "conversion_events.jsonl:4": "duplicate_id",
        "conversion_events.jsonl:5": "unknown_click",
        "conversion_events.jsonl:6": "unknown_click",
    }
    clicks = result.tables["conversion_clicks"]
    assert list(zip(clicks["click_id"], clicks["user_id"])) == [("k1", "u1"), ("k2", "u2"), ("k7", "u1")]
    events = result.tables["conversion_events"]
    # k1's first conversion wins; k2's valid conversion survives its malformed predecessor
    assert list(zip(events["click_id"], events["timestamp"].dt.day)) == [("k1", 3), ("k2", 1), ("k7", 11)]
    messages = {source: json.loads(m) for source, m in zip(result.quarantine["source"], result.quarantine["messages"])}
    assert messages["conversion_events.jsonl:2"] == [
        "timestamp: 2024-06-01T11:00:00+00:00 is before its click's timestamp 2024-06-01T12:00:00+00:00 "
        "(click_id 'k2')"]
    assert messages["conversion_events.jsonl:5"] == ["click_id: 'k3' names no accepted record"]
    assert messages["conversion_clicks.jsonl:4"] == ["user_id: 'u9' names no accepted record"]
    assert messages["conversion_clicks.jsonl:6"][0].startswith("hour: ")
    assert messages["conversion_clicks.jsonl:7"][0].startswith("device: ")


def test_conversion_after_the_attribution_window_is_quarantined(conversion_folder: Path) -> None:
    # k7 converts 40 days after its click: late for a 30-day window, in time for a 40-day one
    # (exactly 40 days: the window's end is inclusive)
    late = ingest(read_raw_folder(conversion_folder), attribution_window_days=30.0)
    assert late.counts["conversion_events"] == {"in": 7, "accepted": 2, "quarantined": 5}
    assert conversion_reasons(late)["conversion_events.jsonl:7"] == "after_window"
    message = json.loads(late.quarantine.set_index("source").loc["conversion_events.jsonl:7", "messages"])
    assert message == ["timestamp: 2024-07-11T12:00:00+00:00 is more than the attribution window (30 days) after "
                       "its click's timestamp 2024-06-01T12:00:00+00:00 (click_id 'k7')"]
    in_time = ingest(read_raw_folder(conversion_folder), attribution_window_days=40.0)
    assert in_time.counts["conversion_events"] == {"in": 7, "accepted": 3, "quarantined": 4}
    for result in (late, in_time):
        for counts in result.counts.values():
            assert counts["in"] == counts["accepted"] + counts["quarantined"]


def test_conversions_without_their_clicks_table_are_only_deduplicated(conversion_folder: Path) -> None:
    (conversion_folder / "conversion_clicks.jsonl").unlink()
    result = ingest(read_raw_folder(conversion_folder), attribution_window_days=30.0)
    # nothing to check the times against: the second conversions of k2 (line 3) and k1 (line 4) go
    assert result.counts["conversion_events"] == {"in": 7, "accepted": 5, "quarantined": 2}
    assert conversion_reasons(result) == {"conversion_events.jsonl:3": "duplicate_id",
                                          "conversion_events.jsonl:4": "duplicate_id"}
