"""The data profile and the popularity tables, on the hand-built tables of ``conftest.py``.

Every expected number is worked out by hand in the comments from the fixtures' docstrings.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from hermes_core.ingest.profile import (
    cohort_table,
    conversion_delay_summary,
    data_profile,
    has_cohorts,
    interactions_by_domain,
    main_event_type,
    observed_conversion_delays,
    popularity_by_cohort,
    top_share,
)


def with_requests(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The logged tables with every event in request ``r``: u1's click on i1 (02-01) and its
    conversion (02-03) then match, a delay of exactly 2 days on a movie."""
    return dict(tables, interactions=tables["interactions"].assign(request_id="r"))


def test_main_event_type_prefers_impressions_then_ratings(logged_tables: dict[str, pd.DataFrame],
                                                          rating_tables: dict[str, pd.DataFrame]) -> None:
    assert main_event_type(logged_tables["interactions"]) == "impression"
    assert main_event_type(rating_tables["interactions"]) == "rating"
    clicks_only = logged_tables["interactions"].query("event_type != 'impression'")
    assert main_event_type(clicks_only) == "click"  # 2 clicks > 1 conversion
    with pytest.raises(ValueError, match="interactions table is empty"):
        main_event_type(clicks_only.iloc[:0])


def test_profile_of_a_logged_feedback_table(logged_tables: dict[str, pd.DataFrame]) -> None:
    profile = data_profile(logged_tables)
    assert profile.event_type == "impression"
    assert (profile.n_users, profile.n_items) == (4, 5)
    assert profile.events_by_type == {"impression": 7, "click": 2, "conversion": 1}
    assert (profile.n_events, profile.n_interactions) == (7, 10)
    # pairs: u1 {i1, i2, i3} + u2 {i1, i2} + u3 {i1} = 6 of 4 x 5 = 20 cells
    assert profile.n_pairs == 6
    assert profile.density == pytest.approx(0.3)
    assert profile.sparsity == pytest.approx(0.7)
    # per user 4, 2, 1, 0: u4 has none; medians of [0, 1, 2, 4] and of [1, 2, 4]
    assert profile.events_per_user.to_dict() == {"u1": 4, "u2": 2, "u3": 1, "u4": 0}
    assert (profile.users_without_events, profile.users_without_events_share) == (1, 0.25)
    assert (profile.median_per_user_all, profile.median_per_user_active) == (1.5, 2.0)
    # per item 4, 2, 1, 0, 0 (most popular first): i4 and i5 have none
    assert list(profile.events_per_item.items()) == [("i1", 4), ("i2", 2), ("i3", 1), ("i4", 0), ("i5", 0)]
    assert (profile.items_without_events, profile.items_without_events_share) == (2, 0.4)
    # top 10% of 5 items = max(1, round(0.5)) = 1 item: i1 with 4 of 7 impressions
    assert profile.top10pct_share == pytest.approx(4 / 7)
    assert profile.cold_items == 1                          # i5: no impression, created 06-01 > last one 02-20
    assert profile.items_with_events_before_creation == 1   # i3, impression 02-01 < created 02-10
    assert (profile.first_event, profile.last_event) == (pd.Timestamp("2025-02-01T12:00:00Z"),
                                                         pd.Timestamp("2025-02-20T12:00:00Z"))
    assert profile.rating_counts is None and profile.mean_rating is None


def test_profile_distributions_over_all_and_active(logged_tables: dict[str, pd.DataFrame]) -> None:
    table = data_profile(logged_tables).distributions()
    assert list(table.index) == ["impressions per user, all users", "impressions per user, active users",
                                 "impressions per item, all items", "impressions per item, items with ≥ 1"]
    assert list(table["count"]) == [4, 3, 5, 3]
    # [0, 1, 2, 4] with linear interpolation: 25% at position 0.75 -> 0.75 (0.8 at one decimal),
    # 75% at 2.25 -> 2.5, 90% at 2.7 -> 3.4; mean 7 / 4 = 1.75
    users = table.loc["impressions per user, all users"]
    assert (users["min"], users["25%"], users["50%"], users["75%"], users["90%"], users["max"]) == \
        (0.0, 0.8, 1.5, 2.5, 3.4, 4.0)
    assert users["mean"] == 1.8  # 1.75 at one decimal (round half to even)
    # active users [1, 2, 4]: median 2, mean 7 / 3 = 2.3
    assert (table.loc["impressions per user, active users", "50%"],
            table.loc["impressions per user, active users", "mean"]) == (2.0, 2.3)


