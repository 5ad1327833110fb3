"""The streaming run: its windows (with and without an observation cut-off), starting biases, checks."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.delayed_feedback.features import click_features
from hermes_core.delayed_feedback.protocol import initial_bias, run_protocol, window_rows
from hermes_core.delayed_feedback.streaming import stream_windows
from hermes_core.delayed_feedback.training_rows import ClickTimes, TrainingRows, method_streams, training_rows
from tests.delayed_feedback.synthetic import small_config, synthetic_stream

STREAM = synthetic_stream(n=600)
TIMES = ClickTimes.from_stream(STREAM)


def test_without_a_cut_off_the_windows_are_es_dfms() -> None:
    windows = small_config(n_windows=None).windows(TIMES.click_time)
    assert len(windows) == 5  # (12 - 6) / 1 - 1: the last test window ends at day 12
    reference = stream_windows(TIMES.click_time, 6.0, 1.0, 5)
    for ours, theirs in zip(windows, reference):
        assert ours.observed_at == ours.train_end == theirs.train_time
        np.testing.assert_array_equal(ours.test_index, theirs.test_index)


def test_a_cut_off_delays_training_and_the_test_window() -> None:
    windows = small_config(n_windows=None, cutoff=0.5).windows(TIMES.click_time)
    assert len(windows) == 4  # (12 - 6 - 0.5) / 1 - 1, rounded down
    first = windows[0]
    assert (first.train_start, first.train_end, first.observed_at) == (6.0, 7.0, 7.5)
    test_times = TIMES.click_time[first.test_index]
    assert test_times.min() >= 7.5 and test_times.max() < 8.5
    rows = window_rows("vanilla", TIMES, first, 1.0, method_streams(TIMES, 0.0))
    clicks = TIMES.clicks_between(6.0, 7.0)
    np.testing.assert_array_equal(rows.click, clicks)
    np.testing.assert_array_equal(rows.label, (TIMES.conversion_time[clicks] <= 7.5).astype(np.float32))
    stream_rows = window_rows("fnw", TIMES, first, 1.0, method_streams(TIMES, 0.0))
    assert stream_rows.n_rows > 0  # rows ingested in [6.0, 7.5): window 0 starts at the end of pre-training
    with pytest.raises(ValueError, match="n_windows"):
        small_config(n_windows=6).windows(TIMES.click_time)


@pytest.mark.parametrize("method", ["fnw", "esdfm", "defer"])
def test_with_a_cut_off_a_stream_method_trains_on_every_ingested_row_once(method: str) -> None:
    config = small_config(waiting_window=0.25, n_windows=None, cutoff=0.5)
    windows = config.windows(TIMES.click_time)
    streams = method_streams(TIMES, config.waiting_window_days)
    parts = [training_rows(method, TIMES, 0.0, config.pretrain_days, streams)]
    parts += [window_rows(method, TIMES, window, config.window_days, streams) for window in windows]
    trained = np.sort(np.concatenate([part.click for part in parts]))
    stream = streams[method]
    ingested = np.sort(stream.click[stream.time < windows[-1].observed_at])
    assert len(trained) == len(ingested) > 0
    np.testing.assert_array_equal(trained, ingested)


def test_initial_bias() -> None:
    rows = TrainingRows(np.arange(4), np.array([1, 0, 0, 0], np.float32), np.ones(4), np.array([2.0, np.nan, np.nan, np.nan]))
    assert initial_bias("vanilla", rows) == pytest.approx((np.log(0.25 / 0.75),))
    assert initial_bias("dfm", rows) == pytest.approx((np.log(1 / 3), -np.log(2.0)))  # rate 1 / mean observed delay


def test_run_checks_and_output() -> None:
    features = click_features(STREAM, np.flatnonzero(STREAM.click_time_days < 6.0))
    with pytest.raises(ValueError, match="include 'dfm'"):
        run_protocol(TIMES, features, small_config(n_windows=2), 0, methods=("vanilla", "oracle", "elapsed_weight"),
                     progress=False)
    with pytest.raises(ValueError, match="unknown methods"):
        run_protocol(TIMES, features, small_config(n_windows=2), 0, methods=("vanilla", "fnc"), progress=False)
    run = run_protocol(TIMES, features, small_config(n_windows=2), 0, methods=("oracle", "vanilla"), progress=False)
    assert list(run.summary["method"]) == ["vanilla", "oracle"]  # METHODS order
    windows = small_config(n_windows=2).windows(TIMES.click_time)
    assert run.summary["n_clicks"].iloc[0] == sum(len(w.test_index) for w in windows)
    assert set(run.windows.columns) >= {"method", "seed", "window", "observed_at", "n", "auc", "pr_auc", "nll"}
