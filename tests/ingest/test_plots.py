"""The ingest figures draw for both kinds of source, and the table each returns (the one the
notebook saves beside the PNG) holds exactly the numbers drawn: read back from the figure's
bars, lines and histogram, or worked out by hand from the tables of ``conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hermes_core.figures import save_figure  # noqa: E402
from hermes_core.ingest import plots  # noqa: E402
from hermes_core.ingest.profile import data_profile, popularity_by_cohort  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def with_requests(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every event in request ``r``: u1's click on i1 (02-01) and its conversion (02-03) match."""
    return dict(tables, interactions=tables["interactions"].assign(request_id="r"))


def test_quarantine_bars_and_their_table() -> None:
    fig, data = plots.plot_quarantine_reasons({"wrong_type": 5, "duplicate_id": 2, "unknown_user": 9})
    bars = fig.axes[0].patches
    labels = [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    # bottom to top, fewest first, as drawn
    assert data.values.tolist() == [["duplicate_id", 2], ["wrong_type", 5], ["unknown_user", 9]]
    assert labels == list(data["reason"]) and [bar.get_width() for bar in bars] == list(data["records"])
    assert fig.axes[0].get_title() == "Quarantine by reason: 16 records (first reason of each record)"


def test_empty_quarantine_says_so_and_still_has_a_data_row() -> None:
    fig, data = plots.plot_quarantine_reasons({})
    assert fig.axes[0].texts[0].get_text() == "no record was quarantined"
    assert data.values.tolist() == [["none", 0]]


def test_event_mix_of_logged_feedback(logged_tables: dict[str, pd.DataFrame]) -> None:
    tables = with_requests(logged_tables)
    fig, data = plots.plot_event_mix(tables, data_profile(tables), delay_label="exponential")
    assert [ax.get_title() for ax in fig.axes] == ["Interactions by item domain and event type",
                                                   "1 observed conversion delays (exponential)"]
    domain = data[data["panel"] == "domain"]
    # movie: 2 clicks, 1 conversion, 6 impressions; music: 1 impression; one bar per (type, domain)
    assert sorted(zip(domain["series"], domain["x"], domain["value"])) == [
        ("click", "movie", 2.0), ("click", "music", 0.0), ("conversion", "movie", 1.0), ("conversion", "music", 0.0),
        ("impression", "movie", 6.0), ("impression", "music", 1.0)]
    assert sorted(bar.get_height() for bar in fig.axes[0].patches) == sorted(domain["value"])
    # one delay of 2 days in 60 bins of 0.25 day over [0, 15): density 1 / 0.25 = 4 in bin [2, 2.25), 0 elsewhere
    delays = data[data["panel"] == "delays"]
    assert len(delays) == 60 and set(delays["series"]) == {"movie"}
    assert delays.loc[delays["value"] > 0, ["x", "value"]].values.tolist() == [["2", 4.0]]
    assert delays["x"].iloc[:3].tolist() == ["0", "0.25", "0.5"]


def test_event_mix_of_ratings(rating_tables: dict[str, pd.DataFrame]) -> None:
    fig, data = plots.plot_event_mix(rating_tables, data_profile(rating_tables))
    # one domain and one event type: the rating values only
    assert [ax.get_title() for ax in fig.axes] == ["Rating distribution: 4 ratings, mean 4.00"]
    assert data[["series", "x", "value"]].values.tolist() == [["ratings", "3", 1.0], ["ratings", "4", 2.0],
                                                               ["ratings", "5", 1.0]]
    assert [bar.get_height() for bar in fig.axes[0].patches] == [1, 2, 1]


def test_long_tail_table_is_what_each_cohort_line_draws(logged_tables: dict[str, pd.DataFrame],
                                                         rating_tables: dict[str, pd.DataFrame]) -> None:
    popularity = popularity_by_cohort(logged_tables, "impression")
    fig, data = plots.plot_long_tail(popularity, data_profile(logged_tables))
    assert data.values.tolist() == [["mainstream", 1, "i1", 4], ["mainstream", 2, "i2", 2],
                                    ["independent", 3, "i3", 1], ["independent", 4, "i4", 0],
                                    ["independent", 5, "i5", 0]]
    for line in fig.axes[0].get_lines():
        cohort = line.get_label().split(" (")[0]
        drawn = data[data["cohort"] == cohort]
        assert list(line.get_xdata()) == list(drawn["rank"])
        assert list(line.get_ydata()) == list(drawn["events"] + 1)  # + 1 keeps zeros on the log axis
    fig, data = plots.plot_long_tail(popularity_by_cohort(rating_tables, "rating"), data_profile(rating_tables))
    assert fig.axes[0].get_legend_handles_labels()[1] == ["all items (2)"]
    assert set(data["cohort"]) == {"unknown"}


def test_activity_histogram_and_its_table(logged_tables: dict[str, pd.DataFrame]) -> None:
    fig, data = plots.plot_activity(data_profile(logged_tables))
    # active users have 4, 2 and 1 impressions; edges: 40 points from 10^0 to 10^log10(4 + 1) = 5
    edges = np.logspace(0, np.log10(5), 40)
    assert len(data) == 39
    assert np.allclose(data["bin_low"], edges[:-1]) and np.allclose(data["bin_high"], edges[1:])
    expected, _ = np.histogram([4, 2, 1], bins=edges)
    assert data["users"].tolist() == expected.tolist() and data["users"].sum() == 3
    assert [bar.get_height() for bar in fig.axes[0].patches] == data["users"].tolist()


def test_activity_title_gives_both_medians_and_the_zero_share(logged_tables: dict[str, pd.DataFrame],
                                                              rating_tables: dict[str, pd.DataFrame]) -> None:
    fig, _ = plots.plot_activity(data_profile(logged_tables))
    title = fig.axes[0].get_title()
    assert "median 1.5 over all 4 users, 2 over the 3 active" in title
    assert "1 users (25.0%) have none" in title
    without_r3 = dict(rating_tables, users=rating_tables["users"].iloc[:2])
    fig, _ = plots.plot_activity(data_profile(without_r3))
    assert "every one of the 2 users has at least 2" in fig.axes[0].get_title()


def test_every_table_can_be_saved_beside_its_figure(logged_tables: dict[str, pd.DataFrame], tmp_path) -> None:
    tables = with_requests(logged_tables)
    profile = data_profile(tables)
    figures = {
        "quarantine_by_reason": plots.plot_quarantine_reasons({}),
        "event_mix": plots.plot_event_mix(tables, profile),
        "popularity_long_tail": plots.plot_long_tail(popularity_by_cohort(tables, "impression"), profile),
        "activity_per_user": plots.plot_activity(profile),
    }
    for name, (fig, data) in figures.items():
        save_figure(fig, data, tmp_path, name)
        assert pd.read_csv(tmp_path / f"{name}.csv").shape == data.shape, name
