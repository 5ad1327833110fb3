"""Feature store point-in-time reads: the as-of join, ``FeatureStore.as_of`` and ``labels_as_of``.

Expected join results below were worked out by hand from the fixture histories; the property
test compares the vectorised join against a per-row brute force on random histories.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_core.data.store import (
    ColumnCollisionError,
    EntityTypeError,
    FeatureStore,
    MissingColumnError,
    NullTimeError,
    TimeColumnTypeError,
    TimezoneMismatchError,
    labels_as_of,
    point_in_time_join,
)


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
