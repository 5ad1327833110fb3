"""The ingest figures draw for both kinds of source, and the table each returns (the one the
notebook saves beside the PNG) holds exactly the numbers drawn: read back from the figure's
bars, lines and histogram, or worked out by hand from the tables of ``conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from hermes_core.figures import save_figure  # noqa: E402
from hermes_core.ingest import plots  # noqa: E402
from hermes_core.ingest.profile import data_profile, popularity_by_cohort  # noqa: E402
from hermes_core.ingest.world_signals import SCORER_LABELS, sequence_signals_table  # noqa: E402
from hermes_core.world.exposure_signals import ExposureSignals  # noqa: E402
from hermes_core.world.modality_signals import ModalitySignals  # noqa: E402
from hermes_core.world.sequence_signals import SequenceSignals  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


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


def sequence_signals_example(history_share: float = 0.25, turnover: float = 0.4) -> SequenceSignals:
    """Hand-set session signals: HR@10 0.5 / 0.4 / 0.2 / 0.1, so the ratios are 1.25 and 2."""
    return SequenceSignals(held_out_days=14.0, k=10, n_sessions=12, n_events=30, n_events_long_history=18,
                           hit_rate={"full_history": 0.5, "last_click": 0.4, "static": 0.2, "popularity": 0.1},
                           full_over_last_click=1.25, last_click_over_static=2.0,
                           history_variance_share=history_share, top10_not_in_static=turnover)


def modality_signals_example() -> ModalitySignals:
    """40 of 100 sessions with an intent gaining 0.125 each, the 60 others exactly 0: gain 0.05 overall."""
    return ModalitySignals(k=10, n_cold_items=24, n_sessions=100, n_intent_sessions=40, ndcg_concatenation=0.6,
                           ndcg_oracle=0.65, gain=0.05, gain_intent_sessions=0.125, gain_ci_low=0.03,
                           gain_ci_high=0.07, level=0.95, n_bootstrap=1000, seed=0)


def exposure_signals_example() -> ExposureSignals:
    """Mainstream: 37.5 % of items, 35 % of the true top-10, 70 % of impressions (2× merit)."""
    return ExposureSignals(k=10, n_users=300, popularity_in_relevance=False, mainstream_share_top10=0.35,
                           mainstream_share_items=0.375, mainstream_share_warm_items=0.375,
                           mainstream_share_impressions=0.7, top_grade_items=9.0, top10_pairs_tied=0.7,
                           tied_pairs_affinity_differs=1.0, tied_pairs_click_differs=0.99, top10_grade_saturated=0.01,
                           similarity_fatigue=0.5, expected_clicks_fatigue=1.2, expected_clicks_no_fatigue=1.25,
                           fatigue_cost=0.04, near_duplicate_slates=0.46, near_duplicate_pairs=0.75)


def test_sequence_hit_rate_bars_are_the_hr_rows_of_the_table() -> None:
    table = sequence_signals_table(sequence_signals_example())
    fig, data = plots.plot_sequence_hit_rates(table)
    # the four HR@10 rows, top to bottom; the ratio and share rows are not hit rates
    assert data["hit_rate"].tolist() == [0.5, 0.4, 0.2, 0.1]
    assert data["scorer"].tolist() == [SCORER_LABELS[name] for name in ("full_history", "last_click", "static",
                                                                        "popularity")]
    assert [bar.get_width() for bar in fig.axes[0].patches] == data["hit_rate"].tolist()


def test_history_share_stacks_static_and_history_to_one() -> None:
    fig, data = plots.plot_history_share(sequence_signals_example(history_share=0.25, turnover=0.4))
    # static share = 1 - 0.25; top-10 items kept = 1 - 0.4
    assert data["share"].tolist() == pytest.approx([0.75, 0.25, 0.6, 0.4])
    assert data.groupby("panel", sort=False)["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    for ax, (_, part) in zip(fig.axes, data.groupby("panel", sort=False)):
        bars = ax.patches
        assert [bar.get_width() for bar in bars] == pytest.approx(part["share"].tolist())
        assert [bar.get_x() for bar in bars] == pytest.approx([0.0, part["share"].iloc[0]])  # stacked
    assert fig._suptitle.get_text() == ("The session history carries 25% of the variance of contextual affinity "
                                        "and changes 40% of the top-10")
    assert fig.axes[-1].get_xlabel() == "share (30 next clicks of 12 held-out sessions)"


def test_history_share_below_zero_stays_in_view() -> None:
    # Cov(b, s + b) < 0 is possible: the history share is then negative and the static share above 1
    fig, data = plots.plot_history_share(sequence_signals_example(history_share=-0.1, turnover=0.0))
    assert data["share"].tolist()[:2] == pytest.approx([1.1, -0.1])
    assert fig.axes[0].get_xlim() == pytest.approx((-0.1, 1.1))
    assert fig.axes[1].get_xlim() == pytest.approx((0.0, 1.0))


def test_modality_oracle_bars_interval_and_goal() -> None:
    fig, data = plots.plot_modality_oracle(modality_signals_example(), goal=0.02)
    left, right = fig.axes
    assert data[["panel", "value"]].values.tolist() == [["ndcg", 0.6], ["ndcg", 0.65], ["gain", 0.05],
                                                        ["gain", 0.125]]
    assert data["series"].tolist()[2:] == ["all 100 sessions", "40 sessions with an intent"]
    assert [bar.get_width() for bar in left.patches] == [0.6, 0.65]
    assert [bar.get_width() for bar in right.patches] == [0.05, 0.125]
    # one error bar, on the all-sessions gain, from the interval's low to its high end
    (errors,) = [c for c in right.collections if c.get_segments()]
    ((start, end),) = errors.get_segments()
    assert (start[0], end[0]) == pytest.approx((0.03, 0.07))
    assert data["ci_low"].isna().tolist() == [True, True, False, True]
    dashed = [line.get_xdata()[0] for line in right.get_lines() if line.get_linestyle() == "--"]
    assert dashed == [0.02]
    assert "gains +0.050 NDCG@10 on 24 cold items" in fig._suptitle.get_text()


def test_mainstream_exposure_bars_and_the_ratio_in_the_title() -> None:
    fig, data = plots.plot_mainstream_exposure(exposure_signals_example())
    ax = fig.axes[0]
    assert data.values.tolist() == [["catalogue items", 0.375], ["users' true top-10 (merit)", 0.35],
                                    ["logged impressions (exposure)", 0.7]]
    assert [bar.get_width() for bar in ax.patches] == data["mainstream_share"].tolist()
    dotted = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert dotted == [0.375]
    # 0.7 / 0.35 = 2: impressions show mainstream creators twice as often as merit would
    assert ax.get_title() == ("Mainstream creators hold 35.0% of merit and 70.0% of exposure (2.00×)\n"
                              "(popularity is not part of relevance)")


def test_new_world_signal_tables_have_the_axes_dvc_plots_reads(tmp_path) -> None:
    declared: dict[str, dict[str, str]] = {}
    for entry in yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["plots"]:
        ((path, config),) = entry.items() if isinstance(entry, dict) else ((entry, {}),)
        declared[path] = config
    figures = {
        "sequence_hit_rates": plots.plot_sequence_hit_rates(sequence_signals_table(sequence_signals_example())),
        "history_affinity_share": plots.plot_history_share(sequence_signals_example()),
        "modality_oracle": plots.plot_modality_oracle(modality_signals_example(), goal=0.02),
        "mainstream_exposure": plots.plot_mainstream_exposure(exposure_signals_example()),
    }
    for name, (fig, data) in figures.items():
        save_figure(fig, data, tmp_path, name)
        config = declared[f"reports/figures/ingest/{name}.csv"]
        assert f"reports/figures/ingest/{name}.png" in declared, name
        header = pd.read_csv(tmp_path / f"{name}.csv").columns
        assert {config["x"], config["y"]} <= set(header), (name, config, list(header))
