"""The ingest stage's summaries: data profile, headline metrics, diagnostics and conclusions.

The profile is checked on two tiny hand-built sets of accepted tables whose numbers are worked
out by hand in the comments: a logged-feedback table (impressions, clicks, a conversion) shaped
like the world's, and an explicit-rating table shaped like MovieLens'. The metrics are checked
end to end on the MovieLens 100K fixture (``tests/fixtures/movielens/100k``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hermes_core.ingest import stage as st  # noqa: E402
from hermes_core.params import load_params  # noqa: E402
from hermes_core.ingest.validate import IngestResult  # noqa: E402
from hermes_core.workspace import Workspace, write_diagnostics, write_metrics  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_100K = Path(__file__).resolve().parents[1] / "fixtures" / "movielens" / "100k"


def stamp(day: str) -> pd.Timestamp:
    return pd.Timestamp(f"2025-{day}T12:00:00Z")


@pytest.fixture
def logged_tables() -> dict[str, pd.DataFrame]:
    """4 users, 5 items; impressions u1: i1 i1 i2 i3, u2: i1 i2, u3: i1, u4: none; 2 clicks, 1 conversion.

    i3 is created (02-10) after its impression (02-01); i5 is created (06-01) after the last
    impression (02-20).
    """
    users = pd.DataFrame({"user_id": ["u1", "u2", "u3", "u4"]})
    assets = pd.DataFrame({
        "asset_id": ["i1", "i2", "i3", "i4", "i5"],
        "domain": ["movie", "movie", "music", "news", "news"],
        "creator_cohort": ["mainstream", "mainstream", "independent", "independent", "independent"],
        "created_at": [stamp("01-01"), stamp("01-01"), stamp("02-10"), stamp("01-01"), stamp("06-01")],
    })
    rows = [
        ("impression", "u1", "i1", "02-01"), ("impression", "u1", "i1", "02-02"), ("impression", "u1", "i2", "02-01"),
        ("impression", "u1", "i3", "02-01"), ("impression", "u2", "i1", "02-01"), ("impression", "u2", "i2", "02-01"),
        ("impression", "u3", "i1", "02-20"),
        ("click", "u1", "i1", "02-01"), ("click", "u2", "i2", "02-01"), ("conversion", "u1", "i1", "02-03"),
    ]
    interactions = pd.DataFrame([{"event_type": kind, "user_id": user, "item_id": item, "timestamp": stamp(day),
                                  "value": None} for kind, user, item, day in rows])
    return {"users": users, "assets": assets, "interactions": interactions}


@pytest.fixture
def rating_tables() -> dict[str, pd.DataFrame]:
    """3 users, 2 movies; ratings r1: m1=4 m2=5, r2: m1=4 m2=3, r3: none."""
    users = pd.DataFrame({"user_id": ["r1", "r2", "r3"]})
    assets = pd.DataFrame({"asset_id": ["m1", "m2"], "domain": ["movie", "movie"], "creator_cohort": [None, None],
                           "created_at": [stamp("01-01"), stamp("01-01")]})
    rows = [("r1", "m1", 4.0), ("r1", "m2", 5.0), ("r2", "m1", 4.0), ("r2", "m2", 3.0)]
    interactions = pd.DataFrame([{"event_type": "rating", "user_id": user, "item_id": item, "timestamp": stamp("03-01"),
                                  "value": value} for user, item, value in rows])
    return {"users": users, "assets": assets, "interactions": interactions}


def stage_of(tables: dict[str, pd.DataFrame], source: str) -> st.IngestStageResult:
    """A stage result around accepted tables (no store, no world: what the summaries read)."""
    counts = {name: {"in": len(frame), "accepted": len(frame), "quarantined": 0} for name, frame in tables.items()}
    result = IngestResult(tables=tables, quarantine=pd.DataFrame(columns=["table", "source", "reason"]), counts=counts)
    return st.IngestStageResult(source, result, manifest=None, world=None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the data profile
def test_main_event_type_prefers_impressions_then_ratings(logged_tables: dict[str, pd.DataFrame],
                                                          rating_tables: dict[str, pd.DataFrame]) -> None:
    assert st.main_event_type(logged_tables["interactions"]) == "impression"
    assert st.main_event_type(rating_tables["interactions"]) == "rating"
    clicks_only = logged_tables["interactions"].query("event_type != 'impression'")
    assert st.main_event_type(clicks_only) == "click"  # 2 clicks > 1 conversion
    with pytest.raises(ValueError, match="interactions table is empty"):
        st.main_event_type(clicks_only.iloc[:0])


def test_profile_of_a_logged_feedback_table(logged_tables: dict[str, pd.DataFrame]) -> None:
    profile = st.data_profile(logged_tables)
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
    assert (profile.first_event, profile.last_event) == (stamp("02-01"), stamp("02-20"))
    assert profile.rating_counts is None and profile.mean_rating is None


def test_profile_distributions_over_all_and_active(logged_tables: dict[str, pd.DataFrame]) -> None:
    table = st.data_profile(logged_tables).distributions()
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
    profile = st.data_profile(rating_tables)
    assert profile.event_type == "rating"
    assert (profile.n_pairs, profile.density) == (4, pytest.approx(4 / 6))
    assert profile.rating_counts is not None
    assert profile.rating_counts.to_dict() == {3.0: 1, 4.0: 2, 5.0: 1}
    assert profile.mean_rating == pytest.approx(4.0)  # (3 + 4 + 4 + 5) / 4
    assert profile.users_without_events == 1           # r3
    assert profile.items_without_events == 0
    assert profile.top10pct_share == pytest.approx(0.5)  # 1 of 2 items, 2 of 4 ratings
    # nobody is at zero among items: no "items with ≥ 1" row repeating "all items"
    assert list(st.data_profile(rating_tables).distributions().index) == [
        "ratings per user, all users", "ratings per user, active users", "ratings per item, all items"]


def test_profile_summary_and_json(logged_tables: dict[str, pd.DataFrame]) -> None:
    profile = st.data_profile(logged_tables)
    summary = profile.summary()["value"]
    assert summary["density: pairs / (users × items)"] == "30.00 %"
    assert summary["users without any impression"] == "1 (25.0 %)"
    assert summary["median impressions per user, all users"] == "1.5"
    assert summary["share of impressions on the top 10% of items"] == "57.1 %"
    assert "mean rating" not in summary.index
    payload = json.loads(json.dumps(profile.as_dict()))
    assert payload["pairs"] == 6 and payload["rating_counts"] is None
    assert payload["first_event"] == "2025-02-01T12:00:00+00:00"


def test_cohort_table_only_when_there_are_cohorts(logged_tables: dict[str, pd.DataFrame],
                                                  rating_tables: dict[str, pd.DataFrame]) -> None:
    popularity = st.popularity_by_cohort(logged_tables, "impression")
    table = st.cohort_table(popularity)
    assert table is not None
    # mainstream i1, i2: 4 + 2 impressions; independent i3, i4, i5: 1 + 0 + 0
    assert table.loc["mainstream", ["items", "events", "mean"]].tolist() == [2, 6, 3.0]
    assert table.loc["independent", ["items", "events"]].tolist() == [3, 1]
    assert st.cohort_table(st.popularity_by_cohort(rating_tables, "rating")) is None
    assert st.has_cohorts(logged_tables) and not st.has_cohorts(rating_tables)


def test_activity_title_gives_both_medians_and_the_zero_share(logged_tables: dict[str, pd.DataFrame],
                                                              rating_tables: dict[str, pd.DataFrame]) -> None:
    fig = st.plot_activity(st.data_profile(logged_tables))
    title = fig.axes[0].get_title()
    plt.close(fig)
    assert "median 1.5 over all 4 users, 2 over the 3 active" in title
    assert "1 users (25.0%) have none" in title
    without_r3 = dict(rating_tables, users=rating_tables["users"].iloc[:2])
    fig = st.plot_activity(st.data_profile(without_r3))
    title = fig.axes[0].get_title()
    plt.close(fig)
    assert "every one of the 2 users has at least 2" in title


def test_every_figure_draws_for_both_kinds_of_source(logged_tables: dict[str, pd.DataFrame],
                                                     rating_tables: dict[str, pd.DataFrame]) -> None:
    logged, rated = st.data_profile(logged_tables), st.data_profile(rating_tables)
    # logged: events by domain and type (3 domains), then the delays (conversions matched to clicks by request)
    fig = st.plot_event_mix(dict(logged_tables, interactions=logged_tables["interactions"].assign(request_id="r")),
                            logged)
    # plus the conversion delays: u1-i1 clicked 02-01 and converted 02-03 in the same request
    assert [ax.get_title() for ax in fig.axes] == ["Interactions by item domain and event type",
                                                   "1 observed conversion delays"]
    plt.close(fig)
    fig = st.plot_event_mix(rating_tables, rated)  # one domain, one event type: the rating values only
    assert [ax.get_title() for ax in fig.axes] == ["Rating distribution: 4 ratings, mean 4.00"]
    plt.close(fig)
    fig = st.plot_long_tail(st.popularity_by_cohort(rating_tables, "rating"), rated)
    assert fig.axes[0].get_legend_handles_labels()[1] == ["all items (2)"]
    plt.close(fig)
    fig = st.plot_quarantine_reasons({})
    assert fig.axes[0].texts[0].get_text() == "no record was quarantined"
    plt.close(fig)


# ---------------------------------------------------------------------- metrics, diagnostics, conclusions
def test_metrics_table_formats_each_kind_of_number() -> None:
    table = st.metrics_table({"records_in": 15153, "quarantine_share": 0.019666, "injected_recovered_share": None})
    assert table["value"].to_dict() == {"records_in": "15,153", "quarantine_share": "1.97 %",
                                        "injected_recovered_share": "n/a"}


def test_movielens_metrics_and_diagnostics(tmp_path: Path) -> None:
    params = load_params(ROOT / "params.yaml", profile="default")
    params = params.model_copy(update={"data": params.data.model_copy(
        update={"source": "movielens-100k", "movielens_path": str(FIXTURE_100K)})})
    workspace = Workspace(root=tmp_path)
    stage = st.run_ingest_stage(params, workspace)
    result = stage.result
    metrics = st.ingest_metrics(stage)
    assert list(metrics) == ["records_in", "records_accepted", "records_quarantined", "quarantine_share",
                             "injected_recovered_share", "users", "items", "interactions", "density",
                             "top10pct_share"]
    assert metrics["injected_recovered_share"] is None  # nothing injected into real files
    assert metrics["records_in"] == metrics["records_accepted"] + metrics["records_quarantined"]
    assert metrics["quarantine_share"] == pytest.approx(result.records_quarantined / result.records_in)
    assert (metrics["users"], metrics["items"], metrics["interactions"]) == (
        len(result.tables["users"]), len(result.tables["assets"]), len(result.tables["interactions"]))
    ratings = result.tables["interactions"]
    pairs = len(ratings[["user_id", "item_id"]].drop_duplicates())
    assert metrics["density"] == pytest.approx(pairs / (metrics["users"] * metrics["items"]))
    write_metrics(workspace, "ingest", metrics)  # refuses more than 12 numbers or any non-number
    diagnostics = st.ingest_diagnostics(stage)
    assert diagnostics["store_version"] == stage.manifest.version
    assert diagnostics["tables"] == result.counts
    assert diagnostics["injected"] is None and diagnostics["world"] is None
    assert diagnostics["profile"]["event_type"] == "rating"
    assert set(diagnostics["seconds"]) == {"source", "validate", "store"}
    write_diagnostics(workspace, "ingest", diagnostics)
    assert json.loads(workspace.diagnostics_file("ingest").read_text())["source"] == "movielens-100k"


def test_conclusions_follow_the_numbers(logged_tables: dict[str, pd.DataFrame],
                                        rating_tables: dict[str, pd.DataFrame]) -> None:
    stage = stage_of(logged_tables, "world-like")
    profile = st.data_profile(logged_tables)
    text = st.ingest_conclusions(stage, profile, st.ingest_metrics(stage, profile))
    assert "records in = accepted + quarantined holds" in text
    assert "1 users (25.0%) have no impression: the median is 1.5 impressions over all users but 2 over the 3 active" \
        in text
    assert "2 items (40.0%) have no impression; 1 of them were created after the last impression (cold" in text
    assert "1 items have their first impression before their `created_at`" in text
    assert "The top 10% of items take 57.1% of impressions, 5.7× their share" in text
    assert "A mainstream item gets 9.0× the impressions of an independent one" in text  # 3.0 vs 1/3
    # MovieLens-like: r3 has no rating, so the README's minimum of 20 ratings per user does not hold here
    rated = stage_of(rating_tables, "movielens-100k")
    profile = st.data_profile(rating_tables)
    text = st.ingest_conclusions(rated, profile, st.ingest_metrics(rated, profile))
    assert "'every user rated at least 20 movies' does not hold for the ingested ratings (minimum 0" in text
    assert "The mean rating is 4.00; the most common value is 4 (50.0% of ratings)." in text
    assert "no injected records" in text
    assert "mainstream" not in text


def test_source_description_follows_the_source() -> None:
    world = st.source_description("world")
    assert world.endswith(st.WORLD_MODEL_MARKDOWN)
    assert r"P(\text{click}\mid u,i,k) = (k+1)^{-\eta}" in world
    ml = st.source_description("movielens-100k")
    assert "MovieLens 100K" in ml and "1 to 5" in ml and "Unix timestamp" in ml
    assert "Plackett" not in ml
    assert "half-star" in st.source_description("movielens-latest")
    with pytest.raises(ValueError, match="data.source 'netflix'"):
        st.source_description("netflix")


def test_top_share_definition() -> None:
    # 10 items, events 0 x 9 then 10 (unsorted): the top 10% (1 item) takes everything
    assert st.top_share(pd.DataFrame({"events": [0] * 9 + [10]}), 0.1) == 1.0
    # 20 items with 1 event each: the top 10% (2 items) take 2 of 20; no events: undefined
    assert st.top_share(pd.DataFrame({"events": [1] * 20}), 0.1) == pytest.approx(0.1)
    assert math.isnan(st.top_share(pd.DataFrame({"events": [0, 0]}), 0.1))
