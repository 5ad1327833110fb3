"""The world's delayed-conversion signals, read off its truth, and the figure's data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hermes_core.ingest import plots  # noqa: E402
from hermes_core.ingest.world_signals import (  # noqa: E402
    DELAY_SIGNAL_GOALS,
    SignalGoal,
    conversion_signals_table,
    delay_histogram,
    kg_signals,
    kg_signals_table,
)
from hermes_core.world.kg_signals import TWO_HOP_LIFT_GOAL  # noqa: E402
from hermes_core.world.conversions import delay_signals  # noqa: E402


def test_goal_bounds_are_inclusive_and_nan_never_meets_a_goal() -> None:
    band = SignalGoal(0.10, 0.30)
    assert [band.met(v) for v in (0.0999, 0.10, 0.2, 0.30, 0.3001)] == [False, True, True, True, False]
    assert SignalGoal(low=0.3).met(1.0) and not SignalGoal(low=0.3).met(float("nan"))
    assert band.text() == "10% to 30%" and SignalGoal(low=0.3).text() == "≥ 30%"


def test_the_table_reads_the_stream_and_judges_each_goal(tiny_world) -> None:  # type: ignore[no-untyped-def]
    signals = delay_signals(tiny_world.conversions)
    table = conversion_signals_table(signals)
    by_key = table.set_index("key")
    for key, goal in DELAY_SIGNAL_GOALS.items():
        assert by_key.loc[key, "value"] == signals[key]
        assert by_key.loc[key, "met"] == goal.met(signals[key])
    # the share after 7 days, recomputed from the truth arrays
    stream = tiny_world.conversions
    delays = stream.delay_days[stream.true_label]
    assert by_key.loc["conversions_after_7d", "value"] == pytest.approx(np.mean(delays > 7.0))


def test_the_histogram_counts_every_counted_conversion_once(tiny_world) -> None:  # type: ignore[no-untyped-def]
    stream = tiny_world.conversions
    histogram = delay_histogram(stream, n_bins=12)
    assert histogram["conversions"].sum() == int(stream.true_label.sum())
    movie = histogram[histogram["domain"] == "movie"]
    edges = np.append(movie["bin_low"].to_numpy(), movie["bin_high"].iloc[-1])
    delays = stream.delay_days[stream.true_label & (stream.domain == 0)]
    np.testing.assert_array_equal(movie["conversions"].to_numpy(), np.histogram(delays, bins=edges)[0])


def test_the_figure_draws_the_histogram_it_returns(tiny_world) -> None:  # type: ignore[no-untyped-def]
    stream = tiny_world.conversions
    histogram = delay_histogram(stream, n_bins=8)
    fig, data = plots.plot_conversion_delays(histogram, delay_signals(stream), stream.attribution_window_days)
    assert data is histogram
    drawn = sum(float(np.sum(patch.get_data().values)) for patch in fig.axes[0].patches)
    assert drawn == histogram["conversions"].sum()
    plt.close(fig)


def test_the_kg_table_judges_only_two_hop_relations_and_the_figure_draws_each_lift(tiny_world) -> None:  # type: ignore[no-untyped-def]
    table = kg_signals_table(tiny_world)
    two_hop = table["hops"] == 2
    assert list(table["met"][two_hop]) == [bool(v >= TWO_HOP_LIFT_GOAL) for v in table["lift"][two_hop]]
    assert table["met"][~two_hop].isna().all()
    entry = kg_signals(table)
    assert entry["best_two_hop_lift"] == table["lift"][two_hop].max()
    assert entry["relations"]["created_by"]["pairs"] == table.set_index("relation").loc["created_by", "pairs"]
    fig, data = plots.plot_kg_hop_lift(table, TWO_HOP_LIFT_GOAL)
    widths = [patch.get_width() for patch in fig.axes[0].patches]
    np.testing.assert_allclose(widths, table["lift"].to_numpy())
    assert list(data["relation"])[-1] == "collaborated_with (3 hops)"
    plt.close(fig)


def _signals(full: float, last: float, static: float):  # type: ignore[no-untyped-def]
    from hermes_core.world.sequence_signals import SequenceSignals

    return SequenceSignals(held_out_days=14.0, k=10, n_sessions=5, n_events=40, n_events_long_history=20,
                           hit_rate={"full_history": full, "last_click": last, "static": static, "popularity": 0.05},
                           full_over_last_click=full / last, last_click_over_static=last / static,
                           history_variance_share=0.1, top10_not_in_static=0.4)


def test_sequence_table_judges_both_ratios_against_the_goal() -> None:
    from hermes_core.ingest.world_signals import sequence_signals_table

    table = sequence_signals_table(_signals(0.30, 0.25, 0.20))
    assert table.loc["HR ratio: full history / last click", "value"] == pytest.approx(1.2)
    assert table.loc["HR ratio: full history / last click", "met"]  # 1.20 >= 1.15
    assert table.loc["HR ratio: last click / static", "met"]  # 1.25 >= 1.15
    table = sequence_signals_table(_signals(0.25, 0.25, 0.24))
    assert not table.loc["HR ratio: full history / last click", "met"]
    assert not table.loc["HR ratio: last click / static", "met"]  # 1.04


def test_sequence_verdict_says_history_adds_nothing_only_when_the_ratio_is_one() -> None:
    from hermes_core.ingest.world_signals import sequence_verdict

    tie = sequence_verdict(_signals(0.2, 0.2, 0.16))
    assert "adds nothing" in tie and "1.25× over static taste (meets" in tie
    lift = sequence_verdict(_signals(0.3, 0.2, 0.16))
    assert "adds nothing" not in lift and "1.50× over the last click (meets" in lift


def test_kg_verdict_names_the_strongest_two_hop_relation() -> None:
    import pandas as pd

    from hermes_core.ingest.world_signals import kg_verdict

    table = pd.DataFrame({"relation": ["created_by", "has_theme", "collaborated_with"], "hops": [2, 2, 3],
                          "p_relevant": [0.42, 0.6, 0.9], "base_rate": [0.3, 0.3, 0.3], "lift": [1.4, 2.0, 3.0]})
    # the 3-hop row is not a candidate even though its lift is the largest
    assert kg_verdict(table).startswith("The strongest 2-hop relation, `has_theme`, has a lift of 2.00")
    assert "meets the goal of 1.5" in kg_verdict(table)


def test_feature_table_reads_the_hidden_factor_fit(tiny_world) -> None:  # type: ignore[no-untyped-def]
    from hermes_core.ingest.world_signals import feature_signals_table
    from hermes_core.world.feature_signals import hidden_factor_r2

    expected = hidden_factor_r2(tiny_world)
    table = feature_signals_table(expected)
    assert table["value"].tolist() == [expected["mean_r2"], expected["max_r2"]]
    assert table["met"].iloc[0] == (expected["mean_r2"] <= 0.3)