def test_profile_of_a_rating_table(rating_tables: dict[str, pd.DataFrame]) -> None:
    profile = data_profile(rating_tables)
    assert profile.event_type == "rating"
    assert (profile.n_pairs, profile.density) == (4, pytest.approx(4 / 6))
    assert profile.rating_counts is not None
    assert profile.rating_counts.to_dict() == {3.0: 1, 4.0: 2, 5.0: 1}
    assert profile.mean_rating == pytest.approx(4.0)  # (3 + 4 + 4 + 5) / 4
    assert profile.users_without_events == 1           # r3
    assert profile.items_without_events == 0
    assert profile.top10pct_share == pytest.approx(0.5)  # 1 of 2 items, 2 of 4 ratings
    # nobody is at zero among items: no "items with ≥ 1" row repeating "all items"
    assert list(profile.distributions().index) == [
        "ratings per user, all users", "ratings per user, active users", "ratings per item, all items"]


def test_profile_summary_and_json(logged_tables: dict[str, pd.DataFrame]) -> None:
    profile = data_profile(logged_tables)
    summary = profile.summary()["value"]
    assert summary["density: pairs / (users × items)"] == "30.00 %"
    assert summary["users without any impression"] == "1 (25.0 %)"
    assert summary["median impressions per user, all users"] == "1.5"
    assert summary["share of impressions on the top 10% of items"] == "57.1 %"
    assert "mean rating" not in summary.index
    payload = json.loads(json.dumps(profile.as_dict()))
    assert payload["pairs"] == 6 and payload["rating_counts"] is None
    assert payload["first_event"] == "2025-02-01T12:00:00+00:00"


def test_interactions_by_domain_counts_each_event_type(logged_tables: dict[str, pd.DataFrame]) -> None:
    table = interactions_by_domain(logged_tables)
    # movie i1, i2: 6 impressions, 2 clicks, 1 conversion; music i3: 1 impression; news: no event at all
    assert table.to_dict(orient="index") == {"movie": {"click": 2, "conversion": 1, "impression": 6},
                                             "music": {"click": 0, "conversion": 0, "impression": 1}}


def test_popularity_ranks_items_and_cohort_table_only_when_there_are_cohorts(
        logged_tables: dict[str, pd.DataFrame], rating_tables: dict[str, pd.DataFrame]) -> None:
    popularity = popularity_by_cohort(logged_tables, "impression")
    # ties (i4, i5 at 0) keep the catalogue order: the sort is stable
    assert list(zip(popularity.index, popularity["events"], popularity["rank"])) == [
        ("i1", 4, 1), ("i2", 2, 2), ("i3", 1, 3), ("i4", 0, 4), ("i5", 0, 5)]
    table = cohort_table(popularity)
    assert table is not None
    # mainstream i1, i2: 4 + 2 impressions; independent i3, i4, i5: 1 + 0 + 0
    assert table.loc["mainstream", ["items", "events", "mean"]].tolist() == [2, 6, 3.0]
    assert table.loc["independent", ["items", "events"]].tolist() == [3, 1]
    assert cohort_table(popularity_by_cohort(rating_tables, "rating")) is None
    assert has_cohorts(logged_tables) and not has_cohorts(rating_tables)


def test_conversion_delays_are_matched_within_a_request(logged_tables: dict[str, pd.DataFrame]) -> None:
    # a conversion in another request than the click is not matched to it
    events = logged_tables["interactions"]
    elsewhere = events.assign(request_id=np.where(events["event_type"] == "conversion", "r2", "r1"))
    assert observed_conversion_delays(dict(logged_tables, interactions=elsewhere)).empty
    delays = observed_conversion_delays(with_requests(logged_tables))
    assert delays[["item_id", "domain", "delay_days"]].values.tolist() == [["i1", "movie", 2.0]]
    summary = conversion_delay_summary(with_requests(logged_tables))
    assert summary.loc["movie", ["count", "mean", "min", "max"]].tolist() == [1.0, 2.0, 2.0, 2.0]


def test_top_share_definition() -> None:
    # 10 items, events 0 x 9 then 10 (unsorted): the top 10% (1 item) takes everything
    assert top_share(pd.DataFrame({"events": [0] * 9 + [10]}), 0.1) == 1.0
    # 20 items with 1 event each: the top 10% (2 items) take 2 of 20; no events: undefined
    assert top_share(pd.DataFrame({"events": [1] * 20}), 0.1) == pytest.approx(0.1)
    assert math.isnan(top_share(pd.DataFrame({"events": [0, 0]}), 0.1))
    # 4 items 5, 3, 1, 1 (10 events): k = max(1, round(0.4)) = 1 item -> 5 / 10
    assert top_share(pd.DataFrame({"events": [1, 5, 1, 3]}), 0.1) == pytest.approx(0.5)
    # and the top half (2 items) take 8 / 10
    assert top_share(pd.DataFrame({"events": [1, 5, 1, 3]}), 0.5) == pytest.approx(0.8)
