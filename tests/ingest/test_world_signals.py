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
)
from hermes_core.world.conversions import delay_signals  # noqa: E402


def test_goal_bounds_are_inclusive_and_nan_never_meets_a_goal() -> None:
    band = SignalGoal(0.10, 0.30)
    assert [band.met(v) for v in (0.0999, 0.10, 0.2, 0.30, 0.3001)] == [False, True, True, True, False]
    assert SignalGoal(low=0.3).met(1.0) and not SignalGoal(low=0.3).met(float("nan"))
    assert band.text() == "10% to 30%" and SignalGoal(low=0.3).text() == "≥ 30%"


def test_the_table_reads_the_stream_and_judges_each_goal(tiny_world) -> None:  # type: ignore[no-untyped-def]
    table = conversion_signals_table(tiny_world)
    signals = delay_signals(tiny_world.conversions)
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
