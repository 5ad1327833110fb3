"""Unseen share, the distance to an exponential, and redrawn delays."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hermes_core.delayed_feedback.delays import (
    delay_summary,
    delays_by_domain,
    ks_distance_to_exponential,
    redraw_delays,
    unseen_share,
)
from tests.delayed_feedback.synthetic import synthetic_stream


def four_conversions():
    stream = synthetic_stream(n=4)
    return dataclasses.replace(stream, converted=np.ones(4, bool), delay_days=np.array([0.5, 1.0, 2.0, 4.0]),
                               domain=np.zeros(4, np.int8))


def test_unseen_share_by_hand() -> None:
    table = unseen_share(four_conversions(), np.array([0.0, 1.0, 3.0, 5.0]))
    overall = table[table["group"] == "all"]
    # delays 0.5, 1, 2, 4: later than 0 all four, than 1 two (2, 4), than 3 one, than 5 none
    assert overall["unseen_share"].tolist() == [1.0, 0.5, 0.25, 0.0]
    assert overall["n_conversions"].iloc[0] == 4
    assert table[table["group"] == "music"]["unseen_share"].isna().all()  # no conversion there


def test_ks_distance_by_hand() -> None:
    # four delays of 1 day: the empirical CDF jumps from 0 to 1 at 1, where the exponential's is 1 - e^-1 = 0.632;
    # the gap is 0.632 just below the jump (0 against 0.632) and 0.368 just after it: the supremum is 0.632
    assert ks_distance_to_exponential(np.ones(4)) == pytest.approx(1 - math.exp(-1))
    assert math.isnan(ks_distance_to_exponential(np.array([])))
    draws = np.random.default_rng(0).exponential(3.0, 20_000)
    assert ks_distance_to_exponential(draws) < 0.015  # an exponential sample is close to its own fit


def test_redraw_keeps_the_clicks_and_the_means() -> None:
    stream = synthetic_stream(n=4000)
    means = np.array([1.0, 2.0, 4.0, 8.0])
    redrawn = redraw_delays(stream, "exponential", 1.0, means, np.random.default_rng(3))
    np.testing.assert_array_equal(redrawn.converted, stream.converted)
    np.testing.assert_array_equal(redrawn.click_time_days, stream.click_time_days)
    assert np.all(np.isnan(redrawn.delay_days[~stream.converted]))
    for k, mean in enumerate(means):
        delays = redrawn.delay_days[stream.converted & (stream.domain == k)]
        assert delays.mean() == pytest.approx(mean, rel=5 * 1 / math.sqrt(len(delays)))  # 5 standard errors
    again = redraw_delays(stream, "exponential", 1.0, means, np.random.default_rng(3))
    np.testing.assert_array_equal(again.delay_days, redrawn.delay_days)
    with pytest.raises(ValueError, match="positive means"):
        redraw_delays(stream, "exponential", 1.0, np.array([1.0, 2.0]), np.random.default_rng(0))


def test_delay_summary_and_domains() -> None:
    summary = delay_summary(four_conversions(), attribution_window_days=3.0)
    row = summary.loc["all"]
    # the stream's own window (5 days) counts all four; the share beyond uses the window passed (3 days)
    assert row["conversions"] == 4
    assert row["mean_days"] == pytest.approx((0.5 + 1 + 2 + 4) / 4)
    assert row["median_days"] == pytest.approx(1.5)
    assert row["after_1d_exponential"] == pytest.approx(math.exp(-1 / row["mean_days"]))
    assert row["beyond_window"] == pytest.approx(0.25)  # one of four eventual conversions is later than 3 days
    assert set(delays_by_domain(four_conversions())) == {"movie", "music", "product", "news"}
