"""The assumption checks: W(0) is the prior, DEFER's two rows per click, FNW's 1 + y."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.delayed_feedback.assumptions import elapsed_weight_check, elapsed_weight_curves, stream_composition
from hermes_core.delayed_feedback.training_rows import ClickTimes
from tests.delayed_feedback.synthetic import synthetic_stream


def test_w_at_zero_is_the_prior() -> None:
    p = np.array([0.05, 0.5, 0.95])
    check = elapsed_weight_check(p, np.ones(3))
    assert check["max_abs_w0_minus_prior"] == 0.0
    assert check["w_0h_min"] == pytest.approx(0.05) and check["w_0h_max"] == pytest.approx(0.95)
    assert check["share_w0_below_threshold"] == pytest.approx(1 / 3)  # only p = 0.95 has 1 - p < 0.1
    # W rises with the elapsed time towards 1
    assert check["w_0h_median"] < check["w_1d_median"] < check["w_7d_median"] < 1.0
    curves = elapsed_weight_curves((0.1,), {"news": 1.5}, np.array([0.0, 30.0]))
    assert curves["weight"].tolist() == pytest.approx([0.9, 0.9 / (1 - 0.1 * (1 - np.exp(-20)))])


def test_stream_composition() -> None:
    stream = synthetic_stream(n=800)
    times = ClickTimes.from_stream(stream)
    table = stream_composition(times, 0.25, stream.conversion_probability, until=12.0)
    settled = times.click_time <= 12.0 - 5.0
    assert table.loc["defer", "rows_per_click_min"] == table.loc["defer", "rows_per_click_max"] == 2
    # FNW: one row per click plus one per counted conversion
    assert table.loc["fnw", "rows_per_click_mean"] == pytest.approx(1 + times.true_label[settled].mean())
    assert table.loc["fnw", "clicks"] == int(settled.sum())
    assert table.loc["defer", "q_over_p_min"] == table.loc["defer", "q_over_p_max"] == 1.0
    assert table.loc["fnw", "q_over_p_min"] < 1.0 < table.loc["fnw", "q_over_p_max"]
