"""What each method trains on: five clicks worked out by hand.

Clicks at 0.1, 0.5, 1.2, 1.6 and 2.5 days; counted conversions at 0.3 (delay 0.2), 2.0 (delay
1.5), none, 1.7 (delay 0.1) and 2.6 (delay 0.1); attribution window 5 days.
"""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.delayed_feedback.training_rows import CORRECTIONS, METHODS, ClickTimes, method_streams, training_rows

NAN = np.nan
TIMES = ClickTimes(np.array([0.1, 0.5, 1.2, 1.6, 2.5]), np.array([0.3, 2.0, NAN, 1.7, 2.6]), 5.0)


def test_click_methods_on_the_first_day() -> None:
    # at T = 1 click 0 has converted (0.3) and click 1 has not yet (2.0): a fake negative
    vanilla = training_rows("vanilla", TIMES, 0.0, 1.0)
    assert vanilla.click.tolist() == [0, 1] and vanilla.label.tolist() == [1.0, 0.0]
    assert vanilla.elapsed == pytest.approx([0.9, 0.5])
    oracle = training_rows("oracle", TIMES, 0.0, 1.0)
    assert oracle.label.tolist() == [1.0, 1.0]
    dfm = training_rows("dfm", TIMES, 0.0, 1.0)
    assert dfm.delay[0] == pytest.approx(0.2) and np.isnan(dfm.delay[1])  # only an observed delay is known


def test_a_later_observation_time_lets_labels_mature() -> None:
    rows = training_rows("vanilla", TIMES, 0.0, 1.0, observed_at=2.0)
    assert rows.click.tolist() == [0, 1] and rows.label.tolist() == [1.0, 1.0]  # click 1 converted at 2.0
    assert rows.elapsed == pytest.approx([1.9, 1.5])


def test_stream_methods_on_the_second_day() -> None:
    streams = method_streams(TIMES, 0.25)
    fnw = training_rows("fnw", TIMES, 1.0, 2.0, streams)
    # clicks 2 and 3 enter as negatives at their click times, click 3's conversion at 1.7 as a positive;
    # click 1's conversion (2.0) is not in [1, 2)
    assert list(zip(fnw.click.tolist(), fnw.label.tolist())) == [(2, 0.0), (3, 0.0), (3, 1.0)]
    esdfm = training_rows("esdfm", TIMES, 1.0, 2.0, streams)
    # first copies at click + 0.25: click 2 (1.45, unconverted) and click 3 (1.85, converted after 0.1 <= 0.25)
    assert list(zip(esdfm.click.tolist(), esdfm.label.tolist())) == [(2, 0.0), (3, 1.0)]
    defer = training_rows("defer", TIMES, 1.0, 2.0, streams)
    # ES-DFM's rows plus click 3's immediate-positive duplicate at 1.85 (real negatives come at click + 5)
    assert sorted(zip(defer.click.tolist(), defer.label.tolist())) == [(2, 0.0), (3, 1.0), (3, 1.0)]


def test_errors_name_the_fault() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        training_rows("fnc", TIMES, 0.0, 1.0)
    with pytest.raises(ValueError, match="empty"):
        training_rows("vanilla", TIMES, 1.0, 1.0)
    with pytest.raises(ValueError, match="needs its ingestion stream"):
        training_rows("fnw", TIMES, 0.0, 1.0)
    with pytest.raises(ValueError, match="observed_at"):
        training_rows("esdfm", TIMES, 0.0, 1.0, method_streams(TIMES, 0.0), observed_at=2.0)
    with pytest.raises(ValueError, match="observed_at"):
        training_rows("vanilla", TIMES, 0.0, 1.0, observed_at=0.5)
    with pytest.raises(ValueError, match="attribution_window"):
        ClickTimes(np.zeros(2), np.full(2, NAN), 0.0)


def test_method_lists() -> None:
    assert METHODS[:2] == ("vanilla", "oracle") and set(CORRECTIONS) == set(METHODS) - {"vanilla", "oracle"}
    assert METHODS.index("dfm") < METHODS.index("elapsed_weight")  # DFM's rates feed the elapsed weight
