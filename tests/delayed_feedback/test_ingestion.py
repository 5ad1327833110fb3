"""Shared pieces of the streams: counted conversion times, validation, windows of rows."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.delayed_feedback.esdfm import esdfm_stream
from hermes_core.delayed_feedback.ingestion import check_times, counted_conversion_time, rows_between
from hermes_core.world.conversions import ConversionStream

NAN = float("nan")


def three_click_stream() -> ConversionStream:
    """Clicks at days 0, 1, 2: the first converts after 2 days, the second after 20 (beyond a
    7-day window, never counted), the third never."""
    n = 3
    zeros = np.zeros(n, dtype=np.int64)
    return ConversionStream(
        user=zeros, user_age=zeros + 30, user_region=zeros, item=zeros, domain=np.zeros(n, np.int8),
        price=np.ones(n), relevance=np.zeros(n, np.int8), hour=np.zeros(n, np.int8),
        device=np.zeros(n, np.int8), click_time_days=np.array([0.0, 1.0, 2.0]),
        conversion_probability=np.full(n, 0.5), converted=np.array([True, True, False]),
        delay_days=np.array([2.0, 20.0, NAN]), base_logit=0.0, attribution_window_days=7.0, cutoff_days=30.0,
    )


def test_counted_conversion_time_drops_late_and_missing_conversions() -> None:
    conversion = counted_conversion_time(three_click_stream())
    assert conversion[0] == 2.0
    assert np.isnan(conversion[1:]).all()


def test_check_times_refuses_inconsistent_inputs() -> None:
    with pytest.raises(ValueError, match="precedes"):
        check_times(np.array([1.0]), np.array([0.5]))
    with pytest.raises(ValueError, match="entries"):
        check_times(np.array([1.0, 2.0]), np.array([NAN]))
    with pytest.raises(ValueError, match="inf"):
        check_times(np.array([1.0]), np.array([np.inf]))


def test_rows_between_is_half_open() -> None:
    rows = esdfm_stream(np.array([0.0, 1.0, 2.0]), np.array([5.0, NAN, NAN]), 1.0)
    # ingestion times 1, 2, 3 (first copies) and 5 (delayed positive of click 0)
    window = rows_between(rows, 2.0, 5.0)
    assert window.click.tolist() == [1, 2]
    assert rows_between(rows, 5.0, 6.0).label.tolist() == [1]
