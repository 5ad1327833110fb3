"""Feature store: content hashing, immutability, integrity checks and point-in-time reads.

Expected join results below were worked out by hand from the fixture histories; the property
test compares the vectorised join against a per-row brute force on random histories.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_core.data import store as store_module
from hermes_core.data.store import (
    ColumnCollisionError,
    EmptyStoreError,
    EntityTypeError,
    FeatureStore,
    ImmutableVersionError,
    IntegrityError,
    InvalidSnapshotError,
    MissingColumnError,
    NullTimeError,
    ProvenanceMismatchWarning,
    TableNotFoundError,
    TimeColumnTypeError,
    TimezoneMismatchError,
    VersionNotFoundError,
    labels_as_of,
    point_in_time_join,
)


def users_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"user_id": [3, 1, 2], "score": [0.5, 1.5, -2.0], "name": ["c", "a", "b"]}
    )


def mixed_frame() -> pd.DataFrame:
    """One column of each dtype family the store must round-trip exactly."""
    return pd.DataFrame(
        {
            "user_id": np.array([10, 11, 12, 13], dtype=np.int64),
            "clicks": pd.array([1, None, 3, 4], dtype="Int64"),
            "ctr": [0.1, np.nan, 0.3, 0.4],
            "country": pd.Series(["fr", None, "de", "fr"], dtype="str"),
            "segment": pd.Categorical(["a", "b", "a", "a"], categories=["c", "b", "a"]),
            "seen_at": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-04"]),
            "seen_at_utc": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
            ).tz_localize("UTC"),
            "active": [True, False, True, True],
            "small": np.array([1, 2, 3, 4], dtype=np.int16),
        }
    )


# --------------------------------------------------------------------------------------------
# Content hash and version ids
# --------------------------------------------------------------------------------------------


def test_same_tables_give_same_version_in_two_stores(tmp_path: Path) -> None:
    tables = {"users": users_frame(), "mixed": mixed_frame()}
    first = FeatureStore(tmp_path / "a").write_snapshot(tables)
    # Fresh frames, other insertion order: only the content counts.
    second = FeatureStore(tmp_path / "b").write_snapshot(
        {"mixed": mixed_frame(), "users": users_frame()}
    )
    assert first.version == second.version
    assert first.content_hash == second.content_hash
    assert first.version == "v-" + first.content_hash[:16]
    assert len(first.content_hash) == 64


def test_version_id_is_pinned_across_processes(tmp_path: Path) -> None:
    # Computed once in a separate interpreter (two PYTHONHASHSEEDs gave the same id): the hash
    # depends on nothing process-specific. If a library upgrade changes it, existing stores
    # would get new ids for old content, so bump HASH_SCHEME rather than this constant alone.
    manifest = FeatureStore(tmp_path).write_snapshot({"users": users_frame()})
    assert manifest.version == "v-14c53f3d011cc7a9"


def test_row_order_values_dtypes_and_names_all_change_the_hash(tmp_path: Path) -> None:
    base = users_frame()
    variants = {
        "base": {"users": base},
        "rows reordered": {"users": base.iloc[[1, 0, 2]].reset_index(drop=True)},
        "one value": {"users": base.assign(score=[0.5, 1.5, -2.5])},
        "int -> float": {"users": base.astype({"user_id": "float64"})},
        "int64 -> Int64": {"users": base.astype({"user_id": "Int64"})},
        "int64 -> int32": {"users": base.astype({"user_id": "int32"})},
        "column renamed": {"users": base.rename(columns={"score": "rating"})},
        "columns reordered": {"users": base[["score", "user_id", "name"]]},
        "table renamed": {"people": base},
        "null instead of value": {"users": base.assign(score=[0.5, np.nan, -2.0])},
        "extra table": {"users": base, "empty": base.iloc[:0]},
    }
    store = FeatureStore(tmp_path)
    versions = {label: store.write_snapshot(tables).version for label, tables in variants.items()}
    assert len(set(versions.values())) == len(variants), versions


def test_digest_ignores_chunking_and_slicing() -> None:
    # Parquet row groups decide how a read-back table is chunked; the content is the same.
    table = pa.Table.from_pandas(mixed_frame(), preserve_index=False)
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=1))
    sliced = pa.concat_tables([table.slice(0, 3), table.slice(3)])
    digest = store_module._table_digest("t", table)
    assert rechunked.column("ctr").num_chunks == 4
    assert store_module._table_digest("t", rechunked) == digest
    assert store_module._table_digest("t", sliced) == digest


# --------------------------------------------------------------------------------------------
# Immutability
# --------------------------------------------------------------------------------------------


def test_rewriting_same_content_is_idempotent(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    first = store.write_snapshot({"users": users_frame()}, params={"seed": 1})
    folder = tmp_path / first.version
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}

    again = store.write_snapshot({"users": users_frame()}, params={"seed": 1})

    assert again == first  # same created_at: the stored manifest, not a new one
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before
    assert store.versions() == [first.version]
    assert [p.name for p in tmp_path.iterdir()] == [first.version]  # no temp folder left


def test_idempotent_rewrite_with_other_params_keeps_first_and_warns(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    first = store.write_snapshot({"users": users_frame()}, params={"seed": 1})
    with pytest.warns(ProvenanceMismatchWarning, match=first.version):
        again = store.write_snapshot({"users": users_frame()}, params={"seed": 2})
    assert again.params == {"seed": 1}


def test_explicit_version_with_other_content_raises(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    first = store.write_snapshot({"users": users_frame()}, version="release-1")
    assert first.version == "release-1"
    assert store.write_snapshot({"users": users_frame()}, version="release-1") == first

    changed = users_frame().assign(score=[9.0, 9.0, 9.0])
    with pytest.raises(ImmutableVersionError) as raised:
        store.write_snapshot({"users": changed}, version="release-1")
    message = str(raised.value)
    assert "release-1" in message and first.content_hash in message
    new_hash = FeatureStore(tmp_path / "other").write_snapshot({"users": changed}).content_hash
    assert new_hash in message
    # Nothing was overwritten.
    pd.testing.assert_frame_equal(store.read_table("users", "release-1"), users_frame())
    store.verify("release-1")


def test_crash_before_rename_leaves_no_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FeatureStore(tmp_path)

    def crash(source: object, target: object) -> None:
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(store_module.os, "rename", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.write_snapshot({"users": users_frame()})
    monkeypatch.undo()

    assert store.versions() == []
    assert list(tmp_path.iterdir()) == []  # the staging folder was cleaned up
    (tmp_path / ".tmp-v-half-written").mkdir()  # what a hard kill could leave behind
    assert store.versions() == []
    assert store.write_snapshot({"users": users_frame()}).version in store.versions()


# --------------------------------------------------------------------------------------------
# Manifest, listing, reading
# --------------------------------------------------------------------------------------------


def test_manifest_records_rows_schema_and_provenance(tmp_path: Path) -> None:
    params = {"window_days": np.int64(7), "weights": np.array([0.5, 0.5]), "name": "baseline"}
    manifest = FeatureStore(tmp_path).write_snapshot(
        {"users": users_frame(), "mixed": mixed_frame()}, params=params, description="first cut"
    )
    params["name"] = "mutated after the write"

    assert manifest.tables["users"].rows == 3
    assert manifest.tables["users"].schema == {
        "user_id": "int64",
        "score": "double",
        "name": "large_string",
    }
    assert manifest.tables["users"].file == "users.parquet"
    assert manifest.tables["mixed"].rows == 4
    assert manifest.tables["mixed"].schema == {
        "user_id": "int64",
        "clicks": "int64",
        "ctr": "double",
        "country": "large_string",
        "segment": "dictionary<values=string, indices=int8, ordered=0>",
        "seen_at": "timestamp[us]",
        "seen_at_utc": "timestamp[us, tz=UTC]",
        "active": "bool",
        "small": "int16",
    }
    assert manifest.params == {"window_days": 7, "weights": [0.5, 0.5], "name": "baseline"}
    assert manifest.description == "first cut"
    created = datetime.fromisoformat(manifest.created_at)
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0

    on_disk = json.loads((tmp_path / manifest.version / "manifest.json").read_text())
    assert on_disk == manifest.to_dict()
    assert sorted(p.name for p in (tmp_path / manifest.version).iterdir()) == [
        "manifest.json",
        "mixed.parquet",
        "users.parquet",
    ]
    assert pq.read_schema(tmp_path / manifest.version / "users.parquet").pandas_metadata[
        "index_columns"
    ] == []


def test_read_back_equals_written(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    tables = {"mixed": mixed_frame(), "empty": mixed_frame().iloc[:0]}
    version = store.write_snapshot(tables).version
    pd.testing.assert_frame_equal(store.read_table("mixed", version), mixed_frame())
    # A zero-row Parquet column has no dictionary page, so only a zero-row categorical loses
    # its categories (documented in FeatureStore.read_table); every other dtype survives.
    empty_back = store.read_table("empty", version)
    pd.testing.assert_frame_equal(
        empty_back.drop(columns="segment"), mixed_frame().iloc[:0].drop(columns="segment")
    )
    assert isinstance(empty_back["segment"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(
        store.read_table("mixed", version, columns=["ctr", "user_id"]),
        mixed_frame()[["ctr", "user_id"]],
    )


def test_index_is_dropped_but_named_index_is_refused(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    filtered = users_frame().iloc[[2, 0]]  # unnamed, non-default index: not data
    manifest = store.write_snapshot({"users": filtered})
    pd.testing.assert_frame_equal(store.read_table("users"), filtered.reset_index(drop=True))
    with pytest.raises(InvalidSnapshotError, match="users.*user_id"):
        store.write_snapshot({"users": users_frame().set_index("user_id")})
    assert store.versions() == [manifest.version]


@pytest.mark.parametrize(
    ("tables", "kwargs", "fragment"),
    [
        ({}, {}, "non-empty"),
        ({"../escape": users_frame()}, {}, "'../escape'"),
        ({"users": users_frame()}, {"version": "a/b"}, "'a/b'"),
        ({"users": users_frame()}, {"version": ".tmp-x"}, "'.tmp-x'"),
        ({"users": pd.DataFrame({0: [1]})}, {}, "users.*strings"),
        ({"users": pd.DataFrame([[1, 2]], columns=["a", "a"])}, {}, "users.*duplicate.*'a'"),
        ({"users": [1, 2]}, {}, "users.*DataFrame"),
        ({"users": users_frame()}, {"params": {"fn": print}}, r"params\['fn'\]"),
        ({"users": pd.DataFrame({"mixed": [1, "a"]})}, {}, "users"),
    ],
)
def test_invalid_snapshots_are_refused(
    tmp_path: Path, tables: dict, kwargs: dict, fragment: str
) -> None:
    store = FeatureStore(tmp_path)
    with pytest.raises(InvalidSnapshotError, match=fragment):
        store.write_snapshot(tables, **kwargs)
    assert store.versions() == []


def test_versions_are_ordered_by_creation_then_name(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    written = [
        store.write_snapshot({"users": users_frame().assign(score=float(i))}, version=name).version
        for i, name in enumerate(["zeta", "alpha", "mid"])
    ]
    assert store.versions() == written  # creation order, not name order
    assert store.latest() == "mid"
    assert store.manifest() == store.manifest("mid")

    # Equal creation times fall back to the name; created_at is provenance, not content.
    for name in ("zeta", "alpha"):
        path = tmp_path / name / "manifest.json"
        data = json.loads(path.read_text())
        data["created_at"] = "2020-01-01T00:00:00.000000+00:00"
        path.write_text(json.dumps(data))
    assert store.versions() == ["alpha", "zeta", "mid"]
    store.verify("alpha")


def test_empty_and_unknown_lookups_raise_specific_errors(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path / "not-yet")
    assert not (tmp_path / "not-yet").exists()  # created lazily
    assert store.versions() == []
    with pytest.raises(EmptyStoreError, match="not-yet"):
        store.latest()
    with pytest.raises(EmptyStoreError):
        store.manifest()

    version = store.write_snapshot({"users": users_frame(), "items": users_frame()}).version
    with pytest.raises(VersionNotFoundError, match=f"'v-nope'.*{version}"):
        store.manifest("v-nope")
    with pytest.raises(TableNotFoundError, match=r"'clicks'.*\['items', 'users'\]"):
        store.read_table("clicks")
    with pytest.raises(MissingColumnError, match=f"'users' of version '{version}'.*'age'"):
        store.read_table("users", columns=["user_id", "age"])


# --------------------------------------------------------------------------------------------
# Integrity
# --------------------------------------------------------------------------------------------


def test_verify_passes_on_untouched_version(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"users": users_frame(), "mixed": mixed_frame()}).version
    store.verify(version)
    store.verify()


def test_verify_hashes_content_not_file_bytes(tmp_path: Path) -> None:
    # Same rows rewritten with one row per row group and another codec: other bytes, same content.
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"mixed": mixed_frame()}).version
    path = tmp_path / version / "mixed.parquet"
    original_bytes = path.read_bytes()
    pq.write_table(pq.read_table(path), path, row_group_size=1, compression="gzip")
    assert path.read_bytes() != original_bytes
    assert pq.ParquetFile(path).num_row_groups == 4
    store.verify(version)


def test_verify_detects_a_changed_value(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"users": users_frame(), "mixed": mixed_frame()}).version
    path = tmp_path / version / "users.parquet"
    tampered = users_frame().assign(score=[0.5, 1.5, -2.0001])  # same rows, same schema
    pq.write_table(pa.Table.from_pandas(tampered, preserve_index=False), path)
    with pytest.raises(IntegrityError, match=f"version '{version}', table 'users': content hash"):
        store.verify(version)


def test_verify_detects_dropped_rows_and_missing_files(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"users": users_frame(), "mixed": mixed_frame()}).version
    path = tmp_path / version / "mixed.parquet"
    pq.write_table(pq.read_table(path).slice(0, 3), path)
    with pytest.raises(IntegrityError, match="table 'mixed': 3 rows on disk, manifest says 4"):
        store.verify(version)
    path.unlink()
    with pytest.raises(IntegrityError, match="mixed"):
        store.verify(version)
    with pytest.raises(IntegrityError, match="mixed.*missing"):
        store.read_table("mixed", version)


def test_tampered_manifest_blocks_rewrite(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    manifest = store.write_snapshot({"users": users_frame()})
    path = tmp_path / manifest.version / "manifest.json"
    data = json.loads(path.read_text())
    data["content_hash"] = "0" * 64
    path.write_text(json.dumps(data))
    with pytest.raises(IntegrityError, match="recomputed from the files"):
        store.verify(manifest.version)
    with pytest.raises(ImmutableVersionError, match="0" * 64):
        store.write_snapshot({"users": users_frame()})


# --------------------------------------------------------------------------------------------
# Point-in-time join on a hand-built fixture
# --------------------------------------------------------------------------------------------


def ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(f"2024-01-{day}")


def feature_history() -> pd.DataFrame:
    # u1 has two rows stamped 01-03 (rows 1 and 3): the later row (score 3.5) wins ties.
    return pd.DataFrame(
        {
            "user": ["u1", "u1", "u2", "u1", "u2"],
            "ts": [ts("01"), ts("03"), ts("02"), ts("03"), ts("05")],
            "score": [1.0, 3.0, 20.0, 3.5, 50.0],
        }
    )


def join_queries() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user": ["u1", "u2", "u1", "u3", "u2", "u1", "u2"],
            "ts": [ts("03"), ts("01"), pd.Timestamp("2023-12-31"), ts("10"), ts("04"), ts("02"),
                   ts("05")],
        },
        index=[70, 71, 72, 73, 74, 75, 76],  # not a RangeIndex: it must come back unchanged
    )


# Per query (by hand): the latest row of that user with time <= (or <) the query time.
#   70 u1@03: inclusive -> row 3 (tie 03, last wins, 3.5); exclusive -> row 0 (01, 1.0)
#   71 u2@01: u2's first row is 02 -> none
#   72 u1@2023-12-31: before all history -> none
#   73 u3@10: no history for u3 -> none
#   74 u2@04: row 2 (02, 20.0) either way
#   75 u1@02: row 0 (01, 1.0) either way
#   76 u2@05: inclusive -> row 4 (05, 50.0); exclusive -> row 2 (02, 20.0)
NAT = pd.NaT
EXPECTED_INCLUSIVE = ([ts("03"), NAT, NAT, NAT, ts("02"), ts("01"), ts("05")],
                      [3.5, np.nan, np.nan, np.nan, 20.0, 1.0, 50.0])
EXPECTED_EXCLUSIVE = ([ts("01"), NAT, NAT, NAT, ts("02"), ts("01"), ts("02")],
                      [1.0, np.nan, np.nan, np.nan, 20.0, 1.0, 20.0])


@pytest.mark.parametrize(
    ("inclusive", "expected"), [(True, EXPECTED_INCLUSIVE), (False, EXPECTED_EXCLUSIVE)]
)
def test_point_in_time_join_hand_computed(inclusive: bool, expected: tuple) -> None:
    queries = join_queries()
    result = point_in_time_join(
        feature_history(), queries, entity="user", time="ts", inclusive=inclusive
    )
    feature_times, scores = expected
    want = queries.assign(
        ts_feature=pd.Series(feature_times, index=queries.index, dtype="datetime64[us]"),
        score=scores,
    )
    pd.testing.assert_frame_equal(result, want)


def test_point_in_time_join_with_separate_query_time_and_null_queries() -> None:
    queries = pd.DataFrame(
        {
            "user": ["u2", None, "u1", "u1"],
            "request_ts": [ts("05"), ts("05"), NAT, ts("04")],
        },
        index=[5, 5, 6, 6],  # duplicated labels must not misalign anything
    )
    result = point_in_time_join(
        feature_history(), queries, entity="user", time="ts", query_time="request_ts"
    )
    assert list(result.columns) == ["user", "request_ts", "ts", "score"]
    assert list(result.index) == [5, 5, 6, 6]
    # null entity and null time -> no features; u1@04 -> row 3 (03, 3.5, last of the tie)
    np.testing.assert_array_equal(result["score"].to_numpy(), [50.0, np.nan, np.nan, 3.5])
    assert result["ts"].tolist()[3] == ts("03") and result["ts"].isna().tolist() == [
        False,
        True,
        True,
        False,
    ]


def test_point_in_time_join_numeric_times_mixed_entity_dtypes_and_dtype_keeping() -> None:
    features = pd.DataFrame({"item": [1, 1, 2], "t": [10, 20, 5], "count": [7, 8, 9]})
    queries = pd.DataFrame({"item": [1.0, 2.0, 1.0], "t": [15.5, 5.0, 20.0]})
    result = point_in_time_join(features, queries, entity="item", time="t")
    assert result["count"].tolist() == [7, 9, 8]
    assert result["count"].dtype == np.int64  # every query matched: no upcast
    assert result["t_feature"].tolist() == [10, 5, 20]

    unmatched = point_in_time_join(features, queries, entity="item", time="t", inclusive=False)
    # (1, 15.5) -> t=10; (2, 5) -> nothing before 5; (1, 20) -> t=10 (20 itself excluded)
    np.testing.assert_array_equal(unmatched["count"].to_numpy(), [7.0, np.nan, 7.0])


def test_point_in_time_join_compares_instants_across_timezones() -> None:
    features = pd.DataFrame(
        {
            "user": ["u1", "u1"],
            "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 12:00"]).tz_localize("UTC"),
            "score": [1.0, 2.0],
        }
    )
    # 12:30 in Paris (UTC+1 in winter) is 11:30 UTC: only the 10:00 UTC row is visible.
    queries = pd.DataFrame(
        {"user": ["u1"], "ts": pd.to_datetime(["2024-01-01 12:30"]).tz_localize("Europe/Paris")}
    )
    result = point_in_time_join(features, queries, entity="user", time="ts")
    assert result["score"].tolist() == [1.0]


def test_point_in_time_join_validates_inputs() -> None:
    features, queries = feature_history(), join_queries()
    with pytest.raises(MissingColumnError, match=r"features.*\['when'\]"):
        point_in_time_join(features, queries, entity="user", time="when")
    with pytest.raises(MissingColumnError, match=r"queries.*\['request_ts'\]"):
        point_in_time_join(features, queries, entity="user", time="ts", query_time="request_ts")
    with pytest.raises(TimeColumnTypeError, match="features column 'ts'.*str"):
        point_in_time_join(features.astype({"ts": "str"}), queries, entity="user", time="ts")
    with pytest.raises(TimeColumnTypeError, match="both must be datetime64 or both numeric"):
        point_in_time_join(
            features, queries.assign(ts=np.arange(len(queries))), entity="user", time="ts"
        )
    with pytest.raises(TimezoneMismatchError, match="queries column 'ts' has timezone UTC"):
        point_in_time_join(
            features, queries.assign(ts=queries["ts"].dt.tz_localize("UTC")),
            entity="user", time="ts",
        )
    with pytest.raises(NullTimeError, match="'ts' has 1 null.*position 2"):
        point_in_time_join(features.assign(ts=features["ts"].where(features.index != 2)), queries,
                           entity="user", time="ts")
    with pytest.raises(EntityTypeError, match="'user'"):
        point_in_time_join(features, queries.assign(user=1), entity="user", time="ts")
    with pytest.raises(ColumnCollisionError, match="score_feature"):
        point_in_time_join(features, queries.assign(score=0.0, score_feature=0.0),
                           entity="user", time="ts")


def test_store_as_of_reads_the_chosen_version_and_columns(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    history = feature_history().assign(extra=range(5))
    old = store.write_snapshot({"user_features": history}).version
    store.write_snapshot({"user_features": history.assign(score=0.0)})
    result = store.as_of(
        "user_features", join_queries(), entity="user", time="ts", version=old, columns=["score"]
    )
    assert list(result.columns) == ["user", "ts", "ts_feature", "score"]
    np.testing.assert_array_equal(result["score"].to_numpy(), EXPECTED_INCLUSIVE[1])
    latest = store.as_of("user_features", join_queries(), entity="user", time="ts", inclusive=False)
    assert latest["score"].fillna(-1.0).tolist() == [0.0, -1.0, -1.0, -1.0, 0.0, 0.0, 0.0]
    with pytest.raises(MissingColumnError, match="'user_features'.*'age'"):
        store.as_of("user_features", join_queries(), entity="user", time="ts", columns=["age"])


def test_labels_as_of_keeps_only_observed_events() -> None:
    events = pd.DataFrame(
        {
            "user": ["u1", "u2", "u1", "u3"],
            "observed_at": [ts("01"), ts("05"), ts("03"), NAT],
            "label": [1, 0, 1, 1],
        },
        index=[10, 11, 12, 13],
    )
    # cut-off 01-03 inclusive: rows 10 (01) and 12 (03); 11 arrives later, 13 never arrived.
    observed = labels_as_of(events, entity="user", event_time="observed_at", as_of=ts("03"))
    pd.testing.assert_frame_equal(observed, events.loc[[10, 12]])
    with pytest.raises(TimezoneMismatchError, match="observed_at"):
        labels_as_of(events, entity="user", event_time="observed_at",
                     as_of=pd.Timestamp("2024-01-03", tz="UTC"))
    with pytest.raises(MissingColumnError, match="'item'"):
        labels_as_of(events, entity="item", event_time="observed_at", as_of=ts("03"))
    numeric = events.assign(observed_at=[1.0, 5.0, 3.0, np.nan])
    observed_numeric = labels_as_of(numeric, entity="user", event_time="observed_at", as_of=3)
    assert observed_numeric.index.tolist() == [10, 12]


# --------------------------------------------------------------------------------------------
# Property: the vectorised join equals a brute force and never looks into the future
# --------------------------------------------------------------------------------------------


def brute_force_as_of(
    features: pd.DataFrame, queries: pd.DataFrame, inclusive: bool
) -> list[float]:
    """Per query, the `value` of the last feature row (in table order) among those of the same
    entity with the greatest time <= (or <) the query time; NaN when there is none."""
    answers = []
    for entity, time in zip(queries["entity"], queries["t"]):
        visible = features[
            (features["entity"] == entity)
            & ((features["t"] <= time) if inclusive else (features["t"] < time))
        ]
        if visible.empty:
            answers.append(np.nan)
        else:
            latest = visible[visible["t"] == visible["t"].max()]
            answers.append(float(latest["value"].iloc[-1]))
    return answers


rows = st.tuples(st.integers(0, 3), st.integers(0, 12))


@settings(max_examples=60, deadline=None)
@given(
    feature_rows=st.lists(rows, max_size=25),
    query_rows=st.lists(rows, max_size=25),
    inclusive=st.booleans(),
    as_datetimes=st.booleans(),
)
def test_point_in_time_join_matches_brute_force(
    feature_rows: list[tuple[int, int]],
    query_rows: list[tuple[int, int]],
    inclusive: bool,
    as_datetimes: bool,
) -> None:
    features = pd.DataFrame(feature_rows, columns=["entity", "t"], dtype=np.int64)
    features["value"] = np.arange(len(features), dtype=np.float64) * 10.0  # identifies the row
    queries = pd.DataFrame(query_rows, columns=["entity", "t"], dtype=np.int64)
    if as_datetimes:
        origin = pd.Timestamp("2024-01-01", tz="UTC")
        features["t"] = origin + pd.to_timedelta(features["t"], unit="h")
        queries["t"] = origin + pd.to_timedelta(queries["t"], unit="h")

    result = point_in_time_join(features, queries, entity="entity", time="t", inclusive=inclusive)

    assert len(result) == len(queries)
    pd.testing.assert_frame_equal(result[["entity", "t"]], queries)
    matched = result["t_feature"].notna()
    if inclusive:
        assert (result.loc[matched, "t_feature"] <= result.loc[matched, "t"]).all()
    else:
        assert (result.loc[matched, "t_feature"] < result.loc[matched, "t"]).all()
    np.testing.assert_array_equal(
        result["value"].to_numpy(dtype=np.float64), brute_force_as_of(features, queries, inclusive)
    )
